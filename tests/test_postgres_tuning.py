"""PostgreSQL sized and tuned: SEMSEARCH_DATABASE_POOL_SIZE bounds the connections one server
holds (searches running at once beyond it wait for one instead of opening more), a bulk load
leaves the tables analysed for the searches right after it, and a collection is searched
exactly or through the HNSW index by its size."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from index.backends import backend_config
from index.backends.postgres import backend as postgres_backend
from index.bulk import REFRESH_AFTER_DOCUMENTS, Item, ingest
from index.embedding import Embedder
from index.engine import EngineConfig, SearchEngine
from index.models import DocumentInput, SearchMode
from index.queries import SearchQuery
from service.settings import Settings
from tests.postgres import Postgres

pytestmark = pytest.mark.system  # a PostgreSQL server


def _connections(url: str) -> int:
    """Connections to the test's database, other than these counting ones."""
    with psycopg.connect(url, application_name="pool-probe") as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND application_name <> 'pool-probe'"
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("size", [1, 3])
def test_a_server_holds_at_most_its_pool_of_connections(
    postgres: Postgres, embedder: Embedder, size: int
) -> None:
    url = postgres.fresh_database()
    settings = Settings(database_url=url, database_pool_size=size)
    storage = settings.storage()
    engine = SearchEngine(EngineConfig(storage=storage), embedder)
    try:
        texts = [f"Ferry {n} crossed the fjord at dawn with {n} passengers." for n in range(20)]
        engine.upsert([DocumentInput(id=f"ferry-{n}", text=t) for n, t in enumerate(texts)])
        peak = 0

        def search(n: int) -> int:
            engine.search(SearchQuery(f"ferry with {n} passengers", k=3))
            return _connections(url)

        with ThreadPoolExecutor(8) as pool:
            peak = max(pool.map(search, range(40)))
        assert 1 <= peak <= size
    finally:
        engine.close()


def _analysed(url: str) -> set[str]:
    """The tables ANALYZE (not autovacuum) has run on."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
        ).fetchall()
    return {row[0] for row in rows}


def test_a_bulk_load_leaves_the_tables_analysed(postgres: Postgres, embedder: Embedder) -> None:
    url = postgres.fresh_database()
    engine = SearchEngine(EngineConfig(storage=backend_config(url)), embedder)
    try:
        engine.upsert([DocumentInput(id="one", text="A single upsert is no bulk load.")])
        small = [Item(n, DocumentInput(id=f"small-{n}", text=f"Harbour {n}.")) for n in range(5)]
        for _ in ingest(engine, small):
            pass  # a small load is left to autovacuum
        assert not {"chunks", "chunk_terms"} & _analysed(url)
        items = [
            Item(n, DocumentInput(id=f"doc-{n}", text=f"Tide tables for harbour {n}."))
            for n in range(REFRESH_AFTER_DOCUMENTS)
        ]
        for _ in ingest(engine, items, batch_size=32):
            pass
        assert {"documents", "chunks", "chunk_terms"} <= _analysed(url)
    finally:
        engine.close()


def _hnsw_scans(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'chunks_embedding'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_small_collection_is_searched_exactly_and_a_large_one_through_hnsw(
    postgres: Postgres, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backend picks the path by the collection's size; both find the same chunks here,
    and only the large collection's searches scan the HNSW index (a search right after the
    load, no ANALYZE in between)."""
    url = postgres.fresh_database()
    topics = ["tides", "volcanoes", "glaciers", "monsoons", "coral reefs", "sand dunes"]
    documents = [
        DocumentInput(
            id=f"{topic.replace(' ', '-')}-{n}",
            text=f"Field notes {n} on {topic} and how they change.",
        )
        for topic in topics
        for n in range(5)
    ]
    queries = [f"how {topic} change" for topic in topics]
    found: dict[str, list[list[int]]] = {}
    for path, below in [("exact", postgres_backend.EXACT_BELOW), ("hnsw", 0)]:
        monkeypatch.setattr(postgres_backend, "EXACT_BELOW", below)
        engine = SearchEngine(EngineConfig(storage=backend_config(url)), embedder)
        try:
            if path == "exact":
                engine.upsert(documents)
            before = _hnsw_scans(url)
            found[path] = [
                [h.chunk_id for h in engine.search(SearchQuery(q, 5, mode=SearchMode.DENSE))]
                for q in queries
            ]
        finally:
            engine.close()  # its sessions end, flushing their statistics
        scanned = _hnsw_scans(url) - before
        assert scanned == (len(queries) if path == "hnsw" else 0), path
    assert found["hnsw"] == found["exact"]
