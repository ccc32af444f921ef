"""/v1/passages/support: passages and sentences that support a claim."""

from __future__ import annotations

from fastapi import APIRouter

from index.retrieval import SearchMode
from service.deps import StateDep
from service.routes.search import ERRORS, to_filters
from service.schemas import SupportRequest, SupportResponse

router = APIRouter(prefix="/v1/passages", tags=["passages"])


@router.post("/support", operation_id="findSupportingPassages", responses=ERRORS)
async def find_supporting_passages(body: SupportRequest, state: StateDep) -> SupportResponse:
    """Find passages, and the exact sentences in them, that support a claim, with a verdict."""
    result = await state.run(
        state.engine.support,
        body.claim,
        body.k,
        to_filters(body.filters),
        SearchMode(body.mode),
        body.min_support,
    )
    return SupportResponse.model_validate(result, from_attributes=True)
