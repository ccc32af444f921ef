"""/v1/snapshots over HTTP: a snapshot of the live service is taken in the background, listed,
downloaded (its SHA-256 as stated), restored with the same documents, and deleted; the archive
is only ever handed to a key that may write every collection."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.backends import backend_config
from index.embedding import Embedder
from index.engine import EngineConfig, SearchEngine
from index.models import SearchMode
from index.queries import SearchQuery
from service.app import create_app
from service.settings import Settings
from tests.test_api import assert_problem

DOCUMENTS = [
    {"id": "ferry", "title": "Ferry", "text": "The ferry to Bergen left at dawn with 40 cars."},
    {"id": "pier", "text": "Fishermen mended their nets on the pier before the storm."},
]


@pytest.fixture
def client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        seed_dir="",
        database_url=database_url,
        snapshot_dir=tmp_path / "snapshots",
        snapshot_keep=2,
        api_keys="admin-key:write,news-key:write:news",
    )
    with TestClient(create_app(settings), headers={"X-API-Key": "admin-key"}) as client:
        yield client


def _ready(client: TestClient, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = client.get(location).json()
        if found["status"] != "running":
            return dict(found)
        time.sleep(0.05)
    raise AssertionError(f"{location} still running")


def test_a_snapshot_is_taken_listed_downloaded_restored_and_deleted(
    client: TestClient, tmp_path: Path, embedder: Embedder
) -> None:
    assert client.post("/v1/collections", json={"name": "news"}).status_code == 201
    written = client.post("/v1/collections/news/documents", json={"documents": DOCUMENTS})
    assert written.status_code == 200
    started = client.post("/v1/snapshots")
    assert started.status_code == 202, started.text
    assert started.json()["collections"] == ["default", "news"]
    snapshot = _ready(client, started.headers["location"])
    assert snapshot["status"] == "ready", snapshot
    assert (snapshot["documents"], snapshot["error"]) == (2, None)
    assert client.get("/v1/snapshots").json()["items"] == [snapshot]
    archive = client.get(f"/v1/snapshots/{snapshot['id']}/download")
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/octet-stream"
    assert len(archive.content) == snapshot["bytes"]
    assert hashlib.sha256(archive.content).hexdigest() == snapshot["sha256"]
    saved = tmp_path / "downloaded.tar"
    saved.write_bytes(archive.content)
    restored = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "restored")), embedder)
    try:
        restored.restore(saved)
        # dense: the same vectors score the same in either backend (BM25 is each one's own)
        query = SearchQuery("ferry to Bergen", k=1, mode=SearchMode.DENSE, collection="news")
        hits = restored.search(query)
        source = client.post(
            "/v1/collections/news/search",
            json={"query": "ferry to Bergen", "k": 1, "mode": "dense"},
        ).json()["hits"]
        assert hits[0].citation.document_id == source[0]["citation"]["document_id"] == "ferry"
        assert round(hits[0].score, 4) == round(source[0]["score"], 4)
    finally:
        restored.close()
    assert client.delete(f"/v1/snapshots/{snapshot['id']}").status_code == 204
    assert_problem(client.get(f"/v1/snapshots/{snapshot['id']}"), 404)
    assert_problem(client.get(f"/v1/snapshots/{snapshot['id']}/download"), 404)
    assert_problem(client.delete(f"/v1/snapshots/{snapshot['id']}"), 404)


def test_one_collection_is_snapshotted_and_the_newest_are_kept(client: TestClient) -> None:
    assert client.post("/v1/collections", json={"name": "news"}).status_code == 201
    client.post("/v1/collections/news/documents", json={"documents": DOCUMENTS})
    taken = []
    for _ in range(3):
        started = client.post("/v1/collections/news/snapshots")
        assert started.status_code == 202, started.text
        taken.append(_ready(client, started.headers["location"]))
    assert all(s["collections"] == ["news"] and s["documents"] == 2 for s in taken)
    listed = [s["id"] for s in client.get("/v1/snapshots").json()["items"]]
    assert listed == [taken[2]["id"], taken[1]["id"]]  # SEMSEARCH_SNAPSHOT_KEEP=2
    assert_problem(client.post("/v1/collections/missing/snapshots"), 404)
    assert_problem(client.get("/v1/snapshots/not-an-id"), 422)


def test_snapshots_need_a_key_that_may_write_every_collection(client: TestClient) -> None:
    restricted = {"X-API-Key": "news-key"}
    assert_problem(client.post("/v1/snapshots", headers=restricted), 403)
    assert client.post("/v1/collections", json={"name": "news"}).status_code == 201
    assert_problem(client.post("/v1/collections/news/snapshots", headers=restricted), 403)
    assert_problem(client.get("/v1/snapshots", headers=restricted), 403)
    assert_problem(client.get("/v1/snapshots", headers={"X-API-Key": "wrong"}), 401)
