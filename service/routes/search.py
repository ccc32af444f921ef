"""/v1/search and /v1/collections/{name}/search: similarity search with exact citations."""

from __future__ import annotations

from fastapi import Depends

from index import models
from index.errors import InvalidInputError
from index.models import OffsetEncoding, SearchMode
from index.queries import SearchQuery
from service.deps import StateDep
from service.guards import check_query_limits, require_json
from service.keys import Scope
from service.routes.places import CollectionName, PlacedRouter, errors
from service.schemas import (
    SearchFilters,
    SearchGroup,
    SearchHit,
    SearchRequest,
    SearchResponse,
)


def to_filters(
    filters: SearchFilters | None, exclude_duplicates: bool = False
) -> models.SearchFilters | None:
    if filters is None and not exclude_duplicates:
        return None
    fields = filters.model_dump() if filters else {}
    return models.SearchFilters(**fields, exclude_duplicates=exclude_duplicates)


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
    if body.group_size is not None and body.group_by is None:
        raise InvalidInputError("group_size", "is only allowed with group_by")
    query = SearchQuery(
        text=body.query,
        k=body.k,
        filters=to_filters(body.filters, body.exclude_duplicates),
        mode=SearchMode(body.mode),
        min_score=body.min_score,
        offset_encoding=OffsetEncoding(body.offset_encoding),
        collection=collection,
        highlights=body.highlights,
        group_by=body.group_by,
        group_size=body.group_size or 1,
        diversity=body.diversity,
    )
    found = await state.run(state.engine.search, query)
    hits = [SearchHit.model_validate(hit, from_attributes=True) for hit in found]
    return SearchResponse(
        query=body.query,
        offset_encoding=body.offset_encoding,
        hits=hits,
        groups=_groups(hits) if body.group_by else None,
    )


def _groups(hits: list[SearchHit]) -> list[SearchGroup]:
    """A grouped search's hits, which come document by document, as groups."""
    groups: list[SearchGroup] = []
    for hit in hits:
        if not groups or groups[-1].document_id != hit.citation.document_id:
            groups.append(
                SearchGroup(document_id=hit.citation.document_id, score=hit.score, hits=[])
            )
        groups[-1].hits.append(hit)
    return groups
