"""What only a store several servers share can get wrong, and what crosses backends: replicas
(in-process engines on one database) seeing each other's writes, seeding once, racing writes to
one id, the database going away and coming back, a password that never shows, and `semsearch
migrate` between the two backends. The engine suite itself runs on both backends through
conftest's backend_kind."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path

import httpx
import pytest

from index.backends import backend_config
from index.backends.postgres import urls
from index.backends.postgres.backend import PostgresBackend
from index.backends.postgres.config import PostgresConfig
from index.embedding import Embedder
from index.engine import EngineConfig, SearchEngine
from index.errors import InvalidInputError, StorageUnavailableError
from index.models import (
    DEFAULT_COLLECTION,
    DocumentInput,
    SearchFilters,
    SearchHit,
    SearchMode,
    StoredDocument,
)
from index.queries import SearchQuery
from index.transfer import copy_store
from service.cli import main as cli
from tests.conftest import Server, assert_problem, free_port
from tests.postgres import Postgres, start_postgres

pytestmark = pytest.mark.system  # starts PostgreSQL

DOCUMENTS = [
    DocumentInput(
        id="flood",
        title="Delta floods",
        text="Heavy rain flooded the river delta. Residents were told to leave by noon. "
        "Rescue boats reached the villages by evening.",
        source="Wire",
        published_at=date(2025, 3, 1),
        metadata={"lang": "en", "weight": 2.0, "reviewed": True},
    ),
    DocumentInput(
        id="chess",
        title="Chess in Oslo",
        text="A chess tournament opened in Oslo. The favourite won her first game quickly.",
        source="Sports",
        published_at=date(2025, 4, 2),
        metadata={"lang": "en", "weight": 3},
    ),
    DocumentInput(
        id="volcano",
        text="The volcano in Iceland erupted again. Flights were cancelled across the north.",
        source="Wire",
        metadata={"lang": "is"},
    ),
]
Replicas = Callable[[], SearchEngine]


@pytest.fixture
def replica(
    postgres: Postgres, tmp_path: Path, embedder: Embedder
) -> Iterator[Callable[[], SearchEngine]]:
    """Engines on one fresh database, as separate servers would be (each with its own pool)."""
    url = postgres.fresh_database()
    opened: list[SearchEngine] = []

    def make() -> SearchEngine:
        config = EngineConfig(storage=backend_config(url))
        opened.append(SearchEngine(config, embedder))
        return opened[-1]

    yield make
    for engine in opened:
        engine.close()


def _cited(hits: Sequence[SearchHit]) -> list[tuple[object, str, float]]:
    return [(h.citation, h.text, h.score) for h in hits]


def _ids(engine: SearchEngine, query: str, **kwargs: object) -> list[str]:
    return [h.citation.document_id for h in engine.search(SearchQuery(query, **kwargs))]  # type: ignore[arg-type]


def test_a_write_on_one_replica_is_searchable_on_the_other_at_once(replica: Replicas) -> None:
    first, second = replica(), replica()
    first.upsert(DOCUMENTS)
    for mode in SearchMode:
        assert _ids(second, "volcano eruption in Iceland", k=1, mode=mode) == ["volcano"]
    second.delete("volcano")
    assert "volcano" not in _ids(first, "volcano eruption in Iceland", k=3)
    assert first.stats().documents == 2 and first.check().ok


def test_replicas_starting_together_seed_once(replica: Replicas) -> None:
    engines = [replica() for _ in range(3)]
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda e=e: results.append(e.seed(DOCUMENTS))) for e in engines
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r is not None for r in results) == 1
    stats, listed = engines[0].stats(), engines[0].list_documents(limit=100).items
    assert stats.documents == 3 and stats.chunks == sum(d.chunk_count for d in listed)
    assert engines[0].check().ok


def test_two_replicas_upserting_one_id_leave_one_consistent_document(replica: Replicas) -> None:
    engines = [replica(), replica()]
    texts = [
        f"Version {n}: the ferry to Bergen left {n} minutes late. Gulls followed it out."
        for n in range(8)
    ]

    def write(engine: SearchEngine, mine: list[str]) -> None:
        for text in mine:
            engine.upsert([DocumentInput(id="ferry", text=text)])

    threads = [
        threading.Thread(target=write, args=(engine, texts[n::2]))
        for n, engine in enumerate(engines)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = engines[0].get("ferry")
    assert stored.text in texts
    hits = engines[1].search(SearchQuery("ferry to Bergen", k=10))
    assert {h.citation.document_id for h in hits} == {"ferry"}
    assert all(stored.text[h.citation.char_start : h.citation.char_end] == h.text for h in hits)
    assert len(hits) == stored.chunk_count and engines[0].check().ok


class _RacedBackend(PostgresBackend):
    """Lets another server replace a document right after this one read it: the moment a
    fields-only update would otherwise keep chunks of a text the row no longer holds."""

    def __init__(self, url: str, dimension: int, race: Callable[[], None]) -> None:
        super().__init__(PostgresConfig(url), dimension)
        self._race: Callable[[], None] | None = race

    def stored(self, document_ids: Sequence[str]) -> dict[str, StoredDocument]:
        found = super().stored(document_ids)
        if self._race is not None:
            race, self._race = self._race, None
            race()
        return found


def test_a_metadata_update_racing_a_new_text_never_pairs_text_and_chunks_wrongly(
    replica: Replicas, postgres: Postgres, embedder: Embedder, tmp_path: Path
) -> None:
    other = replica()
    other.upsert(DOCUMENTS)
    new_text = "Glaciers retreat in the Alps every summer. Guides moved the trails uphill."
    race = lambda: other.upsert([DocumentInput(id="chess", text=new_text)])  # noqa: E731
    url = other.config.storage.url
    assert url is not None
    raced = SearchEngine(
        EngineConfig(storage=backend_config(url)),
        embedder,
        backend=_RacedBackend(url, embedder.dimension, race),
    )
    try:
        retitled = {**vars(DOCUMENTS[1]), "metadata": {"lang": "no"}}
        raced.upsert([DocumentInput(**retitled)])  # compared with the old text, then retried
        stored = raced.get("chess")
        assert stored.text == DOCUMENTS[1].text and stored.metadata == {"lang": "no"}
        hits = raced.search(SearchQuery("chess tournament in Oslo", k=5, filters=None))
        chess = [h for h in hits if h.citation.document_id == "chess"]
        assert chess and all(
            stored.text[h.citation.char_start : h.citation.char_end] == h.text for h in chess
        )
        assert raced.check().ok
    finally:
        raced.close()


def test_the_database_going_away_is_a_storage_error_and_its_return_heals(
    embedder: Embedder, tmp_path: Path
) -> None:
    server = start_postgres()
    try:
        config = EngineConfig(storage=backend_config(server.fresh_database()))
        engine = SearchEngine(config, embedder)
        engine.upsert(DOCUMENTS)
        server.pause()
        with pytest.raises(StorageUnavailableError, match="unavailable"):
            engine.search(SearchQuery("volcano", k=1))
        with pytest.raises(StorageUnavailableError):
            engine.upsert([DocumentInput(id="new", text="A new text arrives while it is down.")])
        server.resume()
        assert _ids(engine, "volcano eruption in Iceland", k=1) == ["volcano"]
        assert engine.stats().documents == 3  # nothing half-written while it was down
        engine.close()
    finally:
        server.stop()


def test_a_replica_answers_503_while_its_database_is_away_and_recovers_by_itself(
    tmp_path: Path,
) -> None:
    database = start_postgres()
    server = Server(
        data_dir=tmp_path / "data",
        port=free_port(),
        env={"SEMSEARCH_DATABASE_URL": database.fresh_database()},
    )
    try:
        server.start()
        with httpx.Client(base_url=server.url, timeout=60) as http:
            query = {"query": "suicide bombing in Islamabad", "k": 1}
            found = http.post("/v1/search", json=query).json()["hits"]
            database.pause()
            for response in (http.get("/readyz"), http.post("/v1/search", json=query)):
                assert_problem(response, 503)
                assert response.headers["retry-after"] == "5"
                assert "postgres" not in response.text  # the operator's log names it, not this
            assert http.get("/healthz").status_code == 200  # alive: do not restart it
            database.resume()
            assert http.get("/readyz").status_code == 200
            assert http.post("/v1/search", json=query).json()["hits"] == found
    finally:
        server.stop()
        database.stop()


def test_a_statement_over_the_timeout_is_cut_off(replica: Replicas, embedder: Embedder) -> None:
    url = replica().config.storage.url
    assert url is not None
    backend = PostgresConfig(url, statement_timeout=0.05).open(embedder.dimension)
    try:
        with (
            pytest.raises(StorageUnavailableError, match="in time"),
            backend.collection(DEFAULT_COLLECTION) as default,
            default.reading() as view,
        ):
            # a sleep stands in for any statement that runs too long
            view._connection.execute("SELECT pg_sleep(1)")  # type: ignore[attr-defined]
        with backend.collection(DEFAULT_COLLECTION) as default:
            assert default.counts()[0] == 0  # the next call gets a working connection
    finally:
        backend.close()


def test_the_password_never_shows(
    postgres: Postgres, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cr3t-Passw0rd"
    url = postgres.fresh_database().replace("postgres@", f"postgres:{secret}@")
    backend = PostgresConfig(url).open(embedder.dimension)  # trust auth: any password is taken
    assert backend.database is not None and secret not in backend.database
    assert backend.database.startswith(f"postgresql://postgres:{urls.HIDDEN}@127.0.0.1:")
    backend.close()
    unreachable = f"postgresql://user:{secret}@127.0.0.1:9/db?password={secret}"
    with caplog.at_level(logging.DEBUG), pytest.raises(StorageUnavailableError) as refused:
        PostgresConfig(unreachable).open(embedder.dimension)
    assert secret not in str(refused.value) and secret not in caplog.text
    assert urls.redacted(unreachable) == (
        f"postgresql://user:{urls.HIDDEN}@127.0.0.1:9/db?password={urls.HIDDEN}"
    )


def test_migrate_copies_both_ways_without_re_embedding(
    postgres: Postgres, embedder: Embedder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "source")), embedder)
    source.seed(DOCUMENTS)
    # Filtered, the embedded backend ranks words with FTS5, whose BM25 PostgreSQL's computes
    # exactly (unfiltered it reads tantivy: Lucene's idf, lengths to a byte's precision).
    every = SearchFilters(document_ids=[d.id or "" for d in DOCUMENTS])
    expected = {
        mode: source.search(SearchQuery("river delta flooding", k=5, filters=every, mode=mode))
        for mode in SearchMode
    }
    source.close()
    url = postgres.fresh_database()

    assert cli(["migrate", str(tmp_path / "source"), url]) == 0
    assert "copied 3 documents" in capsys.readouterr().out
    on_postgres = SearchEngine(EngineConfig(storage=backend_config(url)), embedder)
    for mode, hits in expected.items():  # the same vectors: the same hits and scores
        got = on_postgres.search(SearchQuery("river delta flooding", k=5, filters=every, mode=mode))
        assert [h.citation for h in got] == [h.citation for h in hits]
        assert [h.score for h in got] == pytest.approx([h.score for h in hits], abs=1e-5)
    assert on_postgres.seed(DOCUMENTS) is None  # copied as seeded: never seeded again
    assert on_postgres.check().ok
    on_postgres.close()

    assert cli(["migrate", str(tmp_path / "source"), url]) == 1  # a non-empty target
    assert "--force" in capsys.readouterr().err
    assert cli(["migrate", str(tmp_path / "missing"), url]) == 1
    assert cli(["migrate", url, str(tmp_path / "back")]) == 0
    back = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "back")), embedder)
    for mode, hits in expected.items():  # chunk ids are the target's own; all else is equal
        found = back.search(SearchQuery("river delta flooding", k=5, filters=every, mode=mode))
        assert _cited(found) == _cited(hits)
    assert back.check().ok
    back.close()


def test_copy_store_refuses_a_non_empty_target_unless_forced(
    replica: Replicas, tmp_path: Path, embedder: Embedder
) -> None:
    target = replica()
    target.upsert(DOCUMENTS[:1])
    source = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "s")), embedder)
    source.upsert(DOCUMENTS)
    try:
        with pytest.raises(InvalidInputError, match="holds 1 documents"):
            copy_store(source._backend, target._backend)
        assert copy_store(source._backend, target._backend, force=True) == 3
        assert target.stats().documents == 3 and target.check().ok
    finally:
        source.close()
