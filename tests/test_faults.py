"""A full or unwritable data directory refuses writes cleanly and the service keeps serving.

Real faults, no mocks: a size-limited tmpfs filled to the last byte (ENOSPC), and store files
made immutable with chattr (EPERM on every write, even for root). Mounting and chattr need root
and a filesystem that supports them; where either is missing the test skips and says why.
"""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    Server,
    assert_consistent,
    assert_problem,
    free_port,
    store_snapshot,
)

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

BATCH = [
    {"id": f"fault-{n}", "text": f"Harbour log {n}: the night crane moved {n * 7} containers."}
    for n in range(5)
]


@contextmanager
def _tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)


@contextmanager
def _immutable(paths: list[Path]) -> Iterator[None]:
    """chattr +i: the kernel refuses writes to these files, through already-open descriptors too."""
    made = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make files immutable here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)


def _fill(directory: Path) -> Path:
    """Write a ballast file until the device has no byte left."""
    ballast = directory / "ballast"
    with open(ballast, "wb", buffering=0) as handle:
        for block in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    handle.write(b"\0" * block)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
    return ballast


def _truncate_wal(data: Path) -> None:
    """Checkpoint the write-ahead log and cut it to zero bytes, so the next write must claim
    new space (otherwise SQLite reuses the log's old pages and a small write still fits)."""
    with sqlite3.connect(data / "store.sqlite3") as connection:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0
    assert (data / "store.sqlite3-wal").stat().st_size == 0


def _assert_still_serving(http: httpx.Client) -> None:
    assert http.get("/readyz").status_code == 200
    search = http.post("/v1/search", json={"query": "floods in Pakistan", "k": 3})
    assert search.status_code == 200 and len(search.json()["hits"]) == 3
    support = http.post("/v1/passages/support", json={"claim": "Floods killed people in Pakistan"})
    assert support.status_code == 200 and support.json()["passages"]


def _assert_writes_refused(http: httpx.Client, status: int) -> None:
    """An upsert and a delete both get `status` as problem+json and change nothing."""
    before = store_snapshot(http)
    assert_problem(http.post("/v1/documents", json={"documents": BATCH}), status)
    seed_id = before["listing"]["items"][0]["id"]
    assert_problem(http.delete(f"/v1/documents/{seed_id}"), status)
    assert store_snapshot(http) == before
    _assert_still_serving(http)


def _assert_writes_work_again(server: Server) -> None:
    """Once the fault is gone, the same write succeeds; after a restart the store is whole."""
    with httpx.Client(base_url=server.url, timeout=120) as http:
        response = http.post("/v1/documents", json={"documents": BATCH})
        assert response.status_code == 200, response.text
    server.stop()
    server.start()
    with httpx.Client(base_url=server.url, timeout=120) as http:
        stats = http.get("/v1/stats").json()
        assert stats["documents"] == 5 + len(BATCH) and stats["chunks"] == stats["vectors"]
        hit = http.post("/v1/search", json={"query": "night crane fault-3 containers", "k": 10})
        assert "fault-3" in {h["citation"]["document_id"] for h in hit.json()["hits"]}
    server.stop()
    assert_consistent(server.data_dir)


def test_a_full_disk_refuses_writes_with_507_and_keeps_serving(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "data", "32m") as data:
        server = Server(data_dir=data, port=free_port())
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                _truncate_wal(data)
                ballast = _fill(data)
                _assert_writes_refused(http, 507)
                ballast.unlink()
            _assert_writes_work_again(server)
        finally:
            server.stop()
    assert server.log_path is not None
    assert "data directory is full" in server.log_path.read_text()  # told to the operator


def test_an_unwritable_store_refuses_writes_with_503_and_keeps_serving(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = Server(data_dir=data, port=free_port())
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            _truncate_wal(data)
            with _immutable([data / "store.sqlite3", data / "store.sqlite3-wal"]):
                _assert_writes_refused(http, 503)
        _assert_writes_work_again(server)
    finally:
        server.stop()


def test_a_full_snapshot_disk_is_507_up_front_or_a_failed_snapshot_that_keeps_nothing(
    tmp_path: Path,
) -> None:
    """Room for less than the vectors: 507 before anything starts. Room for the vectors but
    not the archive: the disk fills while it is written; the snapshot fails saying so, and no
    archive, partial file or scratch file is left."""
    with _tmpfs(tmp_path / "snapshots", "256k") as snapshots:
        server = Server(
            data_dir=tmp_path / "data",
            port=free_port(),
            env={"SEMSEARCH_SNAPSHOT_DIR": str(snapshots)},
        )
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                ballast = _fill(snapshots)
                refused = http.post("/v1/snapshots")
                assert_problem(refused, 507)
                assert "bytes free" in refused.json()["detail"]
                assert http.get("/v1/snapshots").json()["items"] == []
                ballast.unlink()
                accepted = http.post("/v1/snapshots")
                assert accepted.status_code == 202, accepted.text
                deadline = time.monotonic() + 60
                while (taken := http.get(accepted.headers["location"]).json())["status"] == (
                    "running"
                ):
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
                assert taken["status"] == "failed" and "filled up" in taken["error"], taken
                assert http.get(f"/v1/snapshots/{taken['id']}/download").status_code == 404
                assert sorted(p.name for p in snapshots.iterdir()) == [f"{taken['id']}.json"]
                _assert_still_serving(http)
        finally:
            server.stop()
