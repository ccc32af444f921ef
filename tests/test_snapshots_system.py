"""Snapshots of a real server over HTTP: taken while clients write and search, the archive holds
every write acknowledged before it began; a server killed with snapshots under way starts again
and lists none of them half made; a restore killed midway is reported and then completed."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from index.backends import backend_config
from index.embedding import Embedder
from index.engine import EngineConfig, SearchEngine
from index.models import DocumentInput
from index.snapshot import PAGE
from tests.conftest import ROOT, Server, free_port, run_cli

pytestmark = pytest.mark.system  # starts servers (docs/development.md)


def _ready(client: httpx.Client, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found: dict[str, Any] = client.get(location).json()
        if found["status"] != "running":
            return found
        time.sleep(0.1)
    raise AssertionError(f"{location} still running")


def test_a_snapshot_taken_while_four_clients_work_holds_every_acknowledged_write(
    tmp_path: Path, embedder: Embedder
) -> None:
    server = Server(data_dir=tmp_path / "data", port=free_port())
    server.start()
    acknowledged: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def write(writer: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            n = 0
            while not stop.is_set():
                document = {"id": f"w{writer}-{n}", "text": f"Note {n} from pipeline {writer}."}
                answer = client.post("/v1/documents", json={"documents": [document]})
                if answer.status_code == 200:
                    acknowledged.append(document["id"])
                else:
                    failures.append(f"write {answer.status_code}")
                n += 1

    def search() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            while not stop.is_set():
                answer = client.post("/v1/search", json={"query": "pipeline note", "k": 5})
                if answer.status_code != 200:
                    failures.append(f"search {answer.status_code}")

    workers = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    workers += [threading.Thread(target=search) for _ in range(2)]
    try:
        for worker in workers:
            worker.start()
        while len(acknowledged) < 10:
            time.sleep(0.05)
        with httpx.Client(base_url=server.url, timeout=60) as client:
            before = set(acknowledged)  # every write answered before the snapshot is asked
            started = client.post("/v1/snapshots")
            assert started.status_code == 202, started.text
            snapshot = _ready(client, started.headers["location"])
            assert snapshot["status"] == "ready", snapshot
            archive = client.get(f"/v1/snapshots/{snapshot['id']}/download").content
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        server.stop()
    assert failures == []
    assert hashlib.sha256(archive).hexdigest() == snapshot["sha256"]
    (tmp_path / "live.tar").write_bytes(archive)
    restored = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "restored")), embedder)
    try:
        restored.restore(tmp_path / "live.tar")
        ids = {d.id for d in restored.list_documents(limit=10_000).items}
        assert before <= ids and len(ids) == snapshot["documents"]
        assert restored.check().ok  # every document whole, with its chunks and vectors
    finally:
        restored.close()


def test_a_server_killed_with_snapshots_under_way_lists_none_half_made(tmp_path: Path) -> None:
    snapshots = tmp_path / "snapshots"
    env = {"SEMSEARCH_SNAPSHOT_DIR": str(snapshots)}
    server = Server(data_dir=tmp_path / "data", port=free_port(), env=env)
    server.start()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        # One writer: each waits for the ones before it, so the last are still to be written
        # when the server dies right after the tenth is asked for.
        taken = [client.post("/v1/snapshots").json()["id"] for _ in range(10)]
    assert server.process is not None
    server.process.kill()  # SIGKILL: no shutdown handler runs
    server.process.wait()
    restarted = Server(data_dir=tmp_path / "data", port=free_port(), env=env)
    restarted.start()
    try:
        with httpx.Client(base_url=restarted.url, timeout=60) as client:
            after = client.get("/v1/snapshots").json()["items"]
            assert {s["id"] for s in after} < set(taken)  # the last ones were cut off
            for snapshot in after:
                assert snapshot["status"] == "ready", snapshot
                archive = client.get(f"/v1/snapshots/{snapshot['id']}/download").content
                assert hashlib.sha256(archive).hexdigest() == snapshot["sha256"]
            assert client.post("/v1/search", json={"query": "Islamabad"}).status_code == 200
        assert not [p for p in snapshots.iterdir() if p.name.startswith(".")]
    finally:
        restarted.stop()


def _documents_in(store: Path) -> int:
    """Documents committed in a SQLite store another process writes (0 before it exists)."""
    if not store.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)) as db:
            return int(db.execute("SELECT count(*) FROM documents").fetchone()[0])
    except sqlite3.OperationalError:  # created, its tables not yet
        return 0


def test_a_restore_killed_midway_is_reported_and_a_second_one_completes_it(
    tmp_path: Path, embedder: Embedder
) -> None:
    """`semsearch snapshot restore` as its own process, SIGKILLed once some of its pages are
    committed: `semsearch check` says the restore is unfinished (exit 1), and a second restore,
    without --force, ends with the snapshot's documents and a clean check."""
    source = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "source")), embedder)
    total = 5 * PAGE  # five pages of restore writes
    try:
        source.upsert(
            [DocumentInput(id=f"note-{n:04d}", text=f"Field note {n}.") for n in range(total)]
        )
        source.snapshot(tmp_path / "notes.tar")
    finally:
        source.close()
    target = tmp_path / "target"
    env = {**os.environ, "SEMSEARCH_DATA_DIR": str(target), "SEMSEARCH_LOG_LEVEL": "warning"}
    restore = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "snapshot", "restore", str(tmp_path / "notes.tar")],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 300
    while not 0 < _documents_in(target / "store.sqlite3") < total:
        assert restore.poll() is None, "the restore ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    restore.kill()  # SIGKILL: midway, some pages committed
    restore.wait()
    checked = run_cli(target, "check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "unfinished restore" in checked.stdout + checked.stderr
    finished = run_cli(target, "snapshot", "restore", str(tmp_path / "notes.tar"))
    assert finished.returncode == 0, finished.stderr
    assert run_cli(target, "check").returncode == 0
    assert _documents_in(target / "store.sqlite3") == total
