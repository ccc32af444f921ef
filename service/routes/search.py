"""/v1/search: similarity search with exact citations."""

from __future__ import annotations

from fastapi import APIRouter

from index.models import SearchFilters
from index.retrieval import SearchMode
from service.deps import StateDep
from service.schemas import Problem, SearchFiltersIn, SearchHitOut, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["search"])
ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": Problem, "description": "Malformed JSON"},
    422: {"model": Problem, "description": "Invalid field"},
}


def to_filters(filters: SearchFiltersIn | None) -> SearchFilters | None:
    return SearchFilters(**filters.model_dump()) if filters else None


@router.post("/search", operation_id="searchPassages", responses=ERRORS)
async def search_passages(body: SearchRequest, state: StateDep) -> SearchResponse:
    """Find the passages most relevant to a query; filters apply before ranking."""
    hits = await state.run(
        state.engine.search,
        body.query,
        body.k,
        to_filters(body.filters),
        SearchMode(body.mode),
        body.min_score,
    )
    return SearchResponse(
        query=body.query,
        hits=[SearchHitOut.model_validate(hit, from_attributes=True) for hit in hits],
    )
