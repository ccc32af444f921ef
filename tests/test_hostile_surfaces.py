"""The newer surfaces (PostgreSQL, ingest jobs, collections, uploads) under hostile input, in
process on both backends: what one backend cannot store is refused by every write path on both
alike, with a 422 naming the field, and a job never fails as a whole for one record."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import assert_problem
from tests.file_fixtures import report_pdf, scattered_pdf

NUL = "\u0000"


@pytest.fixture
def client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", seed_dir="", database_url=database_url)
    with TestClient(create_app(settings)) as client:
        yield client


def _wait_for(client: TestClient, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(location).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {location} did not finish")


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"text": "x", "source": f"S{NUL}"}, "documents[0].source"),
        ({"text": "x", "url": f"https://example.org/{NUL}"}, "documents[0].url"),
        ({"text": "x", "title": f"T{NUL}"}, "documents[0].title"),
        ({"text": "x", "metadata": {"tag": f"a{NUL}b"}}, "documents[0].metadata.tag"),
        # schemes a browser runs when the citation is shown as a link
        ({"text": "x", "url": "javascript:alert(1)"}, "documents[0].url"),
        ({"text": "x", "url": " JavaScript:alert(1)"}, "documents[0].url"),
        ({"text": "x", "url": "java\tscript:alert(1)"}, "documents[0].url"),
        ({"text": "x", "url": "data:text/html,<script>alert(1)</script>"}, "documents[0].url"),
        ({"text": "x", "url": "vbscript:msgbox"}, "documents[0].url"),
    ],
)
def test_a_nul_in_a_stored_field_is_refused_naming_it(
    client: TestClient, document: dict[str, Any], field: str
) -> None:
    before = client.get("/v1/stats").json()
    assert_problem(client.post("/v1/documents", json={"documents": [document]}), 422, field)
    assert client.get("/v1/stats").json() == before


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"sources": [f"a{NUL}b"]}, "filters.sources[0]"),
        ({"metadata": {"tag": f"a{NUL}b"}}, "filters.metadata.tag"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/search", "/v1/passages/support"])
def test_a_nul_in_a_filter_is_refused_naming_it(
    client: TestClient, path: str, filters: dict[str, Any], field: str
) -> None:
    body = {"query" if path == "/v1/search" else "claim": "harbour", "filters": filters}
    assert_problem(client.post(path, json=body), 422, field)


def test_a_nul_in_a_text_or_query_is_cleaned_and_in_a_listing_source_refused(
    client: TestClient,
) -> None:
    document = {"id": "a", "text": f"A harbour{NUL} flood."}  # cleaned away, as controls are
    assert client.post("/v1/documents", json={"documents": [document]}).status_code == 200
    found = client.post("/v1/search", json={"query": f"harbour{NUL} flood", "mode": "lexical"})
    assert found.status_code == 200 and found.json()["hits"], found.text
    assert_problem(client.get("/v1/documents", params={"source": f"a{NUL}b"}), 422, "source")


def test_an_upload_with_a_nul_in_a_field_is_refused_naming_it(client: TestClient) -> None:
    response = client.post(
        "/v1/files",
        files={"file": ("a.txt", b"A plain text file.", "text/plain")},
        data={"source": f"S{NUL}"},
    )
    assert_problem(response, 422, "source")


def test_one_record_with_a_nul_fails_alone_in_an_ingest_job(client: TestClient) -> None:
    lines = [
        '{"id": "good-1", "text": "The first good record."}',
        '{"id": "bad", "text": "x", "source": "S\\u0000"}',
        '{"id": "good-2", "text": "The second good record."}',
    ]
    response = client.post(
        "/v1/ingest-jobs",
        content="\n".join(lines).encode(),
        headers={"content-type": "application/x-ndjson"},
    )
    assert response.status_code == 202, response.text
    job = _wait_for(client, response.headers["location"])
    assert (job["status"], job["done"], job["failed"]) == ("succeeded", 2, 1)
    assert [(e["line"], e["id"], e["field"]) for e in job["errors"]] == [(2, "bad", "source")]
    assert client.get("/v1/documents/good-2").status_code == 200


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ("[" * 100_000 + "]" * 100_000, "metadata"),  # RecursionError in json.loads
        ('{"n": ' + "9" * 5000 + "}", "metadata"),  # past Python's int digits limit
        ('{"a": {"b": 1}}', "metadata.a"),
        ("[1]", "metadata"),
    ],
)
def test_an_upload_s_metadata_that_cannot_be_read_is_a_422(
    client: TestClient, metadata: str, field: str
) -> None:
    response = client.post(
        "/v1/files",
        files={"file": ("a.txt", b"A plain text file.", "text/plain")},
        data={"metadata": metadata},
    )
    assert_problem(response, 422, field)


def test_a_file_name_past_the_multipart_header_bound_is_refused_saying_why(
    client: TestClient,
) -> None:
    for length, status in ((255, 201), (10_000, 400)):  # 255: most file systems' longest name
        name = "n" * length + ".txt"
        data = {"file": (name, b"A plain text file.", "text/plain")}
        response = client.post("/v1/files", files=data)
        assert response.status_code == status, response.text
    assert "header size" in response.json()["detail"]


def test_an_upload_to_a_missing_collection_is_404_before_the_file_is_read(
    client: TestClient,
) -> None:
    damaged = report_pdf().data[:600]  # reading it would answer 422
    response = client.post(
        "/v1/collections/missing/files", files={"file": ("d.pdf", damaged, "application/pdf")}
    )
    assert_problem(response, 404)


def test_an_upload_never_lands_in_a_collection_made_again_while_it_was_read(
    client: TestClient,
) -> None:
    assert client.post("/v1/collections", json={"name": "up"}).status_code == 201
    slow = scattered_pdf(700)  # a few seconds of layout analysis
    outcome: dict[str, Any] = {}

    def upload() -> None:
        files = {"file": ("slow.pdf", slow, "application/pdf")}
        outcome["response"] = client.post("/v1/collections/up/files", files=files)

    uploading = threading.Thread(target=upload)
    uploading.start()
    time.sleep(1.0)  # the file is being read
    assert uploading.is_alive(), "the file was read too fast to race with"
    assert client.delete("/v1/collections/up").status_code == 204
    assert client.post("/v1/collections", json={"name": "up"}).status_code == 201
    uploading.join()
    assert_problem(outcome["response"], 404)
    assert client.get("/v1/collections/up").json()["documents"] == 0


@pytest.fixture
def limited(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        seed_dir="",
        database_url=database_url,
        max_request_bytes=64 * 1024,
        max_active_jobs=1,
        job_errors_kept=3,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _ndjson(client: TestClient, body: bytes) -> dict[str, Any]:
    headers = {"content-type": "application/x-ndjson"}
    response = client.post("/v1/ingest-jobs", content=body, headers=headers)
    assert response.status_code == 202, response.text
    return _wait_for(client, response.headers["location"])


def test_a_line_longer_than_a_request_is_refused_alone_and_a_bom_is_dropped(
    limited: TestClient,
) -> None:
    long_line = b'{"id": "long", "text": "' + b"a" * 200_000 + b'"}'
    body = b"\xef\xbb\xbf" + b'{"id": "first", "text": "The first line."}\n'
    body += long_line + b"\n" + b'{"id": "last", "text": "The last line."}\n'
    job = _ndjson(limited, body)
    assert (job["status"], job["done"], job["failed"]) == ("succeeded", 2, 1), job
    [error] = job["errors"]
    assert error["line"] == 2 and "longer than 65536 bytes" in error["message"]
    assert limited.get("/v1/documents/first").status_code == 200


def test_a_job_shows_its_first_errors_and_counts_them_all(limited: TestClient) -> None:
    job = _ndjson(limited, b"{}\n" * 50 + b'{"text": "One good line."}\n')
    assert (job["done"], job["failed"]) == (1, 50)
    assert [e["line"] for e in job["errors"]] == [1, 2, 3]


def test_jobs_beyond_the_active_cap_get_429_and_store_nothing(limited: TestClient) -> None:
    lines = b"".join(
        b'{"id": "d%d", "text": "Document %d is about harbours and rain."}\n' % (n, n)
        for n in range(300)
    )
    headers = {"content-type": "application/x-ndjson"}
    first = limited.post("/v1/ingest-jobs", content=lines, headers=headers)
    assert first.status_code == 202
    refused = limited.post("/v1/ingest-jobs", content=lines, headers=headers)
    assert_problem(refused, 429)
    assert "SEMSEARCH_MAX_ACTIVE_JOBS" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) > 0
    assert limited.get("/v1/ingest-jobs").json()["total"] == 1
    _wait_for(limited, first.headers["location"])
