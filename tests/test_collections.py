"""Collections: isolated sets of documents in one service, through the engine and the HTTP API
(in process, on both backends; the PostgreSQL runs belong to the system tier). The same id in
two collections names two documents; search, support, filters and jobs stay inside their
collection; deleting one removes it whole."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.backends.embedded.config import EmbeddedConfig
from index.engine import SearchEngine
from index.errors import (
    CollectionExistsError,
    CollectionLimitError,
    CollectionNotFoundError,
    CollectionProtectedError,
    DocumentNotFoundError,
    InvalidInputError,
)
from index.models import DEFAULT_COLLECTION, DocumentInput, SearchFilters, SearchMode
from index.queries import SearchQuery, SupportQuery
from service.app import create_app
from service.settings import Settings
from tests.conftest import assert_problem

MakeEngine = Callable[..., SearchEngine]
HOSTILE_NAMES = [
    "",
    "..",
    "../etc",
    "a/b",
    "a\\b",
    "News",  # upper case: two names that differ only in case would share a directory
    "-news",
    "_news",
    "new.s",
    "news ",
    "n\u0435ws",  # a Cyrillic letter that looks like the Latin "e"
    "ｎｅｗｓ",  # full-width
    "news\n",
    "news\x00",
    "a" * 64,
    "a" * 10_000,
]
NEWS = [
    DocumentInput(
        id="a",
        title="Harbour flood",
        text="The harbour flooded after three days of rain. Boats were moved inland.",
        source="wire",
        published_at=date(2025, 5, 1),
    ),
    DocumentInput(
        id="b",
        title="Harbour festival",
        text="A festival of boats filled the harbour on Sunday. Crowds watched from the pier.",
        source="local",
        published_at=date(2025, 6, 1),
    ),
]
DEFAULT_A = DocumentInput(
    id="a", title="Glaciers", text="Glaciers carve deep valleys as they move over centuries."
)


def test_the_same_id_in_two_collections_names_two_documents(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.upsert([DEFAULT_A])
    assert engine.create_collection("news").name == "news"
    results = engine.upsert(NEWS, collection="news")
    assert [r.status.value for r in results] == ["created", "created"]  # "a" is new there
    assert engine.get("a").text.startswith("Glaciers")
    assert engine.get("a", collection="news").text.startswith("The harbour flooded")
    assert engine.stats().documents == 1 and engine.stats("news").documents == 2

    for mode in SearchMode:
        hits = engine.search(SearchQuery("boats in the harbour", k=10, mode=mode))
        assert {h.citation.document_id for h in hits} <= {"a"}
        assert all("Glaciers" in h.text for h in hits)
    support = engine.support(SupportQuery("The harbour flooded after rain."))
    assert all(p.citation.document_id == "a" and "Glaciers" in p.text for p in support.passages)

    engine.delete("a", collection="news")
    assert engine.get("a").text.startswith("Glaciers")  # the default one is untouched
    with pytest.raises(DocumentNotFoundError):
        engine.get("a", collection="news")
    assert [d.id for d in engine.list_documents(collection="news").items] == ["b"]


def test_filters_k_and_citations_hold_within_a_collection(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.upsert([DEFAULT_A, DocumentInput(id="c", text="Boats crowd the harbour.")])
    engine.create_collection("news")
    engine.upsert(NEWS, collection="news")
    hits = engine.search(
        SearchQuery(
            "harbour boats", k=5, filters=SearchFilters(sources=["local"]), collection="news"
        )
    )
    assert hits and {h.citation.document_id for h in hits} == {"b"}
    for hit in engine.search(SearchQuery("harbour", k=1, collection="news")):
        text = engine.get(hit.citation.document_id, collection="news").text
        assert text[hit.citation.char_start : hit.citation.char_end] == hit.text
    assert len(engine.search(SearchQuery("harbour", k=1, collection="news"))) == 1
    support = engine.support(
        SupportQuery("A festival of boats filled the harbour.", collection="news")
    )
    assert support.verdict.value == "supported"
    assert support.passages[0].citation.document_id == "b"


def test_names_are_checked_and_unknown_or_protected_collections_refused(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine()
    for name in HOSTILE_NAMES:
        with pytest.raises(InvalidInputError) as refused:
            engine.create_collection(name)
        assert refused.value.field == "name" and len(str(refused.value)) < 300
    engine.create_collection("news")
    with pytest.raises(CollectionExistsError):
        engine.create_collection("news")
    with pytest.raises(CollectionExistsError):
        engine.create_collection(DEFAULT_COLLECTION)
    with pytest.raises(CollectionProtectedError):
        engine.delete_collection(DEFAULT_COLLECTION)
    for call in (
        lambda: engine.search(SearchQuery("x", collection="nope")),
        lambda: engine.support(SupportQuery("x", collection="nope")),
        lambda: engine.upsert(NEWS, collection="nope"),
        lambda: engine.get("a", collection="nope"),
        lambda: engine.delete("a", collection="nope"),
        lambda: engine.stats("nope"),
        lambda: engine.delete_collection("nope"),
        lambda: engine.search(SearchQuery("x", collection="..")),
    ):
        with pytest.raises(CollectionNotFoundError):
            call()
    assert [c.name for c in engine.collections()] == ["default", "news"]


def test_deleting_a_collection_removes_it_whole_and_survives_a_restart(
    make_engine: MakeEngine, tmp_path: Path
) -> None:
    engine = make_engine()
    engine.upsert([DEFAULT_A])
    for name in ("news", "papers"):
        engine.create_collection(name)
        engine.upsert(NEWS, collection=name)
    engine.delete_collection("news")
    assert [c.name for c in engine.collections()] == ["default", "papers"]
    assert engine.check().ok
    engine.close()

    engine = make_engine()  # a restart
    listed = {c.name: (c.documents, c.chunks) for c in engine.collections()}
    assert listed.keys() == {"default", "papers"} and listed["papers"][0] == 2
    engine.create_collection("news")  # the name is free again, and the new one empty
    assert engine.stats("news").documents == 0
    assert engine.search(SearchQuery("harbour", collection="news")) == []
    assert engine.check().ok
    if isinstance(engine.config.storage, EmbeddedConfig):
        assert sorted(p.name for p in (tmp_path / "data" / "collections").iterdir()) == [
            "news",
            "papers",
        ]


def test_a_write_meant_for_a_deleted_collection_never_lands_in_its_successor(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine()
    first = engine.create_collection("tenant").created_at
    assert engine.created_at("tenant") == first
    engine.upsert(NEWS[:1], collection="tenant", created_at=first)
    engine.delete_collection("tenant")
    second = engine.create_collection("tenant").created_at
    assert second != first
    with pytest.raises(CollectionNotFoundError):  # a job queued in the first, say
        engine.upsert(NEWS[1:], collection="tenant", created_at=first)
    assert engine.stats("tenant").documents == 0
    engine.upsert(NEWS[1:], collection="tenant", created_at=second)
    assert engine.stats("tenant").documents == 1


@pytest.mark.parametrize("backend_kind", ["embedded"])
def test_a_collection_change_cut_off_by_a_crash_is_undone_on_start(
    make_engine: MakeEngine, tmp_path: Path
) -> None:
    engine = make_engine()
    engine.create_collection("news")
    engine.upsert(NEWS, collection="news")
    engine.close()
    root = tmp_path / "data" / "collections"
    # What a crash leaves: a collection renamed away for deletion, one half made.
    (root / "news").rename(root / ".deleted-1")
    (root / ".new-2").mkdir()
    (root / ".new-2" / "store.sqlite3").write_bytes(b"half")
    engine = make_engine()
    assert [c.name for c in engine.collections()] == ["default"]
    assert sorted(p.name for p in root.iterdir()) == []
    assert engine.check().ok


def test_searches_never_cross_collections_while_one_is_created_and_deleted(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine()
    engine.upsert([DEFAULT_A])
    engine.create_collection("stable")
    engine.upsert(NEWS, collection="stable")
    problems: list[str] = []
    searched: Counter[str] = Counter()
    stop = threading.Event()

    def search(collection: str, belongs: Callable[[str], bool]) -> None:
        while not stop.is_set():
            try:
                hits = engine.search(
                    SearchQuery("harbour glaciers churn", k=5, collection=collection)
                )
                searched[collection] += 1
                for hit in hits:
                    if not belongs(hit.text):
                        problems.append(f"{collection}: {hit.text!r}")
            except CollectionNotFoundError:
                if collection != "churn":
                    problems.append(f"{collection} not found")
            except Exception as error:  # anything else fails the test
                problems.append(f"{collection}: {error!r}")
            time.sleep(0.01)  # leave the writer some of the 2 cores

    threads = [
        threading.Thread(target=search, args=("stable", lambda t: "harbour" in t.lower())),
        threading.Thread(target=search, args=(DEFAULT_COLLECTION, lambda t: "Glaciers" in t)),
        threading.Thread(target=search, args=("churn", lambda t: t.startswith("Churn"))),
    ]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(4):
            engine.create_collection("churn")
            engine.upsert(
                [DocumentInput(id="z", text=f"Churn round {round_}.")], collection="churn"
            )
            engine.delete_collection("churn")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert problems == []
    assert searched["stable"] and searched[DEFAULT_COLLECTION]
    assert [c.name for c in engine.collections()] == ["default", "stable"]
    assert engine.check().ok


def test_collections_are_bounded_and_deleting_one_makes_room(
    make_engine: MakeEngine, tmp_path: Path
) -> None:
    engine = make_engine(max_collections=3)  # default and two more
    engine.create_collection("one")
    engine.create_collection("two")
    with pytest.raises(CollectionLimitError) as refused:
        engine.create_collection("three")
    assert "3 collections" in str(refused.value)
    with pytest.raises(CollectionExistsError):  # an existing name says so, even when full
        engine.create_collection("two")
    engine.delete_collection("one")
    engine.create_collection("three")
    assert [c.name for c in engine.collections()] == ["default", "three", "two"]
    engine.close()
    engine = make_engine(max_collections=3)  # the count survives a restart
    with pytest.raises(CollectionLimitError):
        engine.create_collection("four")
    if isinstance(engine.config.storage, EmbeddedConfig):  # nothing half made is left by a refusal
        assert sorted(p.name for p in (tmp_path / "data" / "collections").iterdir()) == [
            "three",
            "two",
        ]


def test_collections_are_listed_a_page_at_a_time_with_their_counts(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine()
    for name in ("e", "d", "c", "b"):
        engine.create_collection(name)
    engine.upsert(NEWS, collection="c")
    first = engine.collection_page(0, 2)
    assert [c.name for c in first.items] == ["b", "c"] and first.total == 5
    assert (first.items[1].documents, first.items[1].chunks) == (2, engine.stats("c").chunks)
    assert [c.name for c in engine.collection_page(2, 2).items] == ["d", "default"]
    assert [c.name for c in engine.collection_page(4, 2).items] == ["e"]
    assert engine.collection_page(9, 2).items == []
    engine.delete("a", collection="c")  # a write changes what the listing shows
    assert engine.collection_page(1, 1).items[0].documents == 1
    assert engine.totals().documents == 1 and engine.totals().collections == 5


def _open_collections(engine: SearchEngine) -> int:
    return int(engine._backend.open_collections)  # type: ignore[attr-defined]


@pytest.mark.parametrize("backend_kind", ["embedded"])
def test_collections_open_on_use_and_close_when_idle_or_least_used(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(max_open_collections=2, collection_idle_seconds=0.3)
    assert _open_collections(engine) == 1  # default, pinned
    names = [f"c{n}" for n in range(5)]
    for name in names:
        engine.create_collection(name)
    assert _open_collections(engine) == 1  # created, not opened
    for name in names:
        engine.upsert(NEWS, collection=name)
        assert _open_collections(engine) <= 3
    for name in names:  # each reopened (least used first), its writes all there
        hits = engine.search(SearchQuery("harbour boats", collection=name))
        assert {h.citation.document_id for h in hits} == {"a", "b"}
    assert [c.documents for c in engine.collection_page(0, 10).items] == [2] * 5 + [0]
    assert _open_collections(engine) <= 3  # listing opened none
    deadline = time.monotonic() + 10
    while _open_collections(engine) > 1:  # idle ones close; default stays
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert engine.search(SearchQuery("harbour", collection="c0"))  # reopened on use
    assert engine.check().ok


@pytest.mark.parametrize("backend_kind", ["embedded"])
def test_a_collection_in_use_is_never_closed_under_its_call(make_engine: MakeEngine) -> None:
    engine = make_engine(max_open_collections=1)
    for name in ("held", "other", "third"):
        engine.create_collection(name)
        engine.upsert(NEWS, collection=name)
    backend = engine._backend
    with backend.collection("held") as held:
        engine.search(SearchQuery("harbour", collection="other"))  # over the limit: "held" is busy
        engine.search(SearchQuery("harbour", collection="third"))
        assert held.counts()[0] == 2  # still open
        with held.reading() as view:
            assert view.lexical("harbour", 5, SearchFilters())
    engine.search(SearchQuery("harbour", collection="other"))  # now "held" closes to make room
    assert _open_collections(engine) <= 2


@pytest.mark.parametrize("backend_kind", ["embedded"])
def test_searches_writes_and_deletions_race_with_closing_collections(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(max_open_collections=1, collection_idle_seconds=0.05)
    names = [f"r{n}" for n in range(4)]
    for name in names:
        engine.create_collection(name)
        engine.upsert(NEWS, collection=name)
    problems: list[str] = []
    stop = threading.Event()

    def search(offset: int) -> None:
        turn = offset
        while not stop.is_set():
            name = names[turn % len(names)]
            turn += 1
            try:
                hits = engine.search(SearchQuery("harbour boats", collection=name))
                if not {"a", "b"} <= {h.citation.document_id for h in hits}:
                    problems.append(f"{name}: {hits}")
                engine.collection_page(0, 10)
            except Exception as error:
                problems.append(f"{name}: {error!r}")

    threads = [threading.Thread(target=search, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    try:
        for round_ in range(3):
            engine.create_collection("gone")
            engine.upsert(NEWS[:1], collection="gone")
            engine.search(SearchQuery("harbour", collection="gone"))
            engine.delete_collection("gone")
            engine.upsert([DocumentInput(id=f"x{round_}", text="Tides.")], collection="r0")
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert problems == []
    assert engine.stats("r0").documents == 5
    assert engine.check().ok


# -- over HTTP -------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path, database_url: str | None) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", seed_dir="", database_url=database_url)
    with TestClient(create_app(settings)) as client:
        yield client


def _documents(*documents: DocumentInput) -> dict[str, Any]:
    return {"documents": [{"id": d.id, "title": d.title, "text": d.text} for d in documents]}


def test_collections_are_created_listed_read_and_deleted(client: TestClient) -> None:
    created = client.post("/v1/collections", json={"name": "news"})
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/collections/news"
    assert created.json()["name"] == "news" and created.json()["documents"] == 0
    assert_problem(client.post("/v1/collections", json={"name": "news"}), 409)
    assert client.post("/v1/collections/news/documents", json=_documents(*NEWS)).status_code == 200
    listed = client.get("/v1/collections").json()["items"]
    assert [(c["name"], c["documents"]) for c in listed] == [("default", 0), ("news", 2)]
    one = client.get("/v1/collections/news").json()
    assert (one["documents"], one["chunks"]) == (
        2,
        client.get("/v1/collections/news/stats").json()["chunks"],
    )
    assert client.get("/v1/collections/news/stats").json()["collection"] == "news"
    assert client.delete("/v1/collections/news").status_code == 204
    assert_problem(client.get("/v1/collections/news"), 404)
    assert_problem(client.delete("/v1/collections/news"), 404)
    assert_problem(client.delete("/v1/collections/default"), 409)


def test_collections_are_listed_in_pages_and_one_past_the_limit_is_refused(
    tmp_path: Path, database_url: str | None
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", seed_dir="", database_url=database_url, max_collections=4
    )
    with TestClient(create_app(settings)) as client:
        for name in ("b", "c", "d"):
            assert client.post("/v1/collections", json={"name": name}).status_code == 201
        refused = client.post("/v1/collections", json={"name": "e"})
        assert_problem(refused, 409)
        assert refused.json()["title"] == "Too many collections"
        page = client.get("/v1/collections", params={"limit": 3}).json()
        assert [c["name"] for c in page["items"]] == ["b", "c", "d"]
        assert (page["total"], page["offset"], page["limit"], page["next_offset"]) == (4, 0, 3, 3)
        last = client.get("/v1/collections", params={"offset": 3, "limit": 3}).json()
        assert [c["name"] for c in last["items"]] == ["default"] and last["next_offset"] is None
        assert_problem(client.get("/v1/collections", params={"limit": 501}), 422, "limit")
        assert client.delete("/v1/collections/b").status_code == 204
        assert client.post("/v1/collections", json={"name": "e"}).status_code == 201


def test_hostile_names_are_refused_naming_the_field(client: TestClient) -> None:
    for name in HOSTILE_NAMES:
        assert_problem(client.post("/v1/collections", json={"name": name}), 422, "name")
    assert_problem(client.post("/v1/collections", json={"name": 7}), 422, "name")
    assert_problem(client.post("/v1/collections", json={"name": "x", "other": 1}), 422)
    for path in ("News", "n\u0435ws", "a" * 64, "a" * 10_000, "new.s", "..."):
        assert_problem(client.post(f"/v1/collections/{path}/search", json={"query": "x"}), 422)
    # A slash or an encoded one never reaches a collection: no route has that shape.
    for path in ("a/b", "..%2F..%2Fetc", "%2e%2e"):
        answer = client.post(f"/v1/collections/{path}/search", json={"query": "x"})
        assert answer.status_code in (404, 422), path
    assert [c["name"] for c in client.get("/v1/collections").json()["items"]] == ["default"]


def test_the_unscoped_routes_act_on_the_default_collection(client: TestClient) -> None:
    client.post("/v1/collections", json={"name": "news"})
    client.post("/v1/documents", json=_documents(DEFAULT_A))
    client.post("/v1/collections/news/documents", json=_documents(*NEWS))
    assert client.get("/v1/collections/default/documents/a").json() == (
        client.get("/v1/documents/a").json()
    )
    assert client.get("/v1/documents/a").json()["title"] == "Glaciers"
    assert client.get("/v1/collections/news/documents/a").json()["title"] == "Harbour flood"
    unscoped = client.post("/v1/search", json={"query": "harbour boats", "k": 10}).json()
    assert all("Glaciers" in h["text"] for h in unscoped["hits"])
    scoped = client.post("/v1/collections/news/search", json={"query": "harbour boats"}).json()
    assert {h["citation"]["document_id"] for h in scoped["hits"]} == {"a", "b"}
    assert all("Glaciers" not in h["text"] for h in scoped["hits"])
    support = client.post(
        "/v1/collections/news/passages/support", json={"claim": "Boats filled the harbour."}
    ).json()
    assert support["passages"] and all("Glaciers" not in p["text"] for p in support["passages"])
    assert client.get("/v1/stats").json()["documents"] == 1
    assert client.get("/v1/collections/news/documents").json()["total"] == 2
    assert_problem(client.post("/v1/collections/nope/search", json={"query": "x"}), 404)
    assert_problem(client.post("/v1/collections/nope/passages/support", json={"claim": "x"}), 404)
    assert_problem(client.get("/v1/collections/nope/documents/a"), 404)
    assert_problem(client.get("/v1/collections/nope/stats"), 404)


def test_ingest_jobs_write_to_their_collection_and_are_seen_only_there(
    client: TestClient,
) -> None:
    client.post("/v1/collections", json={"name": "news"})
    body = "\n".join(json.dumps({"id": d.id, "text": d.text}) for d in NEWS) + "\n"
    headers = {"content-type": "application/x-ndjson"}
    assert_problem(
        client.post("/v1/collections/nope/ingest-jobs", content=body, headers=headers), 404
    )
    accepted = client.post("/v1/collections/news/ingest-jobs", content=body, headers=headers)
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["location"]
    assert location == f"/v1/collections/news/ingest-jobs/{accepted.json()['id']}"
    deadline = time.monotonic() + 60
    while (job := client.get(location).json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (job["status"], job["done"], job["collection"]) == ("succeeded", 2, "news")
    assert client.get("/v1/collections/news/documents").json()["total"] == 2
    assert client.get("/v1/documents").json()["total"] == 0
    assert_problem(client.get(f"/v1/ingest-jobs/{job['id']}"), 404)
    assert_problem(client.delete(f"/v1/ingest-jobs/{job['id']}"), 404)
    assert client.get("/v1/ingest-jobs").json()["total"] == 0
    assert client.get("/v1/collections/news/ingest-jobs").json()["total"] == 1


def test_deleting_a_collection_deletes_its_jobs_and_a_new_one_starts_without_them(
    client: TestClient,
) -> None:
    client.post("/v1/collections", json={"name": "gone"})
    # Larger than one batch, so the collection goes while the job runs or before it starts.
    body = "".join(
        json.dumps({"id": f"d{n}", "text": f"Document number {n} about tides."}) + "\n"
        for n in range(200)
    )
    headers = {"content-type": "application/x-ndjson"}
    accepted = client.post("/v1/collections/gone/ingest-jobs", content=body, headers=headers)
    assert accepted.status_code == 202
    assert client.delete("/v1/collections/gone").status_code == 204
    assert_problem(client.get(accepted.headers["location"]), 404)
    client.post("/v1/collections", json={"name": "gone"})  # the name again: a new collection
    assert client.get(accepted.headers["location"]).status_code == 404
    assert client.get("/v1/collections/gone/ingest-jobs").json()["total"] == 0
    time.sleep(1)  # the worker, which may have held the job, writes nothing into the new one
    assert client.get("/v1/collections/gone/documents").json()["total"] == 0
    ok = client.post("/v1/ingest-jobs", content=body[:200], headers=headers)
    assert ok.status_code == 202  # the worker lives on
    deadline = time.monotonic() + 60
    while (job := client.get(ok.headers["location"]).json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert job["status"] == "succeeded"


@pytest.mark.parametrize("backend_kind", ["embedded"])
def test_metrics_name_the_route_template_never_the_collection_and_sum_them(
    client: TestClient,
) -> None:
    client.post("/v1/collections", json={"name": "secret-tenant"})
    client.post("/v1/documents", json=_documents(DEFAULT_A))
    client.post("/v1/collections/secret-tenant/documents", json=_documents(*NEWS))
    client.post("/v1/collections/secret-tenant/search", json={"query": "x"})
    client.post("/v1/collections/not-there/search", json={"query": "x"})
    metrics = client.get("/metrics").text
    assert 'route="/v1/collections/{name}/search"' in metrics
    assert "secret-tenant" not in metrics and "not-there" not in metrics
    gauges = dict(
        line.split(" ")
        for line in metrics.splitlines()
        if line.startswith("semsearch_") and "{" not in line
    )
    assert float(gauges["semsearch_collections"]) == 2
    assert float(gauges["semsearch_documents"]) == 3  # every collection's
    chunks = sum(c["chunks"] for c in client.get("/v1/collections").json()["items"])
    assert float(gauges["semsearch_chunks"]) == float(gauges["semsearch_vectors"]) == chunks
