"""/v1/search and /v1/collections/{name}/search: similarity search with exact citations."""

from __future__ import annotations

from fastapi import Depends

from index import models
from index.models import OffsetEncoding, SearchMode
from index.queries import SearchQuery
from service.deps import StateDep
from service.guards import check_query_limits, require_json
from service.keys import Scope
from service.routes.places import CollectionName, PlacedRouter, errors
from service.schemas import SearchFilters, SearchHit, SearchRequest, SearchResponse


def to_filters(filters: SearchFilters | None) -> models.SearchFilters | None:
    return models.SearchFilters(**filters.model_dump()) if filters else None


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
    limits = state.settings
    check_query_limits("query", body.query, body.k, limits.max_query_chars, limits.max_k)
    query = SearchQuery(
        text=body.query,
        k=body.k,
        filters=to_filters(body.filters),
        mode=SearchMode(body.mode),
        min_score=body.min_score,
        offset_encoding=OffsetEncoding(body.offset_encoding),
        collection=collection,
    )
    hits = await state.run(state.engine.search, query)
    return SearchResponse(
        query=body.query,
        offset_encoding=body.offset_encoding,
        hits=[SearchHit.model_validate(hit, from_attributes=True) for hit in hits],
    )
