"""/v1/passages/support and /v1/collections/{name}/passages/support: passages and sentences
that support or contradict a claim."""

from __future__ import annotations

from fastapi import Depends

from index.models import OffsetEncoding, SearchMode
from index.queries import SupportQuery
from service.deps import StateDep
from service.guards import check_query_limits, require_json
from service.keys import Scope
from service.routes.places import CollectionName, PlacedRouter, errors
from service.routes.search import to_filters
from service.schemas import SupportingPassage, SupportRequest, SupportResponse

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
    limits = state.settings
    check_query_limits("claim", body.claim, body.k, limits.max_query_chars, limits.max_k)
    query = SupportQuery(
        claim=body.claim,
        k=body.k,
        filters=to_filters(body.filters),
        mode=SearchMode(body.mode),
        min_support=body.min_support,
        offset_encoding=OffsetEncoding(body.offset_encoding),
        min_contradiction=body.min_contradiction,
        collection=collection,
    )
    result = await state.run(state.engine.support, query)
    return SupportResponse(
        claim=result.claim,
        offset_encoding=body.offset_encoding,
        verdict=result.verdict,
        support=result.support,
        contradiction=result.contradiction,
        passages=[
            SupportingPassage.model_validate(p, from_attributes=True) for p in result.passages
        ],
    )
