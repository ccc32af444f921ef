"""/v1/search: similarity search with exact citations."""

from __future__ import annotations

from fastapi import APIRouter

from index.models import SearchFilters
from service.deps import StateDep
from service.schemas import Problem, SearchHitOut, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["search"])


@router.post(
    "/search",
    operation_id="searchPassages",
    responses={
        400: {"model": Problem, "description": "Malformed JSON"},
        422: {"model": Problem, "description": "Invalid field"},
    },
)
async def search_passages(body: SearchRequest, state: StateDep) -> SearchResponse:
    """Find the passages most similar to a query; filters apply before ranking."""
    filters = SearchFilters(**body.filters.model_dump()) if body.filters else None
    hits = await state.run(state.engine.search, body.query, body.k, filters)
    return SearchResponse(
        query=body.query,
        hits=[SearchHitOut.model_validate(hit, from_attributes=True) for hit in hits],
    )
