"""What collections cost a live server (embedded store): its open file descriptors and threads
(/proc/PID/fd, /proc/PID/task) stay bounded by SEMSEARCH_MAX_OPEN_COLLECTIONS however many
collections exist. Before collections opened on use, each one held 3 descriptors and a thread
from start to shutdown (6,656 of them exhausted the descriptors); bench/idle_collections.py
measures the figures."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import running_server

pytestmark = pytest.mark.system  # starts a server (docs/development.md)

COLLECTIONS = 200
USED = 20  # written and searched, far more than stay open
MAX_OPEN = 4


def _held(pid: int) -> tuple[int, int]:
    return len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task"))


def test_descriptors_and_threads_stay_bounded_by_the_open_collections(tmp_path: Path) -> None:
    env = {
        "SEMSEARCH_SEED_DIR": "",
        "SEMSEARCH_MAX_OPEN_COLLECTIONS": str(MAX_OPEN),
        "SEMSEARCH_COLLECTION_IDLE_SECONDS": "1",
    }
    with (
        running_server(tmp_path / "data", env) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        assert server.process is not None
        pid = server.process.pid
        fds, threads = _held(pid)
        for n in range(COLLECTIONS):
            http.post("/v1/collections", json={"name": f"c{n:03d}"}).raise_for_status()
        idle_fds, idle_threads = _held(pid)
        # Nothing per idle collection (before: 3 descriptors and a thread each).
        assert idle_fds - fds <= 5 and idle_threads - threads <= 5, (idle_fds, idle_threads)

        document = {"id": "a", "text": "The harbour flooded after three days of rain."}
        for n in range(USED):
            place = f"/v1/collections/c{n:03d}"
            http.post(f"{place}/documents", json={"documents": [document]}).raise_for_status()
            hits = http.post(f"{place}/search", json={"query": "harbour"}).json()["hits"]
            assert [h["citation"]["document_id"] for h in hits] == ["a"]
        used_fds, used_threads = _held(pid)
        # Written collections hold a tantivy writer (about six threads) and 4 descriptors:
        # MAX_OPEN of them at most, not USED, beside the request threads' pool.
        assert used_fds - fds <= 6 * MAX_OPEN, (fds, used_fds)
        assert used_threads - threads <= 10 * MAX_OPEN + 40, (threads, used_threads)

        listed = http.get("/v1/collections", params={"limit": 500}).json()
        assert listed["total"] == COLLECTIONS + 1 and len(listed["items"]) == COLLECTIONS + 1
        assert [c["documents"] for c in listed["items"][:USED]] == [1] * USED
        assert _held(pid)[0] <= used_fds  # listing opened none

        deadline = time.monotonic() + 30
        while _held(pid)[0] > fds + 2:  # idle ones close (default stays open)
            assert time.monotonic() < deadline, _held(pid)
            time.sleep(0.2)
        hits = http.post("/v1/collections/c000/search", json={"query": "harbour"}).json()
        assert hits["hits"], hits  # reopened on use
