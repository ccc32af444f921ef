"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from service.auth import metrics_access
from service.deps import StateDep
from service.errors import problem_responses
from service.metrics import CONTENT_TYPE
from service.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="getHealth", summary="Liveness", responses=problem_responses())
async def healthz() -> Health:
    """The process is up and answering HTTP."""
    return Health(status="ok")


@router.get(
    "/readyz",
    operation_id="getReadiness",
    summary="Readiness",
    responses=problem_responses(503),
)
async def readyz(state: StateDep) -> Readiness:
    """The model, store and vector index are loaded and serving; 503 while the store cannot
    be used (the PostgreSQL database unreachable), ready again as soon as it can."""
    stats = await state.run_probe(state.engine.stats)
    return Readiness(status="ready", documents=stats.documents, vectors=stats.vectors)


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_access)])
async def metrics(request: Request, state: StateDep) -> Response:
    """Prometheus metrics (text format); not in the spec: it is for scrapers, not clients."""
    body = await state.run_probe(request.app.state.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
