"""The FastAPI application: create_app(settings) opens the engine once in its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import CapacityLimiter, to_thread
from fastapi import FastAPI

from index.engine import SearchEngine
from index.sources import expand_paths, read_documents
from service.deps import AppState
from service.errors import install_error_handlers
from service.routes import documents, health, passages, search
from service.settings import Settings

log = logging.getLogger(__name__)


def open_engine(settings: Settings) -> SearchEngine:
    """Open the engine and, on first start of an empty store, index the seed corpus."""
    engine = SearchEngine(settings.engine_config())
    if settings.seed_dir is not None:
        if not settings.seed_dir.is_dir():
            log.warning("seed directory %s does not exist; not seeding", settings.seed_dir)
        else:
            paths = expand_paths([settings.seed_dir])
            seeded = engine.seed([d for path in paths for d in read_documents(path)])
            if seeded is not None:
                log.info("indexed %d seed documents from %s", len(seeded), settings.seed_dir)
    return engine


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the engine opens at startup and closes (saving its index) at shutdown."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = await to_thread.run_sync(open_engine, settings)
        app.state.semsearch = AppState(
            settings=settings, engine=engine, limiter=CapacityLimiter(settings.max_concurrency)
        )
        try:
            yield
        finally:
            await to_thread.run_sync(engine.close)

    app = FastAPI(
        title="semsearch",
        version="0.1.0",
        summary="Semantic search with exact, verifiable citations.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(documents.router)
    app.include_router(search.router)
    app.include_router(passages.router)
    app.include_router(health.router)
    return app
