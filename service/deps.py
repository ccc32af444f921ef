"""Dependencies routes declare: the engine and settings, as typed Annotated aliases."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, ParamSpec, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request

from index.engine import SearchEngine
from index.files import ExtractedFile, FileReader
from index.jobs.runner import JobRunner
from index.jobs.store import JobStore
from index.snapshot_dir import SnapshotDirectory
from service.errors import OverloadedError
from service.keys import KeyRing
from service.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")


class WorkLine:
    """Engine work of one kind, run off the event loop: at most ``running`` at once and
    ``waiting`` more parked; beyond them a request is refused (429) at once, not parked."""

    def __init__(self, running: int, waiting: int) -> None:
        self._limiter = CapacityLimiter(running)
        self._bound = running + waiting
        self._pending = 0  # touched on the event loop only: no lock needed

    async def run(self, call: Callable[[], T]) -> T:
        if self._pending >= self._bound:
            raise OverloadedError(self._pending)
        self._pending += 1
        try:
            return await to_thread.run_sync(call, limiter=self._limiter)
        finally:
            self._pending -= 1


@dataclass
class AppState:
    """What the lifespan opens once and every request shares."""

    settings: Settings
    engine: SearchEngine
    api_keys: KeyRing  # empty: no authentication
    jobs: JobStore
    job_runner: JobRunner
    files: FileReader  # reads uploaded files in bounded worker processes
    snapshots: SnapshotDirectory
    # Snapshots are written one at a time, in the background: a burst of requests queues
    # rather than reading the whole store several times over at once.
    snapshot_writer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="snapshot")
    )
    # Reads take up to max_concurrency threads; writes two (the engine embeds a batch before
    # it takes its one-writer lock, so one batch is embedded while another is written);
    # readiness and metrics one of their own, so a busy server still answers its health checks.
    reads: WorkLine = field(init=False)
    writes: WorkLine = field(init=False)
    job_calls: WorkLine = field(init=False)
    file_reads: WorkLine = field(init=False)
    probes: CapacityLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.reads = WorkLine(self.settings.max_concurrency, self.settings.max_queued)
        self.writes = WorkLine(2, self.settings.max_queued)
        # Ingest job calls touch the job store only, never the engine: a line of their own,
        # so taking in a large job waits neither for searches nor for writers.
        self.job_calls = WorkLine(2, self.settings.max_queued)
        # Reading a file runs in a worker process; its thread here only waits for it.
        self.file_reads = WorkLine(self.settings.file_workers, self.settings.max_queued)
        self.probes = CapacityLimiter(1)

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A read (search, support, get, list, stats), in the line of reads."""
        return await self.reads.run(lambda: function(*args, **kwargs))

    async def run_write(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A write (upsert, delete), in the line of writes."""
        return await self.writes.run(lambda: function(*args, **kwargs))

    async def run_job_call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A call on the ingest job store, in its own line."""
        return await self.job_calls.run(lambda: function(*args, **kwargs))

    async def read_file(
        self, data: bytes, filename: str | None, content_type: str | None
    ) -> ExtractedFile:
        """A file's text and metadata, read in a worker process, in the line of file reads."""
        return await self.file_reads.run(lambda: self.files.read(data, filename, content_type))

    async def run_probe(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Readiness and metrics: never refused, never behind requests."""
        return await to_thread.run_sync(lambda: function(*args, **kwargs), limiter=self.probes)


# Dependencies that never block are `async def`: FastAPI runs a plain `def` one on a worker
# thread, a hand-off per dependency per request.
async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.semsearch
    return state


StateDep = Annotated[AppState, Depends(get_state)]
