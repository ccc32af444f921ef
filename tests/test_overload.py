"""Over the concurrency limit a request gets 429 at once, never a hang (live server)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.conftest import Server, assert_problem, free_port


def test_a_request_beyond_the_waiting_line_gets_429_while_a_long_ingest_runs(
    tmp_path: Path,
) -> None:
    server = Server(
        data_dir=tmp_path / "data",
        port=free_port(),
        env={"SEMSEARCH_MAX_CONCURRENCY": "1", "SEMSEARCH_MAX_QUEUED": "0"},
    )
    server.start()
    batch = {
        "documents": [
            {"id": f"long-{n}", "text": f"Report {n} on river levels and rainfall. " * 60}
            for n in range(120)
        ]
    }
    outcome: dict[str, int] = {}

    def ingest() -> None:
        with httpx.Client(base_url=server.url, timeout=300) as http:
            outcome["ingest"] = http.post("/v1/documents", json=batch).status_code

    try:
        writer = threading.Thread(target=ingest)
        writer.start()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            time.sleep(1.0)  # the batch holds the only engine slot for several seconds
            started = time.monotonic()
            busy = http.post("/v1/search", json={"query": "rainfall"})
            assert time.monotonic() - started < 2  # refused at once, not parked
            assert_problem(busy, 429)
            assert busy.headers["retry-after"] == "1"
            assert http.get("/readyz").status_code == 200  # probes wait instead
            writer.join(300)
            assert outcome["ingest"] == 200
            assert http.post("/v1/search", json={"query": "rainfall"}).status_code == 200
    finally:
        server.stop()
