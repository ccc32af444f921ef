"""What a hostile job body costs a live server (issue 29): its memory stays where it was for a
large JSON body and an NDJSON line of any length, the job store keeps only the first errors of
a job, and jobs beyond the active cap are refused before their body is read."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server, free_port

pytestmark = pytest.mark.system  # starts a server

NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        data_dir=tmp_path_factory.mktemp("job-bounds") / "data",
        port=free_port(),
        env={
            "SEMSEARCH_SEED_DIR": "",
            "SEMSEARCH_MAX_ACTIVE_JOBS": "2",
            "SEMSEARCH_JOB_ERRORS_KEPT": "10",
        },
    )
    srv.start()
    yield srv
    srv.stop()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _peak_rss_mb(pid: int, work: Any) -> tuple[Any, float]:
    done = threading.Event()
    peak = _rss_mb(pid)

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_mb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        return work(), peak
    finally:
        done.set()
        sampler.join()


def _finished(http: httpx.Client, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job: dict[str, Any] = http.get(location).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"{location} did not finish")


def test_a_large_json_body_and_a_long_line_leave_memory_where_it_was(server: Server) -> None:
    assert server.process is not None
    pid = server.process.pid
    document = json.dumps({"title": "A title", "text": "word " * 200}).encode()
    body = b'{"documents": [' + b",".join([document] * 60_000) + b', {"text": 5}]}'  # 61 MB
    with httpx.Client(base_url=server.url, timeout=300) as http:
        http.get("/v1/ingest-jobs")  # everything a job request touches is loaded
        before = _rss_mb(pid)
        response, peak = _peak_rss_mb(
            pid,
            lambda: http.post(
                "/v1/ingest-jobs", content=body, headers={"content-type": "application/json"}
            ),
        )
        assert response.status_code == 422, response.text[:300]
        assert response.json()["errors"][0]["field"] == "documents[60000].text"
        # Parsed whole, the body took 2.9x its size at the peak (bench/hostile.py job_bodies)
        assert peak - before < 60, (before, peak)
        line = b'{"text": "' + b"a" * (40 * 1024 * 1024) + b'"}\n{"text": "A short line."}\n'
        accepted, peak = _peak_rss_mb(
            pid, lambda: http.post("/v1/ingest-jobs", content=line, headers=NDJSON)
        )
        assert accepted.status_code == 202
        job = _finished(http, accepted.headers["location"])
        assert (job["done"], job["failed"]) == (1, 1)
        assert "longer than" in job["errors"][0]["message"]
        assert peak - before < 60, (before, peak)


def test_a_job_stores_only_its_first_errors(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=300) as http:
        accepted = http.post("/v1/ingest-jobs", content=b"{}\n" * 5000, headers=NDJSON)
        assert accepted.status_code == 202
        job = _finished(http, accepted.headers["location"])
    assert (job["failed"], len(job["errors"])) == (5000, 10)
    store = server.data_dir / "jobs.sqlite3"
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as connection:
        [(rows,)] = connection.execute(
            "SELECT count(*) FROM ingest_job_errors WHERE job_id = ?", [job["id"]]
        ).fetchall()
    assert rows == 10


def test_jobs_beyond_the_active_cap_are_refused_before_their_body_is_read(server: Server) -> None:
    body = b"".join(
        b'{"id": "d%d", "text": "Document %d is about harbours, tides and rain."}\n' % (n, n)
        for n in range(400)
    )
    with httpx.Client(base_url=server.url, timeout=300) as http:
        statuses = [http.post("/v1/ingest-jobs", content=body, headers=NDJSON) for _ in range(4)]
        assert [r.status_code for r in statuses[:2]] == [202, 202]
        refused = statuses[2]
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
        assert "SEMSEARCH_MAX_ACTIVE_JOBS" in refused.json()["detail"]
        for accepted in statuses[:2]:
            _finished(http, accepted.headers["location"])
        again = http.post("/v1/ingest-jobs", content=body, headers=NDJSON)
        assert again.status_code == 202  # room once they finished
        _finished(http, again.headers["location"])
