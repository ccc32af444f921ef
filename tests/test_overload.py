"""Over the concurrency limit a request gets 429 at once, never a hang (live server)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, assert_problem, running_server

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)


def test_a_write_beyond_the_waiting_line_gets_429_while_a_long_ingest_runs(
    tmp_path: Path,
) -> None:
    batch = {
        "documents": [
            {"id": f"long-{n}", "text": f"Report {n} on river levels and rainfall. " * 60}
            for n in range(120)
        ]
    }
    outcome: dict[str, int] = {}

    def ingest(server: Server, name: str) -> None:
        body = {"documents": [d | {"id": f"{name}-{d['id']}"} for d in batch["documents"]]}
        with httpx.Client(base_url=server.url, timeout=300) as http:
            outcome[name] = http.post("/v1/documents", json=body).status_code

    limits = {"SEMSEARCH_MAX_CONCURRENCY": "1", "SEMSEARCH_MAX_QUEUED": "0"}
    with running_server(tmp_path / "data", limits) as server:
        # Two writes run at once (one embeds while the other writes): two long batches fill
        # the line, and with nothing allowed to wait a third write is refused.
        writers = [threading.Thread(target=ingest, args=(server, n)) for n in ("a", "b")]
        for writer in writers:
            writer.start()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            time.sleep(1.0)  # the batches hold the writers' slots for several seconds
            started = time.monotonic()
            note = {"documents": [{"id": "note", "text": "A short note on rainfall."}]}
            busy = http.post("/v1/documents", json=note)
            assert time.monotonic() - started < 2  # refused at once, not parked
            assert_problem(busy, 429)
            assert busy.headers["retry-after"] == "1"
            # Reads have slots of their own: the writers do not hold them.
            assert http.post("/v1/search", json={"query": "rainfall"}).status_code == 200
            assert http.get("/readyz").status_code == 200
            for writer in writers:
                writer.join(300)
            assert outcome == {"a": 200, "b": 200}
            assert http.post("/v1/documents", json=note).status_code == 200
