"""/v1/stats and /v1/collections/{name}/stats: a collection's counts and how it is stored."""

from __future__ import annotations

from service.deps import StateDep
from service.keys import Scope
from service.routes.places import CollectionName, PlacedRouter, errors
from service.schemas import IndexStats

router = PlacedRouter(tags=["health"])


@router.get(
    "/stats",
    operation_id="getStats",
    needs=Scope.READ,
    summary="Index statistics",
    responses=errors(401, 429, 503),
)
async def stats(state: StateDep, collection: CollectionName) -> IndexStats:
    """Counts of the collection's documents, chunks and vectors; the model, its dimension
    and the index type."""
    found = await state.run(state.engine.stats, collection)
    return IndexStats.model_validate(found, from_attributes=True)
