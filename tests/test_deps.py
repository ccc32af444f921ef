"""AppState's lines of engine work: reads and writes wait in separate lines, each refused (429)
beyond its running and waiting bound, and probes are never refused."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from index.backends import backend_config
from index.engine import SearchEngine
from index.jobs.runner import JobRunner
from index.snapshot_dir import SnapshotDirectory
from service.deps import AppState
from service.errors import OverloadedError
from service.job_intake import parse_record
from service.keys import KeyRing
from service.settings import Settings


@pytest.mark.anyio
async def test_reads_and_writes_wait_in_separate_lines(
    make_engine: Callable[..., SearchEngine], tmp_path: Path
) -> None:
    engine = make_engine()
    jobs = backend_config(tmp_path).open_jobs()
    settings = Settings(max_concurrency=1, max_queued=1)
    state = AppState(
        settings=settings,
        engine=engine,
        api_keys=KeyRing({}),
        jobs=jobs,
        job_runner=JobRunner(engine, jobs, parse_record),  # not started: no job runs here
        files=settings.file_reader(),  # never started: no file is read here
        snapshots=SnapshotDirectory(tmp_path / "snapshots", keep=1),
    )
    release = threading.Event()
    results: list[str] = []

    def blocked(name: str) -> str:
        release.wait(30)
        return name

    async def call(run: Callable[..., object], name: str) -> None:
        results.append(str(await run(blocked, name)))

    async with anyio.create_task_group() as tasks:
        for name in ("write-1", "write-2", "write-3"):
            tasks.start_soon(call, state.run_write, name)
            await anyio.sleep(0.05)
        with pytest.raises(OverloadedError):  # two writing, one waiting: the line is full
            await state.run_write(blocked, "write-4")
        # The writers hold no read slot: a read runs at once beside them.
        assert await state.run(lambda: "read") == "read"
        assert await state.run_probe(lambda: "probe") == "probe"
        for name in ("read-1", "read-2"):
            tasks.start_soon(call, state.run, name)
            await anyio.sleep(0.05)
        with pytest.raises(OverloadedError):
            await state.run(blocked, "read-3")
        assert await state.run_probe(lambda: "probe") == "probe"  # probes are never refused
        release.set()
    assert sorted(results) == ["read-1", "read-2", "write-1", "write-2", "write-3"]
