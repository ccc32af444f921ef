"""The lexical index: SQLite FTS5 over chunk title and text, ranked by BM25.

It lives in the store's own SQLite file and is written in the same transactions as the chunks,
so it can never disagree with them. Rows are keyed by chunk id (the FTS5 rowid).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Any

from sqlalchemy import Connection, Select, column, func, literal_column, select, table, text

TABLE = "chunks_fts"
# Porter stemming over unicode61 ("bombing" finds "bombings", "bomb"); chosen on SciFact, where
# it beat plain unicode61 (see docs/quality.md).
TOKENIZER = "porter unicode61 remove_diacritics 2"
TITLE_WEIGHT = 2.0  # a query term in the title counts this many times one in the body

_WORD = re.compile(r"\w+", re.UNICODE)
# Words that match nearly every chunk: they cost time and carry no ranking signal.
_STOPWORDS = frozenset(
    (  # noqa: SIM905
        "a an and are as at be but by for from has have in into is it its of on or that the their "
        "this to was were which with"
    ).split()
)


def create(connection: Connection) -> None:
    connection.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(title, body, "
        f"tokenize='{TOKENIZER}')"
    )


def insert(connection: Connection, rows: Sequence[tuple[int, str, str]]) -> None:
    """Index (chunk id, title, text) rows."""
    if rows:
        connection.execute(
            text(f"INSERT INTO {TABLE}(rowid, title, body) VALUES (:id, :title, :body)"),
            [{"id": i, "title": title, "body": body} for i, title, body in rows],
        )


def delete(connection: Connection, chunk_ids: Sequence[int]) -> None:
    if chunk_ids:
        connection.execute(
            text(f"DELETE FROM {TABLE} WHERE rowid = :id"), [{"id": i} for i in chunk_ids]
        )


def count(connection: Connection) -> int:
    return int(connection.exec_driver_sql(f"SELECT count(*) FROM {TABLE}").scalar_one())


def clear(connection: Connection) -> None:
    connection.exec_driver_sql(f"DELETE FROM {TABLE}")


def query_words(query: str) -> list[str]:
    """The distinct words of free text a lexical search looks for, lowercased: its content
    words, or every word if it has none but stopwords."""
    words = [w for w in _WORD.findall(query.lower()) if w not in _STOPWORDS]
    if not words:
        words = _WORD.findall(query.lower())
    return list(dict.fromkeys(words))


def match_expression(query: str) -> str | None:
    """An FTS5 query matching any content word of free text; None if it has none.

    Each word is quoted, so user text can never be read as FTS5 syntax (NEAR, *, ^, columns).
    """
    words = query_words(query)
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words) or None


def search(
    connection: Connection, query: str, k: int, allowed: Select[Any] | None
) -> list[tuple[int, float]]:
    """The k best chunks by BM25 as (chunk id, BM25 score >= 0, higher is better).

    ``allowed``, a select of chunk ids, restricts the match inside SQLite before ranking.
    """
    expression = match_expression(query)
    if expression is None:
        return []
    fts = table(TABLE, column("rowid"))
    # FTS5's bm25() is lower-is-better; negate it so that higher is better everywhere.
    score = (-func.bm25(literal_column(TABLE), TITLE_WEIGHT, 1.0)).label("score")
    statement = (
        select(fts.c.rowid, score)
        .where(literal_column(TABLE).op("MATCH")(expression))
        .order_by(score.desc())
        .limit(k)
    )
    if allowed is not None:
        statement = statement.where(fts.c.rowid.in_(allowed))
    rows = connection.execute(statement).all()
    return [(int(chunk_id), float(value)) for chunk_id, value in rows]


def bm25_among(query: str, texts: Sequence[str]) -> list[float]:
    """BM25 of each text for the query, with term statistics taken from the texts themselves.

    Used to weigh a claim's words against a handful of candidate sentences: an in-memory FTS5
    table with the same tokenizer as the index, built and dropped per call.
    """
    expression = match_expression(query)
    if expression is None or not texts:
        return [0.0] * len(texts)
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.execute(f"CREATE VIRTUAL TABLE t USING fts5(body, tokenize='{TOKENIZER}')")
        connection.executemany("INSERT INTO t(rowid, body) VALUES (?, ?)", enumerate(texts))
        scores = dict(
            connection.execute("SELECT rowid, -bm25(t) FROM t WHERE t MATCH ?", (expression,))
        )
    return [max(float(scores.get(i, 0.0)), 0.0) for i in range(len(texts))]
