"""/v1/search and /v1/collections/{name}/search: similarity search with exact citations, one
query or a batch."""

from __future__ import annotations

from fastapi import Depends

from service import answers
from service.deps import StateDep
from service.errors import ContentTooLargeError
from service.guards import require_json
from service.keys import Scope
from service.routes.places import CollectionName, PlacedRouter, errors
from service.schemas import (
    SearchBatchItem,
    SearchBatchRequest,
    SearchBatchResponse,
    SearchBatchResult,
    SearchRequest,
    SearchResponse,
)
from service.settings import Settings

router = PlacedRouter(tags=["search"])


@router.post(
    "/search",
    operation_id="searchPassages",
    needs=Scope.READ,
    summary="Search passages",
    responses=errors(400, 401, 413, 415, 422, 429, 503),
    dependencies=[Depends(require_json)],
)
async def search_passages(
    body: SearchRequest, state: StateDep, collection: CollectionName
) -> SearchResponse:
    """Find the passages most relevant to a query, each with a citation into its document.

    Filters apply before ranking, so `k` hits come back whenever `k` chunks match them.
    `document.text[char_start:char_end]` of a hit's citation is exactly the hit's text.
    """
    query = answers.search_query(body, collection, state.settings)
    return answers.search_response(body, await state.run(state.engine.search, query))


@router.post(
    "/search/batch",
    operation_id="searchPassagesBatch",
    needs=Scope.READ,
    summary="Search passages for many queries",
    responses=errors(400, 401, 413, 415, 422, 429, 503),
    dependencies=[Depends(require_json)],
)
async def search_passages_batch(
    body: SearchBatchRequest, state: StateDep, collection: CollectionName
) -> SearchBatchResponse:
    """Answer many searches in one request, in their order: each result holds what
    `POST /v1/search` answers for its request, or the problem it would answer instead (a
    request the engine refuses does not fail the others). A body that does not match the
    schema is refused whole, naming `requests[i].field`.
    """
    check_batch_size(len(body.requests), state.settings)
    answers.check_batch_texts([item.query for item in body.requests], "query")

    def answer(item: SearchBatchItem) -> SearchResponse:
        return answers.search_answer(state.engine, item, collection, state.settings)

    pairs = await state.run(answers.answered_each, body.requests, answer)
    return SearchBatchResponse(
        results=[
            SearchBatchResult(id=item.id, response=response, error=problem)
            for item, (response, problem) in zip(body.requests, pairs, strict=True)
        ]
    )


def check_batch_size(count: int, settings: Settings) -> None:
    """413 for a batch over SEMSEARCH_MAX_BATCH_QUERIES, naming `requests`."""
    if count > settings.max_batch_queries:
        raise ContentTooLargeError(
            "requests",
            f"has {count} requests; the limit is {settings.max_batch_queries} "
            "(SEMSEARCH_MAX_BATCH_QUERIES)",
        )
