"""The engine's behaviour on each storage backend: the embedded SQLite + FAISS one and
PostgreSQL + pgvector (a fresh database per test on the tests' own server). The first steps of
running the engine suite on both (issue 15)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest

from index.backends.postgres.backend import PostgresBackend
from index.embedding import Embedder
from index.engine import EngineConfig, SearchEngine
from index.errors import DocumentNotFoundError
from index.models import DocumentInput, SearchFilters, SearchMode, UpsertStatus
from tests.postgres import Postgres

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


def _database(server: Postgres) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["embedded", "postgres"])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder
) -> Iterator[SearchEngine]:
    config = EngineConfig(data_dir=tmp_path / "data")
    backend = None
    if request.param == "postgres":
        server: Postgres = request.getfixturevalue("postgres")
        backend = PostgresBackend(_database(server), embedder.dimension)
    opened = SearchEngine(config, embedder, backend=backend)
    opened.upsert(DOCUMENTS)
    yield opened
    opened.close()


def _ids(engine: SearchEngine, query: str, **kwargs: object) -> list[str]:
    return [h.citation.document_id for h in engine.search(query, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", list(SearchMode))
def test_every_citation_is_exact_and_the_right_document_comes_first(
    engine: SearchEngine, mode: SearchMode
) -> None:
    hits = engine.search("rescue boats after the river flooded", k=5, mode=mode)
    assert hits and hits[0].citation.document_id == "flood"
    for hit in hits:
        text = engine.get(hit.citation.document_id).text
        assert text[hit.citation.char_start : hit.citation.char_end] == hit.text
        assert 0.0 <= hit.score <= 1.0


def test_upsert_statuses_and_reads(engine: SearchEngine) -> None:
    assert {r.status for r in engine.upsert(DOCUMENTS)} == {UpsertStatus.UNCHANGED}
    changed = [DocumentInput(**{**vars(DOCUMENTS[1]), "metadata": {"lang": "no"}})]
    assert engine.upsert(changed)[0].status is UpsertStatus.UPDATED
    assert engine.get("chess").metadata == {"lang": "no"}
    page = engine.list_documents(offset=1, limit=1)
    assert page.total == 3 and [d.id for d in page.items] == ["flood"]
    assert [d.id for d in engine.list_documents(source="Wire").items] == ["flood", "volcano"]
    stats = engine.stats()
    assert stats.documents == 3 and stats.chunks == stats.vectors > 0
    assert engine.check().ok


def test_a_new_text_replaces_the_chunks_and_delete_removes_them(engine: SearchEngine) -> None:
    engine.upsert([DocumentInput(id="chess", text="Glaciers retreat in the Alps every summer.")])
    assert "chess" in _ids(engine, "glaciers retreating in the Alps", k=3)
    assert "chess" not in _ids(engine, "chess tournament in Oslo", k=3, mode=SearchMode.LEXICAL)
    engine.delete("chess")
    with pytest.raises(DocumentNotFoundError):
        engine.get("chess")
    assert "chess" not in _ids(engine, "glaciers retreating in the Alps", k=3)
    assert engine.check().ok


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(sources=["Wire"]), {"flood", "volcano"}),
        (SearchFilters(published_after=date(2025, 4, 1)), {"chess"}),
        (SearchFilters(document_ids=["volcano"]), {"volcano"}),
        (SearchFilters(metadata={"weight": 2}), {"flood"}),  # 2 finds 2.0
        (SearchFilters(metadata={"weight": 3.0}), {"chess"}),
        (SearchFilters(metadata={"reviewed": True}), {"flood"}),
        (SearchFilters(metadata={"lang": "is"}), {"volcano"}),
        (SearchFilters(metadata={"weight": "2"}), set()),  # a string never equals a number
    ],
)
def test_filters_apply_before_ranking_in_every_mode(
    engine: SearchEngine, filters: SearchFilters, expected: set[str]
) -> None:
    for mode in SearchMode:
        query = "the" if mode is not SearchMode.LEXICAL else "the in"
        found = set(_ids(engine, query, k=10, filters=filters, mode=mode))
        if mode is SearchMode.LEXICAL:
            assert found <= expected
        else:  # dense ranks every chunk that passes: all of them come back
            assert found == expected


def test_support_cites_its_evidence_exactly(engine: SearchEngine) -> None:
    result = engine.support("Residents had to leave before noon because of the flood.", k=2)
    assert result.passages and result.passages[0].citation.document_id == "flood"
    for passage in result.passages:
        text = engine.get(passage.citation.document_id).text
        for evidence in passage.evidence:
            assert text[evidence.char_start : evidence.char_end] == evidence.text
    assert "leave by noon" in result.passages[0].evidence[0].text


def test_reindex_keeps_every_vector(engine: SearchEngine) -> None:
    before = engine.stats().vectors
    progressed: list[int] = []
    assert engine.reindex(progress=progressed.append) == before
    assert sum(progressed) == before
    assert _ids(engine, "volcano eruption in Iceland", k=1) == ["volcano"]


def test_seeding_happens_only_into_an_empty_store(engine: SearchEngine) -> None:
    assert engine.seed(DOCUMENTS) is None
