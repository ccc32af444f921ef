"""index/backends/embedded/fts5.py: FTS5 BM25 kept in the store's transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from index.engine import SearchEngine
from index.models import DEFAULT_COLLECTION, DocumentInput, SearchFilters
from index.words import match_expression
from tests.markers import embedded_only

MakeEngine = Callable[..., SearchEngine]


def test_user_text_is_never_fts_syntax() -> None:
    assert match_expression('NEAR(c b) title:x "quoted" pre* -not') == (
        '"near" OR "c" OR "b" OR "title" OR "x" OR "quoted" OR "pre" OR "not"'
    )
    assert match_expression("the of and") == '"the" OR "of" OR "and"'  # only stopwords: keep them
    assert match_expression("  ... !!") is None


def _lexical(
    engine: SearchEngine, query: str, filters: SearchFilters | None = None
) -> list[tuple[str, float]]:
    """(document id, BM25) of the chunks the backend's lexical search finds."""
    with engine._backend.collection(DEFAULT_COLLECTION) as default, default.reading() as view:
        found = view.lexical(query, 10, filters or SearchFilters())
        documents = view.hits([chunk_id for chunk_id, _ in found])
    return [(documents[chunk_id].document_id, score) for chunk_id, score in found]


def test_bm25_with_stemming_title_weight_and_filters(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.upsert(
        [
            DocumentInput(id="a", text="Several bombings shook the city.", source="x"),
            DocumentInput(id="b", text="A quiet day at the market.", title="Bombing report"),
            DocumentInput(id="c", text="Weather was mild and sunny.", source="x"),
        ]
    )
    found = _lexical(engine, "bombing")
    assert {document_id for document_id, _ in found} == {"a", "b"}
    assert all(score > 0 for _, score in found)
    only_x = _lexical(engine, "bombing", SearchFilters(sources=["x"]))
    assert [document_id for document_id, _ in only_x] == ["a"]
    assert _lexical(engine, '"; DROP TABLE chunks; --') == []


def test_lexical_rows_follow_updates_and_deletes(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.upsert([DocumentInput(id="a", text="Volcano erupts in Iceland.")])
    engine.upsert([DocumentInput(id="a", text="Chess tournament opens in Oslo.")])
    assert _lexical(engine, "volcano") == []
    assert len(_lexical(engine, "chess")) == 1
    engine.delete("a")
    assert _lexical(engine, "chess") == []


@embedded_only  # the FTS5 table of a SQLite store
def test_an_older_store_gets_its_lexical_index_rebuilt(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.upsert([DocumentInput(id="a", text="Glacier melt accelerates.", title="Ice")])
    engine.close()
    with sqlite3.connect(engine.config.storage.data_dir / "store.sqlite3") as connection:
        # as a store from before the lexical index (and before its schema was versioned)
        connection.execute("DROP TABLE chunks_fts")
        connection.execute("DROP TABLE alembic_version")
    reopened = make_engine()
    assert len(_lexical(reopened, "glacier ice")) == 1
