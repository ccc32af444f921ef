"""Ingest jobs: the durable job store (leases, resume points, cancel), the worker writing
records in committed batches through the real engine, and the HTTP operations, on both
backends (the PostgreSQL runs belong to the system tier)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from index.backends import backend_config
from index.backends.embedded.database import sqlite_engine
from index.engine import SearchEngine
from index.errors import StorageUnavailableError
from index.jobs.models import (
    JobFinishedError,
    JobLimits,
    JobNotFoundError,
    JobRecord,
    JobStatus,
    RecordError,
    TooManyJobsError,
    TooManyRecordsError,
)
from index.jobs.runner import JobRunner
from index.jobs.store import JobStore, errors, metadata
from index.models import DocumentInput
from service.app import create_app
from service.job_intake import parse_record
from service.settings import Settings
from tests.conftest import assert_problem

NDJSON = {"content-type": "application/x-ndjson"}
JSON = {"content-type": "application/json"}


def _records(count: int, start: int = 0) -> list[JobRecord]:
    return [
        JobRecord(n, n + 1, None, json.dumps({"id": f"doc-{n}", "text": f"Document {n}."}))
        for n in range(start, start + count)
    ]


@pytest.fixture
def job_store(tmp_path: Path, database_url: str | None) -> Iterator[JobStore]:
    store = backend_config(database_url or tmp_path).open_jobs()
    yield store
    store.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


# -- the store ---------------------------------------------------------------------------------


def test_a_job_is_stored_with_its_records_and_claimed_once(job_store: JobStore) -> None:
    job = job_store.create(_records(3), max_records=10)
    assert (job.status, job.total, job.done, job.failed) == (JobStatus.QUEUED, 3, 0, 0)
    claimed = job_store.claim("worker-a", lease_seconds=60)
    assert claimed is not None and claimed.id == job.id and claimed.status is JobStatus.RUNNING
    assert claimed.started_at is not None
    assert job_store.claim("worker-b", lease_seconds=60) is None  # held under a live lease
    assert [r.position for r in job_store.records(job.id, 1, 10)] == [1, 2]


def test_too_many_records_keep_nothing(job_store: JobStore) -> None:
    with pytest.raises(TooManyRecordsError):
        job_store.create(_records(2_500), max_records=2_000)  # past a first INSERT of 1,000
    assert job_store.page(0, 10, None) == ([], 0)


def test_progress_resumes_where_the_last_batch_ended_and_errors_keep_their_lines(
    job_store: JobStore,
) -> None:
    job = job_store.create(_records(5), max_records=10)
    assert job_store.claim("a", 60) is not None
    refused = [RecordError(1, 2, None, "doc-1", "text", "must contain text")]
    assert job_store.advance(job.id, "a", 2, 1, refused, 60) is JobStatus.RUNNING
    assert job_store.advance(job.id, "a", 2, 1, [], 60) is None  # the same batch twice: no
    assert job_store.release() == 1  # a restart of the only process: claimable at once
    again = job_store.claim("b", 60)
    assert again is not None and again.next_position == 2
    assert (again.done, again.failed) == (1, 1)
    assert [(e.line, e.document_id, e.field) for e in again.errors] == [(2, "doc-1", "text")]
    job_store.finish(job.id, "b", JobStatus.SUCCEEDED)
    finished = job_store.get(job.id)
    assert finished is not None and finished.status is JobStatus.SUCCEEDED
    assert finished.finished_at is not None and job_store.records(job.id, 0, 10) == []


def test_a_lease_that_runs_out_passes_the_job_to_another_worker(tmp_path: Path) -> None:
    clock = Clock()
    store = backend_config(tmp_path).open_jobs(clock=clock)
    job = store.create(_records(4), max_records=10)
    assert store.claim("a", lease_seconds=30) is not None
    clock.now += 20
    assert store.renew(job.id, "a", 30)  # a slow batch: the heartbeat extends the lease
    clock.now += 25
    assert store.claim("b", 30) is None
    clock.now += 10  # worker a stopped renewing (killed, cut off)
    taken = store.claim("b", 30)
    assert taken is not None and taken.id == job.id
    assert store.advance(job.id, "a", 2, 2, [], 30) is None  # a's late batch is not counted
    assert store.advance(job.id, "b", 2, 2, [], 30) is JobStatus.RUNNING
    store.close()


def test_cancel_stops_a_job_and_a_finished_one_cannot_be_cancelled(job_store: JobStore) -> None:
    job = job_store.create(_records(3), max_records=10)
    cancelled = job_store.cancel(job.id)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.finished_at is not None
    assert job_store.records(job.id, 0, 10) == [] and job_store.claim("a", 60) is None
    with pytest.raises(JobFinishedError):
        job_store.cancel(job.id)
    with pytest.raises(JobNotFoundError):
        job_store.cancel("0" * 32)
    assert job_store.counts()[JobStatus.CANCELLED] == 1


def _stored_errors(store: JobStore) -> int:
    """Error rows in the store's own table, every job's (not just the ones a view shows)."""
    with store._engine.connect() as connection:  # the store's table, read as an operator would
        return int(connection.execute(select(func.count()).select_from(errors)).scalar_one())


def test_a_job_keeps_its_first_errors_and_counts_them_all(
    tmp_path: Path, database_url: str | None
) -> None:
    store = backend_config(database_url or tmp_path).open_jobs(limits=JobLimits(errors_kept=5))
    job = store.create(_records(40), max_records=100)
    assert store.claim("a", 60) is not None
    for start in (0, 20):  # two batches of 20 refused records
        refused = [
            RecordError(n, n + 1, None, None, "", "must be a document")
            for n in range(start, start + 20)
        ]
        store.advance(job.id, "a", start + 20, 0, refused, 60)
    kept = store.get(job.id)
    assert kept is not None and kept.failed == 40
    assert [e.line for e in kept.errors] == [1, 2, 3, 4, 5]
    assert _stored_errors(store) == 5  # not 40: the rest were never written
    store.close()


def test_active_jobs_are_capped(tmp_path: Path, database_url: str | None) -> None:
    store = backend_config(database_url or tmp_path).open_jobs(limits=JobLimits(max_active=2))
    first = store.create(_records(1), max_records=10)
    store.create(_records(1), max_records=10)
    with pytest.raises(TooManyJobsError):
        store.create(_records(1), max_records=10)
    assert store.page(0, 10, None)[1] == 2  # the refused one left nothing
    store.cancel(first.id)
    store.create(_records(1), max_records=10)  # room again once one has finished
    store.close()


def test_finished_jobs_are_removed_past_their_retention_and_count(
    tmp_path: Path, database_url: str | None
) -> None:
    clock = Clock()
    limits = JobLimits(errors_kept=10, finished_kept=3, retention_seconds=3600)
    store = backend_config(database_url or tmp_path).open_jobs(limits=limits, clock=clock)
    finished = []
    for _ in range(5):
        job = store.create(_records(2), max_records=10)
        assert store.claim("a", 60) is not None
        refused = [RecordError(0, 1, None, None, "", "must be a document")]
        store.advance(job.id, "a", 2, 1, refused, 60)
        store.finish(job.id, "a", JobStatus.SUCCEEDED)
        finished.append(job.id)
        clock.now += 60
    waiting = store.create(_records(2), max_records=10)  # queued: never removed
    assert store.prune() == 2  # the oldest two beyond the newest three
    assert [j.id for j in store.page(0, 10, None)[0]] == [waiting.id, *reversed(finished[2:])]
    assert _stored_errors(store) == 3
    clock.now += 3600
    assert store.prune() == 3  # past the retention
    assert [j.id for j in store.page(0, 10, None)[0]] == [waiting.id]
    assert _stored_errors(store) == 0
    store.close()


# -- the worker, through the real engine ---------------------------------------------------------


def _wait(store: JobStore, job_id: str, until: Callable[[Any], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.get(job_id)
        if job is not None and until(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not get there: {store.get(job_id)}")


def test_a_job_stopped_mid_way_resumes_from_its_last_batch_and_ingests_each_record_once(
    make_engine: Callable[..., SearchEngine], job_store: JobStore
) -> None:
    engine = make_engine()
    job = job_store.create(_records(12), max_records=100)
    reached, release = threading.Event(), threading.Event()

    def parse_holding_record_10(body: str) -> DocumentInput:
        if json.loads(body)["id"] == "doc-10":
            reached.set()
            release.wait(30)
        return parse_record(body)

    first = JobRunner(engine, job_store, parse_holding_record_10, batch_size=4, poll_seconds=0.05)
    first.start()
    # Records are read and embedded a batch ahead of the one written: the first batch (0-3)
    # is committed, the second (4-7) embedded, the third being read.
    assert reached.wait(30)
    stopping = threading.Thread(target=first.stop)
    stopping.start()
    time.sleep(0.2)
    release.set()
    stopping.join()  # the batch in hand is finished, then the worker stops
    stopped = job_store.get(job.id)
    assert stopped is not None and stopped.status is JobStatus.RUNNING
    assert (stopped.next_position, stopped.done) == (8, 8)
    texts_before = engine.embedder.totals()[0]
    second = JobRunner(engine, job_store, parse_record, batch_size=4, poll_seconds=0.05)
    second.start()
    done = _wait(job_store, job.id, lambda j: j.status.finished)
    second.stop()
    assert (done.status, done.done, done.failed) == (JobStatus.SUCCEEDED, 12, 0)
    page = engine.list_documents(limit=100)
    assert sorted(d.id for d in page.items) == sorted(f"doc-{n}" for n in range(12))
    # Only the records the first worker had not written were embedded again (one chunk each).
    assert engine.embedder.totals()[0] - texts_before == 4


class _ProgressLostOnce(JobStore):
    """The real store, whose second progress write fails as if the server died between a
    batch's commit and the record of it."""

    failed = False

    def advance(self, *args: Any, **kwargs: Any) -> JobStatus | None:
        if not self.failed and args[2] == 8:
            self.failed = True
            raise StorageUnavailableError("cut off")
        return super().advance(*args, **kwargs)


def test_a_batch_written_but_not_recorded_is_written_again_unchanged_not_embedded(
    make_engine: Callable[..., SearchEngine], tmp_path: Path
) -> None:
    engine = make_engine()
    database = sqlite_engine(tmp_path / "jobs.sqlite3")
    metadata.create_all(database)
    store = _ProgressLostOnce(database)
    job = store.create(_records(12), max_records=100)
    first = JobRunner(engine, store, parse_record, batch_size=4, poll_seconds=0.05)
    first.start()
    _wait(store, job.id, lambda _: store.failed and engine.list_documents().total == 8)
    first.stop()  # records 4-7 are stored; the job still says it goes on from record 4
    paused = store.get(job.id)
    assert paused is not None and paused.next_position == 4
    texts_before = engine.embedder.totals()[0]
    second = JobRunner(engine, store, parse_record, batch_size=4, poll_seconds=0.05)
    second.start()
    done = _wait(store, job.id, lambda j: j.status.finished)
    second.stop()
    assert (done.done, engine.list_documents().total) == (12, 12)
    assert engine.embedder.totals()[0] - texts_before == 4  # records 8-11 only


def test_bad_records_are_skipped_with_their_lines_and_the_rest_is_ingested(
    make_engine: Callable[..., SearchEngine], job_store: JobStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="index.jobs.runner")
    engine = make_engine()
    bodies = [
        json.dumps({"id": "good-1", "text": "The first good document."}),
        json.dumps({"id": "blank", "text": "   "}),
        '{"id": "broken", "text": ',
        json.dumps({"id": "bad id!", "text": "An id with a space."}),
        json.dumps({"id": "long", "text": "x" * 101}),
        None,  # a line that was not UTF-8
        json.dumps([1, 2]),
        json.dumps({"id": "good-2", "text": "Old text."}),
        json.dumps({"id": "good-2", "text": "The second good document, replaced."}),
    ]
    records = [JobRecord(n, n + 1, None, body) for n, body in enumerate(bodies)]
    job = job_store.create(records, max_records=100)
    runner = JobRunner(engine, job_store, parse_record, max_chars=100, poll_seconds=0.05)
    runner.start()
    done = _wait(job_store, job.id, lambda j: j.status.finished)
    runner.stop()
    assert (done.status, done.total, done.done, done.failed) == (JobStatus.SUCCEEDED, 9, 3, 6)
    refused = [(e.line, e.document_id, e.field) for e in done.errors]
    assert refused == [
        (2, "blank", "text"),
        (3, None, ""),
        (4, "bad id!", "id"),
        (5, "long", "text"),
        (6, None, ""),
        (7, None, ""),
    ]
    assert "over 100 characters" in done.errors[3].message
    assert engine.get("good-2").text == "The second good document, replaced."  # last wins
    assert {d.id for d in engine.list_documents().items} == {"good-1", "good-2"}
    # One log line per step, each naming the job (JSON lines in the server: service/logs.py).
    steps = [(r.getMessage(), getattr(r, "fields", {})) for r in caplog.records]
    assert [message for message, _ in steps] == [
        "ingest job started",
        "ingest job batch committed",
        "ingest job batch committed",
        "ingest job succeeded",
    ]
    assert all(fields["job_id"] == job.id for _, fields in steps)
    # The second good-2 starts a batch of its own: a batch ends before an id it holds.
    assert [f["failed"] for m, f in steps if m == "ingest job batch committed"] == [6, 0]


# -- over HTTP -------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        seed_dir="",
        database_url=database_url,
        max_job_documents=200,
        max_job_bytes=1024 * 1024,
        max_document_chars=2_000,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _finished(client: TestClient, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(location).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"{location} did not finish")


def test_an_ndjson_job_is_accepted_at_once_and_reports_each_bad_line(client: TestClient) -> None:
    lines = [
        json.dumps({"id": "n1", "text": "Volcanoes erupt when magma rises.", "source": "geo"}),
        "",  # blank lines are not records, but they count as lines
        json.dumps({"id": "n2", "text": ""}),
        "not json",
        json.dumps({"id": "n3", "text": "Glaciers carve valleys.", "metadata": {"w": 2}}),
    ]
    body = ("\n".join(lines) + "\n").encode() + b"\xff\xfe not utf-8\n"
    response = client.post("/v1/ingest-jobs", content=body, headers=NDJSON)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert response.headers["location"] == f"/v1/ingest-jobs/{accepted['id']}"
    assert accepted["total"] == 5 and accepted["status"] in ("queued", "running", "succeeded")
    job = _finished(client, response.headers["location"])
    assert (job["status"], job["done"], job["failed"]) == ("succeeded", 2, 3)
    assert [(e["line"], e["index"], e["id"], e["field"]) for e in job["errors"]] == [
        (3, None, "n2", "text"),
        (4, None, None, ""),
        (6, None, None, ""),
    ]
    assert job["errors"][2]["message"] == "not valid UTF-8"
    hits = client.post("/v1/search", json={"query": "glacier valleys", "k": 1}).json()["hits"]
    assert hits[0]["citation"]["document_id"] == "n3"
    listed = client.get("/v1/ingest-jobs").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == job["id"]
    assert client.get("/v1/ingest-jobs", params={"status": "failed"}).json()["total"] == 0


def test_a_json_job_names_refused_records_by_index(client: TestClient) -> None:
    documents = [{"id": "j1", "text": "Tides follow the moon."}, {"id": "j2", "text": "t" * 2001}]
    response = client.post("/v1/ingest-jobs", json={"documents": documents})
    assert response.status_code == 202
    job = _finished(client, response.headers["location"])
    assert (job["done"], job["failed"]) == (1, 1)
    assert [(e["line"], e["index"], e["id"], e["field"]) for e in job["errors"]] == [
        (None, 1, "j2", "text")
    ]


def test_cancel_keeps_what_was_committed(client: TestClient) -> None:
    text = "A sentence about a document that will be cancelled. " * 20
    lines = [json.dumps({"id": f"c{n}", "text": text}) for n in range(200)]
    response = client.post("/v1/ingest-jobs", content="\n".join(lines), headers=NDJSON)
    location = response.headers["location"]
    cancelled = client.delete(location)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    deadline = time.monotonic() + 30
    while True:  # the worker finishes the batch in hand, records it, and stops
        job = client.get(location).json()
        stored = client.get("/v1/documents").json()["total"]
        if stored == job["done"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert job["status"] == "cancelled" and job["done"] < 200
    assert stored == job["done"]
    assert_problem(client.delete(location), 409)


def test_job_bodies_beyond_their_limits_are_refused_and_nothing_is_kept(
    client: TestClient,
) -> None:
    many = "\n".join(json.dumps({"text": f"Doc {n}."}) for n in range(201))
    assert_problem(client.post("/v1/ingest-jobs", content=many, headers=NDJSON), 413, "body")
    big = json.dumps({"text": "y" * 1_100_000})
    assert_problem(client.post("/v1/ingest-jobs", content=big, headers=NDJSON), 413, "body")
    assert client.get("/v1/ingest-jobs").json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        (b'{"documents": []}', {"content-type": "application/json"}, 422, "documents"),
        (b'{"docs": [1]}', {"content-type": "application/json"}, 422, "documents"),
        (b'{"documents": [', {"content-type": "application/json"}, 400, None),
        (b'{"documents": [{"id": "x"}]}', JSON, 422, "documents[0].text"),
        (b'{"documents": [{"text": " "}]}', JSON, 422, "documents[0].text"),
        (b"text", {"content-type": "text/plain"}, 415, "content-type"),
    ],
)
def test_malformed_job_bodies_are_problems(
    client: TestClient, body: bytes, headers: dict[str, str], status: int, field: str | None
) -> None:
    assert_problem(client.post("/v1/ingest-jobs", content=body, headers=headers), status, field)


def test_an_empty_ndjson_body_is_a_job_of_no_documents(client: TestClient) -> None:
    response = client.post("/v1/ingest-jobs", content=b"\n \n", headers=NDJSON)
    assert response.status_code == 202 and response.json()["total"] == 0
    job = _finished(client, response.headers["location"])
    assert (job["status"], job["done"], job["failed"]) == ("succeeded", 0, 0)


def test_unknown_and_malformed_job_ids(client: TestClient) -> None:
    assert_problem(client.get(f"/v1/ingest-jobs/{'a' * 32}"), 404)
    assert_problem(client.delete(f"/v1/ingest-jobs/{'a' * 32}"), 404)
    assert_problem(client.get("/v1/ingest-jobs/not-an-id"), 422, "job_id")


def test_metrics_count_jobs_by_status_and_ingested_documents(client: TestClient) -> None:
    response = client.post("/v1/ingest-jobs", json={"documents": [{"text": "Counted."}]})
    _finished(client, response.headers["location"])
    metrics = client.get("/metrics").text
    assert 'semsearch_ingest_jobs{status="succeeded"} 1.0' in metrics
    assert 'semsearch_ingest_job_documents_total{outcome="ingested"} 1.0' in metrics
