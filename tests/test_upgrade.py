"""A data directory written by an earlier release opens with the current code and loses nothing:
documents with their fields, citations that slice exactly, metadata filters, an ingest job with
its refused record, and a consistent store (tests/stores/README.md says how each was made)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.backends import backend_config
from index.engine import EngineConfig, SearchEngine
from index.models import DocumentInput
from service.app import create_app
from service.settings import Settings

STORES = Path(__file__).resolve().parent / "stores"
JOB_ID = "ac7e7cab0db9404fa38505af5e67ce68"


@pytest.fixture(params=["release-0.1"])
def data_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A copy of the release's data directory (opening it may upgrade it in place)."""
    copy = tmp_path / "data"
    shutil.copytree(STORES / request.param, copy)
    return copy


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=data_dir, seed_dir=""))) as client:
        yield client


def test_the_documents_of_an_earlier_release_read_back_whole(client: TestClient) -> None:
    assert client.get("/v1/stats").json()["documents"] == 3
    lighthouse = client.get("/v1/documents/lighthouse").json()
    assert lighthouse["text"].startswith("The lighthouse keeper of Port Ellis")
    assert (lighthouse["source"], lighthouse["url"], lighthouse["published_at"]) == (
        "Harbour Notes",
        "https://example.org/lighthouse",
        "2024-03-02",
    )
    assert lighthouse["metadata"] == {"lang": "en", "pages": 2}
    mixed = client.get("/v1/documents/emoji-cjk", params={"offset_encoding": "utf-16"}).json()
    assert (
        mixed["metadata"] == {"verified": True}
        and mixed["char_count"] == len(mixed["text"].encode("utf-16-le")) // 2
    )


def test_search_support_and_filters_work_on_an_earlier_release(client: TestClient) -> None:
    hits = client.post("/v1/search", json={"query": "storm in the keeper's ledger", "k": 2})
    first = hits.json()["hits"][0]
    assert first["citation"]["document_id"] == "lighthouse"
    text = client.get("/v1/documents/lighthouse").json()["text"]
    assert text[first["citation"]["char_start"] : first["citation"]["char_end"]] == first["text"]
    filtered = client.post(
        "/v1/search", json={"query": "ledger", "k": 5, "filters": {"metadata": {"pages": 2.0}}}
    ).json()["hits"]
    assert {h["citation"]["document_id"] for h in filtered} == {"lighthouse"}
    support = client.post(
        "/v1/passages/support", json={"claim": "The ferry carried a brass bell.", "k": 1}
    ).json()
    assert support["passages"][0]["citation"]["document_id"] == "job-doc"


def test_an_ingest_job_of_an_earlier_release_is_still_reported(client: TestClient) -> None:
    job = client.get(f"/v1/ingest-jobs/{JOB_ID}").json()
    assert (job["status"], job["total"], job["done"], job["failed"]) == ("succeeded", 2, 1, 1)
    assert [(e["line"], e["id"], e["field"]) for e in job["errors"]] == [(2, "blank", "text")]


def test_an_earlier_release_store_is_consistent_and_takes_writes(data_dir: Path) -> None:
    engine = SearchEngine(EngineConfig(storage=backend_config(data_dir)))
    try:
        assert engine.check().ok
        engine.upsert([DocumentInput(id="new", text="A document written after the upgrade.")])
        assert engine.check().ok and engine.stats().documents == 4
    finally:
        engine.close()


def test_an_earlier_release_becomes_the_default_collection_beside_new_ones(
    client: TestClient,
) -> None:
    listed = client.get("/v1/collections").json()["items"]
    assert [(c["name"], c["documents"]) for c in listed] == [("default", 3)]
    scoped = client.get("/v1/collections/default/documents/lighthouse").json()
    assert scoped == client.get("/v1/documents/lighthouse").json()
    job = client.get(f"/v1/collections/default/ingest-jobs/{JOB_ID}").json()
    assert (job["collection"], job["status"]) == ("default", "succeeded")

    assert client.post("/v1/collections", json={"name": "papers"}).status_code == 201
    new = {"id": "lighthouse", "text": "A paper about lighthouse optics and Fresnel lenses."}
    written = client.post("/v1/collections/papers/documents", json={"documents": [new]})
    assert written.json()["results"][0]["status"] == "created"  # the same id: a new document
    assert client.get("/v1/documents/lighthouse").json()["text"].startswith("The lighthouse")
    hits = client.post("/v1/search", json={"query": "Fresnel lens optics", "k": 5}).json()
    assert hits["hits"] and not any("Fresnel" in h["text"] for h in hits["hits"])
    papers = client.post("/v1/collections/papers/search", json={"query": "Fresnel lens optics"})
    assert [h["citation"]["document_id"] for h in papers.json()["hits"]] == ["lighthouse"]
    assert client.get(f"/v1/collections/papers/ingest-jobs/{JOB_ID}").status_code == 404
