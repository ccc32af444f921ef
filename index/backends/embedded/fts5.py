"""The store's own lexical index: SQLite FTS5 over chunk title and text, ranked by BM25.

It lives in the collection's SQLite file (the migrations make its table) and is written in the
same transactions as the chunks, so it can never disagree with them. Rows are keyed by chunk id
(the FTS5 rowid). Filtered lexical searches use it, and every lexical search should the
tantivy index (tantivy_index.py) fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, column, func, literal_column, select, table, text

from index.words import match_expression

TABLE = "chunks_fts"
TITLE_WEIGHT = 2.0  # a query term in the title counts this many times one in the body


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
