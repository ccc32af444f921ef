"""/v1/stats and /v1/collections/{name}/stats: a collection's counts and how it is stored."""

# No `from __future__ import annotations`: see service/routes/documents.py.

from typing import Annotated

from fastapi import APIRouter, Depends

from service.deps import StateDep
from service.errors import problem_responses
from service.keys import Scope
from service.routes.places import Place
from service.schemas import IndexStats


def router(place: Place) -> APIRouter:
    """The statistics operation in ``place``."""
    routes = APIRouter(prefix=place.prefix, tags=["health"])
    Readable = Annotated[str, Depends(place.access(Scope.READ))]

    @routes.get(
        "/stats",
        operation_id=place.operation_id("getStats"),
        summary="Index statistics",
        responses=problem_responses(*place.errors(401, 429, 503)),
    )
    async def stats(state: StateDep, collection: Readable) -> IndexStats:
        """Counts of the collection's documents, chunks and vectors; the model, its dimension
        and the index type."""
        found = await state.run(state.engine.stats, collection)
        return IndexStats.model_validate(found, from_attributes=True)

    return routes
