"""PostgreSQL + pgvector behind the storage seam: documents, chunks, vectors and the lexical
index in one database, written in one transaction per batch, searched in one snapshot.

Dense search uses the HNSW cosine index with iterative scans, so a filter still returns k hits
whenever k chunks match, and re-sorts what the relaxed scan order returns (pgvector#862). The
lexical half ranks PostgreSQL full text (`ts_rank_cd` over the weighted title and text).
Not yet wired to a setting, and the fusion is not yet retuned for this lexical score (issue 15).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from index.backends.postgres import schema
from index.embedding import Vectors
from index.models import (
    ChunkHit,
    ConsistencyReport,
    Document,
    DocumentPage,
    DocumentSummary,
    SearchFilters,
    StoredChunk,
    StoredDocument,
)
from index.store import PreparedDocument

_SUMMARY = "d.id, d.title, d.source, d.url, d.published_at, d.metadata, d.char_count, d.chunk_count"
_WORD = re.compile(r"\w+")
_LEXICAL = (
    "setweight(to_tsvector('english', %s), 'A') || setweight(to_tsvector('english', %s), 'B')"
)


def _summary(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "id": row[0],
        "title": row[1],
        "source": row[2],
        "url": row[3],
        "published_at": row[4],
        "metadata": dict(row[5]),
        "char_count": row[6],
        "chunk_count": row[7],
    }


def _where(filters: SearchFilters) -> tuple[str, list[Any]]:
    """A SQL condition on documents ``d`` for ``filters``, and its parameters."""
    clauses: list[str] = ["TRUE"]
    params: list[Any] = []
    if filters.document_ids is not None:
        clauses.append("d.id = ANY(%s)")
        params.append(list(filters.document_ids))
    if filters.sources is not None:
        clauses.append("d.source = ANY(%s)")
        params.append(list(filters.sources))
    if filters.published_after is not None:
        clauses.append("d.published_at >= %s")
        params.append(filters.published_after)
    if filters.published_before is not None:
        clauses.append("d.published_at <= %s")
        params.append(filters.published_before)
    for key, value in (filters.metadata or {}).items():
        if isinstance(value, bool):
            clauses.append("d.metadata -> %s = %s::jsonb")
            params += [key, json.dumps(value)]
        elif isinstance(value, int | float):  # 2 equals 2.0: JSON has one number type
            clauses.append(
                "jsonb_typeof(d.metadata -> %s) = 'number' AND (d.metadata ->> %s)::numeric = %s"
            )
            params += [key, key, value]
        else:
            clauses.append("jsonb_typeof(d.metadata -> %s) = 'string' AND d.metadata ->> %s = %s")
            params += [key, key, value]
    return " AND ".join(clauses), params


def _or_query(text: str) -> str | None:
    """The query's words as an OR of terms (as FTS5 BM25 ranks them here), or None."""
    words = sorted({word.lower() for word in _WORD.findall(text)})
    return " | ".join(f"'{word}'" for word in words) if words else None


class _Snapshot:
    """Reads of one search, in one REPEATABLE READ transaction."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def dense(self, vector: Vectors, k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        where, params = _where(filters)
        self._connection.execute(f"SET LOCAL hnsw.ef_search = {max(40, min(k, 1000))}")
        self._connection.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        rows = self._connection.execute(
            "SELECT c.id, 1 - (c.embedding <=> %s) FROM chunks c JOIN documents d"
            f" ON d.id = c.document_id WHERE {where} ORDER BY c.embedding <=> %s LIMIT %s",
            [vector, *params, vector, k],
        ).fetchall()
        # A relaxed iterative scan can return rows slightly out of order (pgvector#862).
        return sorted(((int(i), float(s)) for i, s in rows), key=lambda r: (-r[1], r[0]))

    def cosines(self, vector: Vectors, chunk_ids: Sequence[int]) -> list[float]:
        rows = self._connection.execute(
            "SELECT id, 1 - (embedding <=> %s) FROM chunks WHERE id = ANY(%s)",
            [vector, list(chunk_ids)],
        ).fetchall()
        found = {int(i): float(s) for i, s in rows}
        return [found.get(chunk_id, 0.0) for chunk_id in chunk_ids]

    def lexical(self, query: str, k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        terms = _or_query(query)
        if terms is None:
            return []
        where, params = _where(filters)
        rows = self._connection.execute(
            "SELECT c.id, ts_rank_cd(c.lexical, q) AS rank FROM chunks c JOIN documents d"
            " ON d.id = c.document_id, to_tsquery('english', %s) q"
            f" WHERE c.lexical @@ q AND {where} ORDER BY rank DESC, c.id LIMIT %s",
            [terms, *params, k],
        ).fetchall()
        return [(int(i), float(s)) for i, s in rows]

    def hits(self, chunk_ids: Sequence[int], prefixes: bool = False) -> dict[int, ChunkHit]:
        prefix = "substr(d.text, 1, c.char_start)" if prefixes else "NULL"
        rows = self._connection.execute(
            "SELECT c.id, c.chunk_index, c.char_start, c.char_end,"
            " substr(d.text, c.char_start + 1, c.char_end - c.char_start),"
            f" d.id, d.title, d.source, d.url, d.published_at, {prefix}"
            " FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY(%s)",
            [list(chunk_ids)],
        ).fetchall()
        return {
            int(r[0]): ChunkHit(
                chunk_id=int(r[0]),
                chunk_index=r[1],
                char_start=r[2],
                char_end=r[3],
                text=r[4],
                document_id=r[5],
                title=r[6],
                source=r[7],
                url=r[8],
                published_at=r[9],
                prefix=r[10],
            )
            for r in rows
        }

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, tuple[StoredChunk, Document]]:
        rows = self._connection.execute(
            "SELECT c.id, c.chunk_index, c.char_start, c.char_end, c.sentences,"
            f" c.sentence_vectors, {_SUMMARY}, d.text"
            " FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY(%s)",
            [list(chunk_ids)],
        ).fetchall()
        out: dict[int, tuple[StoredChunk, Document]] = {}
        documents: dict[str, Document] = {}
        for r in rows:
            document = documents.setdefault(r[6], Document(**_summary(r[6:14]), text=r[14]))
            chunk = StoredChunk(
                id=int(r[0]),
                document_id=document.id,
                chunk_index=r[1],
                char_start=r[2],
                char_end=r[3],
                sentences=tuple((int(a), int(b)) for a, b in r[4]),
                sentence_vectors=bytes(r[5]) if r[5] is not None else None,
            )
            out[chunk.id] = (chunk, document)
        return out


class PostgresBackend:
    """One database at ``url`` (postgresql://...), its schema brought up to date on open."""

    index_type = "hnsw-cosine (pgvector)"
    last_index_build_seconds: float | None = None

    def __init__(self, url: str, dimension: int) -> None:
        schema.upgrade(url)
        self._dimension = dimension
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url, min_size=1, max_size=8, configure=register_vector, open=True
        )

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self._pool.connection() as connection, connection.transaction():
            yield connection

    # -- writes --------------------------------------------------------------------------------

    def write(self, documents: Sequence[PreparedDocument], deletions: Sequence[str]) -> None:
        with self._transaction() as connection:
            if deletions:
                connection.execute("DELETE FROM documents WHERE id = ANY(%s)", [list(deletions)])
            for document in documents:
                self._upsert(connection, document)

    def _upsert(self, connection: psycopg.Connection[Any], document: PreparedDocument) -> None:
        chunk_count = len(document.chunks) if document.chunks is not None else None
        connection.execute(
            "INSERT INTO documents (id, title, source, url, published_at, metadata, text,"
            " content_hash, char_count, chunk_count) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, COALESCE(%s, 0)) ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title,"
            " source = EXCLUDED.source, url = EXCLUDED.url,"
            " published_at = EXCLUDED.published_at, metadata = EXCLUDED.metadata,"
            " text = EXCLUDED.text, content_hash = EXCLUDED.content_hash,"
            " char_count = EXCLUDED.char_count,"
            " chunk_count = COALESCE(%s, documents.chunk_count), updated_at = now()",
            [
                document.id,
                document.title,
                document.source,
                document.url,
                document.published_at,
                Jsonb(document.metadata),
                document.text,
                document.content_hash,
                len(document.text),
                chunk_count,
                chunk_count,
            ],
        )
        if document.chunks is None or document.vectors is None:
            return  # the text is unchanged: its chunks and vectors stay
        assert document.sentence_vectors is not None
        connection.execute("DELETE FROM chunks WHERE document_id = %s", [document.id])
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO chunks (document_id, chunk_index, char_start, char_end, token_count,"
                f" sentences, embedding, sentence_vectors, lexical) VALUES (%s, %s, %s, %s, %s,"
                f" %s, %s, %s, {_LEXICAL})",
                [
                    (
                        document.id,
                        chunk.chunk_index,
                        chunk.char_start,
                        chunk.char_end,
                        chunk.token_count,
                        Jsonb([list(span) for span in chunk.sentences]),
                        np.asarray(vector, dtype=np.float32),
                        np.asarray(sentences, dtype=np.float16).tobytes(),
                        document.title or "",
                        document.text[chunk.char_start : chunk.char_end],
                    )
                    for chunk, vector, sentences in zip(
                        document.chunks, document.vectors, document.sentence_vectors, strict=True
                    )
                ],
            )

    def state(self, key: str) -> str | None:
        with self._transaction() as connection:
            row = connection.execute("SELECT value FROM state WHERE key = %s", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str) -> None:
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO state (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                [key, value],
            )

    # -- reads ---------------------------------------------------------------------------------

    def stored(self, document_ids: Sequence[str]) -> dict[str, StoredDocument]:
        with self._transaction() as connection:
            rows = connection.execute(
                f"SELECT {_SUMMARY}, d.content_hash FROM documents d WHERE d.id = ANY(%s)",
                [list(document_ids)],
            ).fetchall()
        return {r[0]: StoredDocument(**_summary(r), content_hash=r[8]) for r in rows}

    def document(self, document_id: str) -> Document | None:
        with self._transaction() as connection:
            row = connection.execute(
                f"SELECT {_SUMMARY}, d.text FROM documents d WHERE d.id = %s", [document_id]
            ).fetchone()
        return None if row is None else Document(**_summary(row), text=row[8])

    def documents(self, offset: int, limit: int, source: str | None) -> DocumentPage:
        where, params = ("d.source = %s", [source]) if source is not None else ("TRUE", [])
        with self._transaction() as connection:
            rows = connection.execute(
                f"SELECT {_SUMMARY} FROM documents d WHERE {where} ORDER BY d.id"
                " OFFSET %s LIMIT %s",
                [*params, offset, limit],
            ).fetchall()
            total = connection.execute(
                f"SELECT count(*) FROM documents d WHERE {where}", params
            ).fetchone()
        items = [DocumentSummary(**_summary(r)) for r in rows]
        return DocumentPage(
            items=items, total=int(total[0]) if total else 0, offset=offset, limit=limit
        )

    @contextmanager
    def reading(self) -> Iterator[_Snapshot]:
        with self._pool.connection() as connection, connection.transaction():
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield _Snapshot(connection)

    def counts(self) -> tuple[int, int, int]:
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)"
            ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[1])  # every chunk row holds its vector

    # -- operations ----------------------------------------------------------------------------

    def check(self) -> ConsistencyReport:
        with self._transaction() as connection:
            row = connection.execute(
                "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks),"
                " (SELECT count(*) FROM documents d WHERE d.chunk_count !="
                "  (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)),"
                " (SELECT count(*) FROM chunks WHERE vector_dims(embedding) != %s),"
                " (SELECT count(*) FROM chunks WHERE lexical = ''::tsvector)",
                [self._dimension],
            ).fetchone()
        assert row is not None
        documents, chunks, miscounted, bad_vectors, no_lexical = (int(v) for v in row)
        return ConsistencyReport(
            documents=documents,
            chunks=chunks,
            vectors=chunks,
            orphan_chunks=0,  # a foreign key with ON DELETE CASCADE
            miscounted_documents=miscounted,
            bad_vectors=bad_vectors,
            vectors_without_chunk=0,  # the vector is a column of its chunk
            chunks_without_vector=0,  # NOT NULL
            lexical_mismatches=no_lexical,
        )

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the HNSW index from the stored vectors; returns the number of vectors."""
        with self._transaction() as connection:
            connection.execute("REINDEX INDEX chunks_embedding")
        vectors = self.counts()[2]
        if progress is not None:
            progress(vectors)
        return vectors
