"""/v1/passages/support and /v1/collections/{name}/passages/support: passages and sentences
that support or contradict a claim, for one claim or a batch."""

from __future__ import annotations

from fastapi import Depends

from service import answers
from service.deps import StateDep
from service.guards import require_json
from service.keys import Scope
from service.routes.places import CollectionName, PlacedRouter, errors
from service.routes.search import check_batch_size
from service.schemas import (
    SupportBatchItem,
    SupportBatchRequest,
    SupportBatchResponse,
    SupportBatchResult,
    SupportRequest,
    SupportResponse,
)

router = PlacedRouter(prefix="/passages", tags=["passages"])


@router.post(
    "/support",
    operation_id="findSupportingPassages",
    needs=Scope.READ,
    summary="Find supporting passages for a claim",
    responses=errors(400, 401, 413, 415, 422, 429, 503),
    dependencies=[Depends(require_json)],
)
async def find_supporting_passages(
    body: SupportRequest, state: StateDep, collection: CollectionName
) -> SupportResponse:
    """Find passages, and the exact sentences in them, that bear on a claim, with a verdict.

    Each evidence item (a sentence, or a run of adjacent ones read as one premise) carries
    offsets into its document's text and its own stance toward the claim (`supports`,
    `contradicts`, `neutral`) with a calibrated probability. The verdict is `supported`
    when the best support reaches `min_support` and no contradiction clearly beats it,
    else `contradicted` when the best contradiction reaches `min_contradiction`, else
    `insufficient_evidence`; a contradicted claim lists its contradicting passages and
    sentences first.
    """
    query = answers.support_query(body, collection, state.settings)
    return answers.support_response(body, await state.run(state.engine.support, query))


@router.post(
    "/support/batch",
    operation_id="findSupportingPassagesBatch",
    needs=Scope.READ,
    summary="Find supporting passages for many claims",
    responses=errors(400, 401, 413, 415, 422, 429, 503),
    dependencies=[Depends(require_json)],
)
async def find_supporting_passages_batch(
    body: SupportBatchRequest, state: StateDep, collection: CollectionName
) -> SupportBatchResponse:
    """Check many claims in one request, in their order: each result holds what
    `POST /v1/passages/support` answers for its claim, or the problem it would answer instead
    (a claim the engine refuses does not fail the others). A body that does not match the
    schema is refused whole, naming `requests[i].field`.
    """
    check_batch_size(len(body.requests), state.settings)
    answers.check_batch_texts([item.claim for item in body.requests], "claim")

    def answer(item: SupportBatchItem) -> SupportResponse:
        return answers.support_answer(state.engine, item, collection, state.settings)

    pairs = await state.run(answers.answered_each, body.requests, answer)
    return SupportBatchResponse(
        results=[
            SupportBatchResult(id=item.id, response=response, error=problem)
            for item, (response, problem) in zip(body.requests, pairs, strict=True)
        ]
    )
