"""index/lexical.py: FTS5 BM25 kept in the store's transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from index.engine import SearchEngine
from index.lexical import match_expression
from index.models import DocumentInput, SearchFilters

MakeEngine = Callable[..., SearchEngine]


def test_user_text_is_never_fts_syntax() -> None:
    assert match_expression('NEAR(c b) title:x "quoted" pre* -not') == (
        '"near" OR "c" OR "b" OR "title" OR "x" OR "quoted" OR "pre" OR "not"'
    )
    assert match_expression("the of and") == '"the" OR "of" OR "and"'  # only stopwords: keep them
    assert match_expression("  ... !!") is None


def test_bm25_with_stemming_title_weight_and_filters(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.upsert(
        [
            DocumentInput(id="a", text="Several bombings shook the city.", source="x"),
            DocumentInput(id="b", text="A quiet day at the market.", title="Bombing report"),
            DocumentInput(id="c", text="Weather was mild and sunny.", source="x"),
        ]
    )
    found = engine._store.lexical_search("bombing", 10, None)
    assert {engine._store.hits([i])[i][0].document_id for i, _ in found} == {"a", "b"}
    assert all(score > 0 for _, score in found)
    only_x = engine._store.lexical_search("bombing", 10, SearchFilters(sources=["x"]))
    assert [engine._store.hits([i])[i][0].document_id for i, _ in only_x] == ["a"]
    assert engine._store.lexical_search('"; DROP TABLE chunks; --', 10, None) == []


def test_lexical_rows_follow_updates_and_deletes(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.upsert([DocumentInput(id="a", text="Volcano erupts in Iceland.")])
    engine.upsert([DocumentInput(id="a", text="Chess tournament opens in Oslo.")])
    assert engine._store.lexical_search("volcano", 10, None) == []
    assert len(engine._store.lexical_search("chess", 10, None)) == 1
    engine.delete("a")
    assert engine._store.lexical_search("chess", 10, None) == []


def test_an_older_store_gets_its_lexical_index_rebuilt(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.upsert([DocumentInput(id="a", text="Glacier melt accelerates.", title="Ice")])
    engine.close()
    with sqlite3.connect(engine.config.data_dir / "store.sqlite3") as connection:
        connection.execute("DROP TABLE chunks_fts")
    reopened = make_engine()
    assert len(reopened._store.lexical_search("glacier ice", 10, None)) == 1
