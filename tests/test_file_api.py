"""POST /v1/files and /v1/collections/{name}/files through the app (in process, on both
backends; the PostgreSQL runs belong to the system tier): each format uploaded, searched with
exact citations (PDF pages included), supported and deleted; every bad file refused with a
problem naming it, and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import assert_problem
from tests.file_fixtures import (
    REPORT_PAGES,
    article_page,
    deflate_bomb_pdf,
    encrypted_pdf,
    memo_docx,
    report_pdf,
    scanned_pdf,
)
from tests.test_files import APP_SHELL

MAX_FILE_BYTES = 2 * 1024 * 1024


@pytest.fixture
def client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        seed_dir="",
        database_url=database_url,
        # Small chunks: several per page, so some lie wholly on one page of the report.
        chunk_tokens=48,
        chunk_overlap_tokens=0,
        max_file_bytes=MAX_FILE_BYTES,
        max_document_chars=20_000,
        file_parse_seconds=20,
        file_parse_memory_mb=512,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _upload(
    client: TestClient, name: str, data: bytes, path: str = "/v1/files", **fields: str
) -> Any:
    return client.post(path, files={"file": (name, data, "application/octet-stream")}, data=fields)


def _exact(client: TestClient, hit: dict[str, Any], path: str = "/v1") -> str:
    """The hit's citation sliced from its stored document equals the hit; returns the text."""
    citation = hit["citation"]
    text: str = client.get(f"{path}/documents/{citation['document_id']}").json()["text"]
    assert text[citation["char_start"] : citation["char_end"]] == hit["text"]
    return text


def test_a_pdf_round_trips_with_its_pages_cited(client: TestClient) -> None:
    report = report_pdf()
    response = _upload(client, "report.pdf", report.data, id="report", metadata='{"desk": "port"}')
    assert response.status_code == 201, response.text
    summary = response.json()
    assert {k: summary[k] for k in ("id", "format", "pages", "title", "published_at")} == {
        "id": "report",
        "format": "pdf",
        "pages": 3,
        "title": "Annual Report 2025",
        "published_at": "2025-02-03",
    }
    assert summary["metadata"] == {"author": "Harbour Authority", "desk": "port"}
    assert summary["status"] == "created" and summary["chunk_count"] >= 3

    document = client.get("/v1/documents/report").json()
    starts = document["page_starts"]
    pages = [
        document["text"][start:end]
        for start, end in zip(starts, [*starts[1:], len(document["text"])], strict=True)
    ]
    assert [page.strip() for page in pages] == ["\n".join(page) for page in REPORT_PAGES]

    hits = client.post(
        "/v1/search", json={"query": "storm damage repairs to the eastern breakwater", "k": 10}
    ).json()["hits"]
    assert hits and all(hit["citation"]["page"] is not None for hit in hits)
    for hit in hits:
        _exact(client, hit)
        citation = hit["citation"]
        # The page named is the one the cited text stands on, by the report's own pages.
        assert hit["text"][:40] in pages[citation["page"] - 1]
        assert hit["text"][-40:] in pages[citation["page_end"] - 1]
    assert any(h["citation"]["page"] == h["citation"]["page_end"] == 2 for h in hits[:3])

    claim = "Storm damage closed the eastern breakwater for eleven days."
    support = client.post("/v1/passages/support", json={"claim": claim, "k": 3}).json()
    assert support["verdict"] == "supported", support
    best = support["passages"][0]
    assert best["citation"]["page"] == 2
    text = _exact(client, best)
    for evidence in best["evidence"]:
        assert text[evidence["char_start"] : evidence["char_end"]] == evidence["text"]
        assert evidence["text"][:40] in pages[evidence["page"] - 1]
    assert any(e["page"] == 2 and "eleven days" in e["text"] for e in best["evidence"])

    again = _upload(client, "report.pdf", report.data, id="report", metadata='{"desk": "port"}')
    assert again.status_code == 201 and again.json()["status"] == "unchanged"
    assert client.delete("/v1/documents/report").status_code == 204
    after = client.post("/v1/search", json={"query": "eastern breakwater", "k": 5}).json()
    assert after["hits"] == []


def test_a_web_page_round_trips_with_its_own_metadata_and_without_its_chrome(
    client: TestClient,
) -> None:
    page, _ = article_page()
    summary = _upload(client, "islamabad.html", page).json()
    assert summary["format"] == "html" and summary["pages"] is None
    assert summary["title"].startswith("Pakistan, China Boost Counter-Terrorism Cooperation")
    assert summary["url"] == "https://courier.example/world/islamabad-attack"
    assert summary["published_at"] == "2025-11-18"
    assert summary["metadata"] == {"author": "Amina Qureshi"}
    stored = client.get(f"/v1/documents/{summary['id']}").json()
    assert "cookies" not in stored["text"].lower() and "Leave a Reply" not in stored["text"]

    query = {"query": "suicide bombing outside the Islamabad district courts", "k": 3}
    hits = client.post("/v1/search", json=query).json()["hits"]
    assert hits[0]["citation"]["document_id"] == summary["id"]
    assert hits[0]["citation"]["page"] is None
    _exact(client, hits[0])
    claim = "A suicide bombing near the Islamabad district courts killed 12 people."
    support = client.post("/v1/passages/support", json={"claim": claim}).json()
    assert support["verdict"] == "supported"
    assert client.delete(f"/v1/documents/{summary['id']}").status_code == 204


def test_word_and_markdown_files_round_trip(client: TestClient) -> None:
    memo = _upload(client, "memo.docx", memo_docx(), id="memo").json()
    assert (memo["format"], memo["title"], memo["metadata"]) == (
        "docx",
        "Quarterly harbour memo",
        {"author": "Port Office"},
    )
    notes = "# Pilot rota\n\nNight pilots are doubled while the *north quay* is closed.\n"
    assert _upload(client, "rota.md", notes.encode(), id="rota").json()["title"] == "Pilot rota"

    hit = client.post("/v1/search", json={"query": "which berth is closed", "k": 1}).json()
    assert hit["hits"][0]["citation"]["document_id"] == "memo"
    _exact(client, hit["hits"][0])
    rota = client.post("/v1/search", json={"query": "night pilots doubled", "k": 1}).json()
    assert rota["hits"][0]["citation"]["document_id"] == "rota"
    assert "*" not in rota["hits"][0]["text"]
    _exact(client, rota["hits"][0])
    for document_id in ("memo", "rota"):
        assert client.delete(f"/v1/documents/{document_id}").status_code == 204


def test_a_file_goes_into_the_collection_named(client: TestClient) -> None:
    assert client.post("/v1/collections", json={"name": "reports"}).status_code == 201
    response = _upload(client, "report.pdf", report_pdf().data, "/v1/collections/reports/files")
    assert response.status_code == 201, response.text
    query = {"query": "passenger ferries", "k": 3}
    scoped = client.post("/v1/collections/reports/search", json=query).json()["hits"]
    assert scoped and scoped[0]["citation"]["page"] == 3
    _exact(client, scoped[0], "/v1/collections/reports")
    assert client.post("/v1/search", json=query).json()["hits"] == []
    missing = _upload(client, "r.pdf", report_pdf().data, "/v1/collections/nothing/files")
    assert_problem(missing, 404)


BAD_FILES = [
    ("setup.pdf", b"MZ\x90\x00" + bytes(4000), 415, "is a Windows program"),
    ("archive.exe", b"plain", 415, "(.exe)"),
    ("report.pdf", report_pdf().data[:700], 422, "damaged PDF"),
    ("locked.pdf", encrypted_pdf("secret"), 422, "encrypted with a password"),
    ("scan.pdf", scanned_pdf(), 422, "no text layer"),
    ("memo.docx", b"this is not a zip archive", 422, "not a zip archive"),
    ("app.html", APP_SHELL, 422, "no text"),
    ("bomb.pdf", deflate_bomb_pdf(1 << 30), 422, "more than 512 MiB"),
    ("huge.txt", b"words " * (MAX_FILE_BYTES // 6 + 1), 413, "SEMSEARCH_MAX_FILE_BYTES"),
    ("long.txt", b"Many words here. " * 2000, 413, "SEMSEARCH_MAX_DOCUMENT_CHARS"),
]


def test_bad_files_are_problems_naming_the_file_and_nothing_is_stored(client: TestClient) -> None:
    for name, data, status, says in BAD_FILES:
        response = _upload(client, name, data, id="bad")
        assert_problem(response, status, "file")
        assert repr(name) in response.json()["detail"], response.text
        assert says in response.json()["detail"], response.text
        assert client.get("/v1/stats").json()["documents"] == 0
        assert client.get("/v1/documents/bad").status_code == 404


def test_bad_forms_are_problems_naming_the_field(client: TestClient) -> None:
    text = ("note.txt", b"The quay reopened today.", "text/plain")
    as_json = client.post("/v1/files", json={"file": "x"})
    assert_problem(as_json, 415, "content-type")
    assert_problem(client.post("/v1/files", data={"id": "a"}, files={"x": text}), 422, "file")
    bad_id = client.post("/v1/files", data={"id": "no spaces"}, files={"file": text})
    assert_problem(bad_id, 422, "id")
    bad_date = client.post("/v1/files", data={"published_at": "86400"}, files={"file": text})
    assert_problem(bad_date, 422, "published_at")
    for metadata, field in (("{not json", "metadata"), ('{"k": [1]}', "metadata.k")):
        response = client.post("/v1/files", data={"metadata": metadata}, files={"file": text})
        assert_problem(response, 422, field)
    broken = client.post(
        "/v1/files",
        content=b"--b\r\nContent-Disposition: form-data; name=file; filename=a.txt\r\n\r\nabc",
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert broken.status_code in (400, 422) and "Traceback" not in broken.text
    over = client.post(
        "/v1/files",
        content=b"x" * 64,
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(1 << 30)},
    )
    assert_problem(over, 413, "body")
    assert client.get("/v1/stats").json()["documents"] == 0
