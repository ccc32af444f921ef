"""The PostgreSQL backend's schema comes from versioned Alembic migrations: upgrading a fresh
database creates it, upgrading again changes nothing, downgrading removes it, and a database of
an earlier revision keeps its documents through an upgrade."""

from __future__ import annotations

import psycopg
import pytest

from index.backends import backend_config
from index.backends.postgres import schema, urls
from index.embedding import Embedder
from index.engine import EngineConfig, SearchEngine
from index.models import DocumentInput
from index.queries import SearchQuery
from tests.postgres import Postgres

pytestmark = pytest.mark.system  # starts PostgreSQL
HEAD = "0007"


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def _version(url: str) -> str:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert row is not None
    return str(row[0])


def test_migrations_create_upgrade_idempotently_and_downgrade(postgres: Postgres) -> None:
    schema.upgrade(postgres.url)
    assert {"documents", "chunks", "state", "alembic_version"} <= _tables(postgres.url)
    assert _version(postgres.url) == HEAD
    schema.upgrade(postgres.url)  # a second replica starting: nothing to do
    assert _version(postgres.url) == HEAD
    with psycopg.connect(postgres.url) as connection:
        indexes = {
            row[0]
            for row in connection.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'chunks'"
            ).fetchall()
        }
    assert any("hnsw" in i and "vector_cosine_ops" in i for i in indexes)
    assert {"chunk_terms", "lexical_totals"} <= _tables(postgres.url)
    assert {"ingest_jobs", "ingest_job_records", "ingest_job_errors"} <= _tables(postgres.url)
    schema.downgrade(postgres.url, "base")
    assert not {"documents", "chunks", "state", "ingest_jobs"} & _tables(postgres.url)
    schema.upgrade(postgres.url)
    assert {"documents", "chunks", "state"} <= _tables(postgres.url)


@pytest.mark.parametrize("url", ["sqlite:///x", "mysql://u@h/db", "no scheme"])
def test_only_postgresql_urls_are_taken(url: str) -> None:
    with pytest.raises(ValueError, match="postgresql://"):
        urls.check(url)


def test_a_database_from_before_collections_upgrades_into_the_default_one(
    postgres: Postgres, embedder: Embedder
) -> None:
    url = postgres.fresh_database()
    engine = SearchEngine(EngineConfig(storage=backend_config(url)), embedder)
    try:
        engine.upsert([DocumentInput(id="tide", text="Spring tides follow the new moon.")])
        engine.create_collection("other")
        engine.upsert([DocumentInput(id="tide", text="Another tide.")], collection="other")
    finally:
        engine.close()
    schema.downgrade(url, "0003")  # the schema (and the rows) of the release before
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT count(*), min(id) FROM documents").fetchone()
    assert row == (1, "tide")  # the default collection's document; the other one's is gone
    schema.upgrade(url)
    engine = SearchEngine(EngineConfig(storage=backend_config(url)), embedder)
    try:
        assert [c.name for c in engine.collections()] == ["default"]
        hits = engine.search(SearchQuery("when are spring tides", k=1))
        assert [h.citation.document_id for h in hits] == ["tide"]
        assert engine.check().ok
    finally:
        engine.close()
