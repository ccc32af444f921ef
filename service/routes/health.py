"""Liveness, readiness and index statistics."""

from __future__ import annotations

from fastapi import APIRouter

from service.deps import StateDep
from service.schemas import HealthOut, ReadyOut, StatsOut

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="getHealth")
async def healthz() -> HealthOut:
    """The process is up."""
    return HealthOut(status="ok")


@router.get("/readyz", operation_id="getReadiness")
async def readyz(state: StateDep) -> ReadyOut:
    """The model, store and vector index are loaded and serving."""
    stats = await state.run(state.engine.stats)
    return ReadyOut(status="ready", documents=stats.documents, vectors=stats.vectors)


@router.get("/v1/stats", operation_id="getStats")
async def stats(state: StateDep) -> StatsOut:
    """Counts of documents, chunks and vectors; the model and index type."""
    return StatsOut.model_validate(await state.run(state.engine.stats), from_attributes=True)
