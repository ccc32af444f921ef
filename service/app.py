"""The FastAPI application: create_app(settings) opens the engine once in its lifespan."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from index.engine import SearchEngine
from index.jobs.runner import JobRunner
from index.jobs.store import JobStore
from index.sources import expand_paths, read_documents
from service.auth import KeyGuard
from service.deps import AppState
from service.docs import install_offline_docs
from service.errors import install_error_handlers
from service.guards import UPLOAD_FORM_BYTES, BodySizeLimit, HeadAsGet
from service.job_intake import parse_record
from service.keys import KeyRing
from service.logs import RequestLog
from service.metrics import Metrics
from service.routes import collections, documents, files, health, jobs, passages, search, stats
from service.routes import snapshots as snapshots_routes
from service.routes.places import PLACES
from service.settings import Settings
from service.spec import build_openapi
from service.ui import install_ui

log = logging.getLogger(__name__)

DESCRIPTION = """Semantic search over cleaned documents where every hit carries a citation you can
check: `document.text[char_start:char_end]` is exactly the returned text. Given a claim, it finds
the passages that support it and the exact sentences inside them, with a verdict.

Documents live in collections: the unscoped paths (`/v1/search`, `/v1/documents`, ...) act on
the collection `default`, and `/v1/collections/{name}/...` on the one named, with its own ids;
nothing of one collection is ever returned from another.

Errors are RFC 9457 problem details (`application/problem+json`) whose `errors` name each
failing field. Request bodies must be `application/json` (file uploads: `multipart/form-data`);
unknown fields are rejected."""

TAGS = [
    {"name": "search", "description": "Similarity search with citations."},
    {"name": "passages", "description": "Passages and sentences that support a claim."},
    {"name": "documents", "description": "Insert, replace, read and delete documents."},
    {
        "name": "files",
        "description": "HTML, PDF, Word and Markdown files read into documents, with page-aware "
        "citations for PDF.",
    },
    {
        "name": "ingest jobs",
        "description": "Large loads, queued and ingested in the background with progress.",
    },
    {"name": "health", "description": "Liveness, readiness and index statistics."},
    {
        "name": "collections",
        "description": "Named, isolated sets of documents: create, list, read and delete them.",
    },
    {
        "name": "snapshots",
        "description": "Consistent backups of a live service, restorable into either backend.",
    },
]


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


def start_ingest_jobs(settings: Settings, engine: SearchEngine) -> tuple[JobStore, JobRunner]:
    """The job store beside the documents, and this server's worker, started: it resumes any
    job left running, then takes queued ones."""
    jobs = engine.open_jobs(settings.job_limits())
    preparation = None
    if settings.ray_address:
        from index.distributed import RayPreparation

        preparation = RayPreparation(settings.ray_address, engine.config)
    runner = JobRunner(
        engine,
        jobs,
        parse_record,
        settings.max_document_chars,
        preparation=preparation,
        lease_seconds=settings.job_lease_seconds,
    )
    runner.start()
    return jobs, runner


def _engine_of(app: FastAPI) -> SearchEngine | None:
    state: AppState | None = getattr(app.state, "semsearch", None)
    return state.engine if state is not None else None


def _jobs_of(app: FastAPI) -> tuple[JobStore, JobRunner] | None:
    state: AppState | None = getattr(app.state, "semsearch", None)
    return (state.jobs, state.job_runner) if state is not None else None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the engine opens at startup and closes (saving its index) at shutdown."""
    settings = settings or Settings()
    keys = KeyRing(settings.keys())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not keys and not _is_loopback(settings.host):
            log.warning(
                "SERVING %s WITHOUT API KEYS: anyone who can reach it can read, change and "
                "delete documents. Set SEMSEARCH_API_KEYS (docs/api.md, Authentication).",
                settings.host,
            )
        engine = await to_thread.run_sync(open_engine, settings)
        try:
            job_store, runner = await to_thread.run_sync(start_ingest_jobs, settings, engine)
        except BaseException:
            await to_thread.run_sync(engine.close)
            raise
        file_reader = settings.file_reader()
        snapshots = settings.snapshots()
        await to_thread.run_sync(snapshots.recover)  # what a crash left is never listed
        app.state.semsearch = state = AppState(
            settings=settings,
            engine=engine,
            api_keys=keys,
            jobs=job_store,
            job_runner=runner,
            files=file_reader,
            snapshots=snapshots,
        )
        try:
            yield
        finally:
            await to_thread.run_sync(file_reader.close)
            # a snapshot being written fails (recorded so) when the engine closes under it
            state.snapshot_writer.shutdown(wait=False, cancel_futures=True)
            await to_thread.run_sync(runner.stop)
            job_store.close()
            await to_thread.run_sync(engine.close)

    app = FastAPI(
        title="semsearch",
        version="0.1.0",
        summary="Semantic search with exact, verifiable citations.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        servers=[
            {
                "url": "http://127.0.0.1:8000",
                "description": "`make run` or `semsearch serve` with default settings",
            }
        ],
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # A redirect to the slash-less path would be built from the Host header, which the
        # client chooses: /v1/documents/ is a 404 instead.
        redirect_slashes=False,
    )
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    # Middleware added later runs earlier: the key is checked before the body is read, HEAD
    # becomes GET before either.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        streamed=jobs.STREAMED_PATHS,
        uploads=files.UPLOAD_PATHS,
        upload_max_bytes=settings.max_file_bytes + UPLOAD_FORM_BYTES,
    )
    app.add_middleware(KeyGuard, keys=keys, metrics_need_key=settings.metrics_need_key)
    app.add_middleware(HeadAsGet)
    if settings.allowed_origins():
        # Outside the guards: a preflight is answered before anything else looks at it.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins(),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    metrics = Metrics(lambda: _engine_of(app), lambda: _jobs_of(app))
    app.state.metrics = metrics
    app.add_middleware(RequestLog, metrics=metrics)  # added last: outermost, sees every answer
    install_error_handlers(app)
    install_offline_docs(app)
    if settings.ui:
        install_ui(app)
    app.include_router(collections.router)
    for place in PLACES:  # the unscoped paths (the default collection), then the named
        for module in (documents, files, search, passages, jobs, stats):
            app.include_router(module.router.at(place))
    app.include_router(snapshots_routes.router)
    app.include_router(health.router)
    return app
