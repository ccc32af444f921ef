"""PostgreSQL + pgvector behind the storage seam: documents, chunks, vectors and the lexical
index in one database, written in one transaction per batch, searched in one snapshot.

Dense search uses the HNSW cosine index with iterative scans, so a filter still returns k hits
whenever k chunks match, and re-sorts what the relaxed scan order returns (pgvector#862). The
lexical half is BM25 computed in SQL from a postings table (PostgreSQL's own `ts_rank_cd` has
no inverse document frequency), with the same constants and title weight as FTS5's.
"""

from __future__ import annotations

import json
import logging
import re
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import psycopg
import sqlalchemy.exc
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from index.backends.base import CollectionEntry, ExportView
from index.backends.postgres import MAX_EF_SEARCH, ef_search_for, schema
from index.backends.postgres.config import PostgresConfig
from index.backends.records import NewChunk, PreparedDocument, exported, sentence_bytes
from index.duplicates import Candidate, Fingerprint, fingerprint_of, link_written
from index.embedding import Vectors
from index.errors import (
    CollectionExistsError,
    CollectionLimitError,
    CollectionNotFoundError,
    StorageUnavailableError,
    WriteConflictError,
)
from index.jobs.models import JobLimits
from index.jobs.store import JobStore
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
from index.words import query_words

log = logging.getLogger(__name__)
_SUMMARY = (
    "d.id, d.title, d.source, d.url, d.published_at, d.metadata, d.char_count, d.chunk_count,"
    " d.format, d.page_starts, d.duplicate_of"
)
_AFTER_SUMMARY = 11  # the column after the summary's in a row that starts with them
_WORD = re.compile(r"\w+")
# A chunk's postings: its terms as the `semsearch_english` text search configuration makes them
# (Snowball stemming, every word kept, as the embedded backend's indexes keep them), a title term
# counting twice (as TITLE_WEIGHT does for FTS5).
_POSTINGS = """
    INSERT INTO chunk_terms (collection, term, chunk_id, tf, length)
    SELECT c.collection, t.lexeme, c.id,
           (SELECT sum(CASE w WHEN 'A' THEN 2 ELSE 1 END) FROM unnest(t.weights) AS w),
           c.lexical_length
    FROM chunks c JOIN documents d ON d.collection = c.collection AND d.id = c.document_id,
         unnest(setweight(to_tsvector('semsearch_english', coalesce(d.title, '')), 'A')
                || setweight(to_tsvector('semsearch_english',
                             substr(d.text, c.char_start + 1, c.char_end - c.char_start)), 'B')
         ) AS t
    WHERE c.collection = %s AND c.document_id = %s
"""
_CONNECT_TIMEOUT = 5  # seconds to connect, or to wait for a free pooled connection
_TRUSTED_FOR_S = 1.0  # a connection back in the pool this recently is not pinged again
_SEED_LOCK = 0x5E75EA_0002  # an advisory lock key of our own ("semsea", seeding)
_K1, _B = 1.2, 0.75  # FTS5's bm25() constants
# Collections of at most this many chunks are searched exactly, by a read of their own chunks
# (bench/scale_postgres.py: a collection beside a large one).
EXACT_BELOW = 2_000

# BM25 of every chunk holding a query term, as FTS5 computes it, in one statement: the query's
# terms (the words index/words.py looks for, stemmed as the postings are) with FTS5's idf from
# the number of the collection's chunks holding each (floored at 1e-6 for a term in more than
# half of them), then per term its idf times the saturated frequency normalised by the chunk's
# length against the average, idf * (k1 + 1) * tf / (tf + k1 * (1 - b) + k1 * b / average *
# length), all in float8. Both reads are index-only scans of the term's postings; the weights
# are materialized so the counts run once per term, not per posting. Each term's postings are
# read by an index scan of their own (the lateral subquery's OFFSET 0 keeps the planner from
# turning it into a join, which it did on tables not yet analysed after a bulk load: p50 20 ms
# instead of 1.9 over 2,000 SciFact abstracts). Filters join documents only when there are any.
_BM25 = """
WITH w AS MATERIALIZED (
    SELECT t.term, greatest(ln((%s::float8 - c.n + 0.5) / (c.n + 0.5)), 1e-6) * %s::float8 AS weight
    FROM (SELECT DISTINCT lexeme AS term FROM unnest(to_tsvector('semsearch_english', %s))) t
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM chunk_terms p WHERE p.collection = %s AND p.term = t.term
    ) AS c
    WHERE c.n > 0
)
SELECT p.chunk_id, sum(w.weight * p.tf / (p.tf + %s::float8 + %s::float8 * p.length)) AS score
FROM w CROSS JOIN LATERAL (
    SELECT t.chunk_id, t.tf, t.length FROM chunk_terms t
    WHERE t.collection = %s AND t.term = w.term OFFSET 0
) AS p {join}
WHERE {where}
GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT %s
"""
# A chunk with its document: the same id in another collection is another document.
_WITH_DOCUMENT = "chunks c JOIN documents d ON d.collection = c.collection AND d.id = c.document_id"
_FILTER_JOIN = (
    "JOIN chunks c ON c.id = p.chunk_id"
    " JOIN documents d ON d.collection = c.collection AND d.id = c.document_id"
)


def _reason(error: Exception) -> str:
    """The first line of a driver's message (psycopg's never holds the password)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _unavailable(error: Exception) -> str:
    if isinstance(error, psycopg.errors.QueryCanceled):
        return "the database did not answer in time; retry shortly"
    return "the database is unavailable; retry shortly"


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
        "format": row[8],
        "page_starts": tuple(row[9]) if row[9] is not None else None,
        "duplicate_of": row[10],
    }


def _lexical_length(title: str | None, text: str) -> int:
    """Words in a chunk's title and text: BM25's document length, as FTS5 counts it."""
    return len(_WORD.findall(title or "")) + len(_WORD.findall(text))


@dataclass
class _Totals:
    """How one write changes the corpus totals BM25 needs."""

    chunks: int = 0
    length: int = 0

    def add(self, chunks: int, length: int) -> None:
        self.chunks += chunks
        self.length += length

    def remove(self, lengths: Sequence[Sequence[Any]]) -> None:
        self.add(-len(lengths), -sum(int(row[0]) for row in lengths))


def _fields(document: PreparedDocument) -> list[Any]:
    """A document's column values, in the order the documents table lists them."""
    return [
        document.id,
        document.title,
        document.source,
        document.url,
        document.published_at,
        Jsonb(document.metadata),
        document.text,
        document.content_hash,
        len(document.text),
        document.format,
        None if document.page_starts is None else list(document.page_starts),
    ]


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
    if filters.exclude_duplicates:
        clauses.append("d.duplicate_of IS NULL")
    return " AND ".join(clauses), params


class _Snapshot:
    """Reads of one search in one collection, in one REPEATABLE READ transaction."""

    def __init__(
        self, connection: psycopg.Connection[Any], collection: str, ef_search: int | None
    ) -> None:
        self._connection = connection
        self._collection = collection
        self._ef_search = ef_search

    @cached_property
    def _totals(self) -> tuple[int, int] | None:
        """The collection's chunks and their summed lexical length as of the snapshot; None if
        the collection did not exist when it began (every collection has its row)."""
        row = self._connection.execute(
            "SELECT chunks, length FROM lexical_totals WHERE collection = %s", [self._collection]
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def missing(self) -> bool:
        return self._totals is None

    def _chunks(self) -> int:
        return (self._totals or (0, 0))[0]

    def dense(self, vector: Vectors, k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        where, params = _where(filters)
        chunks = "chunks c" if filters.is_empty() else _WITH_DOCUMENT
        if self._chunks() <= EXACT_BELOW:
            # A small collection is read whole through its own index and sorted: exact, and
            # cheaper than a walk of the HNSW graph all collections share (a tenant of 1,000
            # chunks beside a million searches at its own size).
            rows = self._connection.execute(
                "WITH own AS MATERIALIZED (SELECT c.id, c.embedding <=> %s AS distance"
                f" FROM {chunks} WHERE c.collection = %s AND {where})"
                " SELECT id, 1 - distance FROM own ORDER BY distance, id LIMIT %s",
                [vector, self._collection, *params, k],
            ).fetchall()
            return [(int(i), float(s)) for i, s in rows]
        # A larger one is searched through the HNSW index: chosen here, from the collection's
        # size, rather than by the planner, which prices an HNSW scan at a high ef_search above
        # a full scan and sort (SciFact's 18k chunks: 36 ms instead of 5). Unfiltered, nothing
        # but the index may order the rows; filtered, the planner still weighs the filter's
        # own indexes (a few documents' chunks are better read whole) against the graph.
        wanted = self._ef_search or ef_search_for(self._chunks())
        ef_search = min(max(wanted, k), MAX_EF_SEARCH)
        planner = ["enable_seqscan"] + (["enable_sort"] if filters.is_empty() else [])
        self._connection.execute(
            f"SET LOCAL hnsw.ef_search = {ef_search};"
            " SET LOCAL hnsw.iterative_scan = relaxed_order;"
            + "".join(f" SET LOCAL {name} = off;" for name in planner)
        )
        rows = self._connection.execute(
            f"SELECT c.id, 1 - (c.embedding <=> %s) FROM {chunks}"
            f" WHERE c.collection = %s AND {where} ORDER BY c.embedding <=> %s LIMIT %s",
            [vector, self._collection, *params, vector, k],
        ).fetchall()
        # the snapshot's other reads are planned freely
        self._connection.execute("".join(f"SET LOCAL {name} = on;" for name in planner))
        # A relaxed iterative scan can return rows slightly out of order (pgvector#862).
        return sorted(((int(i), float(s)) for i, s in rows), key=lambda r: (-r[1], r[0]))

    def cosines(self, vector: Vectors, chunk_ids: Sequence[int]) -> list[float]:
        rows = self._connection.execute(
            "SELECT id, 1 - (embedding <=> %s) FROM chunks WHERE collection = %s AND id = ANY(%s)",
            [vector, self._collection, list(chunk_ids)],
        ).fetchall()
        found = {int(i): float(s) for i, s in rows}
        return [found.get(chunk_id, 0.0) for chunk_id in chunk_ids]

    def owners(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        rows = self._connection.execute(
            "SELECT id, document_id FROM chunks WHERE collection = %s AND id = ANY(%s)",
            [self._collection, list(chunk_ids)],
        ).fetchall()
        return {int(chunk_id): str(document_id) for chunk_id, document_id in rows}

    def vectors(self, chunk_ids: Sequence[int]) -> Vectors:
        if not chunk_ids:
            return np.zeros((0, 0), dtype=np.float32)
        rows = self._connection.execute(
            "SELECT id, embedding FROM chunks WHERE collection = %s AND id = ANY(%s)",
            [self._collection, list(chunk_ids)],
        ).fetchall()
        found = {int(i): np.asarray(v.to_numpy(), dtype=np.float32) for i, v in rows}
        return np.vstack([found[i] for i in chunk_ids]).reshape(len(chunk_ids), -1)

    def lexical(self, query: str, k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        chunks, length = self._totals or (0, 0)
        words = " ".join(query_words(query))
        if not chunks or not words:
            return []
        where, params = _where(filters)
        rows = self._connection.execute(
            _BM25.format(join="" if filters.is_empty() else _FILTER_JOIN, where=where),
            [
                chunks,
                _K1 + 1,
                words,
                self._collection,
                _K1 * (1 - _B),
                _K1 * _B / (length / chunks),
                self._collection,
                *params,
                k,
            ],
        ).fetchall()
        return [(int(i), float(s)) for i, s in rows]

    def hits(
        self, chunk_ids: Sequence[int], prefixes: bool = False, sentences: bool = False
    ) -> dict[int, ChunkHit]:
        prefix = "substr(d.text, 1, c.char_start)" if prefixes else "NULL"
        spans = "c.sentences, c.sentence_vectors" if sentences else "NULL, NULL"
        rows = self._connection.execute(
            "SELECT c.id, c.chunk_index, c.char_start, c.char_end,"
            " substr(d.text, c.char_start + 1, c.char_end - c.char_start),"
            f" d.id, d.title, d.source, d.url, d.published_at, {prefix}, d.page_starts, {spans}"
            f" FROM {_WITH_DOCUMENT} WHERE c.collection = %s AND c.id = ANY(%s)",
            [self._collection, list(chunk_ids)],
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
                page_starts=tuple(r[11]) if r[11] is not None else None,
                sentences=tuple((int(a), int(b)) for a, b in r[12]) if r[12] else (),
                sentence_vectors=bytes(r[13]) if r[13] is not None else None,
            )
            for r in rows
        }

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, tuple[StoredChunk, Document]]:
        rows = self._connection.execute(
            "SELECT c.id, c.chunk_index, c.char_start, c.char_end, c.sentences,"
            f" c.sentence_vectors, {_SUMMARY}, d.text"
            f" FROM {_WITH_DOCUMENT} WHERE c.collection = %s AND c.id = ANY(%s)",
            [self._collection, list(chunk_ids)],
        ).fetchall()
        out: dict[int, tuple[StoredChunk, Document]] = {}
        documents: dict[str, Document] = {}
        for r in rows:
            document = documents.setdefault(
                r[6], Document(**_summary(r[6:]), text=r[6 + _AFTER_SUMMARY])
            )
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


class _PostgresDuplicates:
    """index/duplicates.py's DuplicateIndex inside a write's transaction."""

    def __init__(self, connection: psycopg.Connection[Any], collection: str) -> None:
        self._connection = connection
        self._collection = collection

    def forget(self, document_ids: Sequence[str]) -> None:
        """Drop the band keys of documents deleted or written anew."""
        self._connection.execute(
            "DELETE FROM document_bands WHERE collection = %s AND document_id = ANY(%s)",
            [self._collection, list(document_ids)],
        )

    def candidates(self, keys: Sequence[int], exclude: Sequence[str]) -> list[Candidate]:
        rows = self._connection.execute(
            "SELECT DISTINCT d.id, d.fingerprint, d.duplicate_of FROM document_bands b"
            " JOIN documents d ON d.collection = b.collection AND d.id = b.document_id"
            " WHERE b.collection = %s AND b.band_key = ANY(%s) AND NOT d.id = ANY(%s)"
            " AND d.fingerprint IS NOT NULL",
            [self._collection, list(keys), list(exclude)],
        ).fetchall()
        return [Candidate(r[0], Fingerprint.from_bytes(bytes(r[1])), r[2]) for r in rows]

    def copies_of(self, document_ids: Sequence[str]) -> list[tuple[str, Fingerprint]]:
        rows = self._connection.execute(
            "SELECT id, fingerprint FROM documents WHERE collection = %s"
            " AND duplicate_of = ANY(%s) AND fingerprint IS NOT NULL ORDER BY id",
            [self._collection, list(document_ids)],
        ).fetchall()
        return [(r[0], Fingerprint.from_bytes(bytes(r[1]))) for r in rows]

    def index(self, document_id: str, keys: Sequence[int]) -> None:
        with self._connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO document_bands (collection, band_key, document_id)"
                " VALUES (%s, %s, %s)",
                [(self._collection, key, document_id) for key in keys],
            )

    def link(self, document_id: str, original: str | None) -> None:
        self._connection.execute(
            "UPDATE documents SET duplicate_of = %s WHERE collection = %s AND id = %s",
            [original, self._collection, document_id],
        )


class PostgresBackend:
    """One database at ``config.url`` (postgresql://...), its schema brought up to date on open.

    Several servers may share it: nothing here is held in memory between calls, not even which
    collections exist. A database that stops answering makes calls raise
    StorageUnavailableError (the service's 503) until it answers again; every statement is
    bounded by ``statement_timeout`` seconds.
    """

    kind = "postgresql"

    def __init__(self, config: PostgresConfig, dimension: int) -> None:
        self.config = config
        url = self._url = config.url
        self.database = config.location
        self._max_collections = config.max_collections
        self.ef_search = config.ef_search
        self.dimension = dimension
        self._timeout_ms = max(1, round(config.statement_timeout * 1000))
        self._returned_at: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = (
            weakref.WeakKeyDictionary()
        )
        try:
            schema.upgrade(url)
        except (psycopg.Error, sqlalchemy.exc.OperationalError) as error:
            raise StorageUnavailableError(
                f"cannot reach or migrate the database {self.database}: {_reason(error)}"
            ) from error
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=config.pool_size,
            kwargs={"connect_timeout": _CONNECT_TIMEOUT},
            configure=self._configure,
            check=self._check,
            reset=self._returned,
            timeout=_CONNECT_TIMEOUT,
            # The pool's retries back off exponentially up to this; giving up soon means the
            # next request after the database returns connects at once instead of waiting out
            # a backoff that grew while it was away.
            reconnect_timeout=_CONNECT_TIMEOUT,
            open=True,
        )

    def _check(self, connection: psycopg.Connection[Any]) -> None:
        """Ping a connection before handing it out if it sat unused in the pool (a server
        restart leaves dead ones); one just returned is taken as alive, saving a round trip
        per call under load (a dead one then fails its call, a 503, and leaves the pool)."""
        if time.monotonic() - self._returned_at.get(connection, 0.0) > _TRUSTED_FOR_S:
            ConnectionPool.check_connection(connection)

    def _returned(self, connection: psycopg.Connection[Any]) -> None:
        self._returned_at[connection] = time.monotonic()

    def _configure(self, connection: psycopg.Connection[Any]) -> None:
        register_vector(connection)
        connection.execute(f"SET statement_timeout = {self._timeout_ms}")
        connection.commit()

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def transaction(self, snapshot: bool = False) -> Iterator[psycopg.Connection[Any]]:
        """A transaction on a pooled connection (``snapshot``: REPEATABLE READ, read only)."""
        try:
            with self._pool.connection() as connection:
                if snapshot:  # sent with its BEGIN, not as a statement of its own
                    connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                    connection.read_only = True
                try:
                    with connection.transaction():
                        yield connection
                finally:
                    if snapshot and not connection.closed:
                        connection.isolation_level = connection.read_only = None
        except (psycopg.OperationalError, PoolTimeout) as error:
            log.warning("database %s: %s", self.database, _reason(error))
            raise StorageUnavailableError(_unavailable(error)) from error

    def vacuum(self, tables: str) -> None:
        """VACUUM (ANALYZE) ``tables`` on a pooled connection, without the statement timeout (it
        reads every page written since it last ran), as a best effort: the writes it follows are
        committed, and autovacuum would come by anyway, so a failure is logged, not raised."""
        try:
            with self._pool.connection() as connection:
                connection.autocommit = True  # VACUUM cannot run in a transaction
                try:
                    connection.execute("SET statement_timeout = 0")
                    connection.execute(f"VACUUM (ANALYZE) {tables}")
                finally:
                    connection.execute(f"SET statement_timeout = {self._timeout_ms}")
                    connection.autocommit = False
        except (psycopg.Error, PoolTimeout) as error:
            log.warning("database %s: statistics not refreshed: %s", self.database, _reason(error))

    @contextmanager
    def seeding(self) -> Iterator[None]:
        """Held by one server at a time across all that share the database, until released
        or its connection ends (a server that dies mid-seed releases it)."""
        try:
            connection = psycopg.connect(
                self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT
            )
        except psycopg.OperationalError as error:
            raise StorageUnavailableError(_unavailable(error)) from error
        with connection:
            connection.execute("SELECT pg_advisory_lock(%s)", [_SEED_LOCK])
            try:
                yield
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", [_SEED_LOCK])

    # -- the catalog ---------------------------------------------------------------------------

    def collections(self, offset: int = 0, limit: int | None = None) -> list[CollectionEntry]:
        with self.transaction(snapshot=True) as connection:
            rows = connection.execute(
                "SELECT c.name, c.created_at,"
                " (SELECT count(*) FROM documents d WHERE d.collection = c.name),"
                " (SELECT count(*) FROM chunks k WHERE k.collection = c.name)"
                " FROM collections c ORDER BY c.name OFFSET %s LIMIT %s",  # LIMIT NULL: all
                [offset, limit],
            ).fetchall()
        return [
            CollectionEntry(name, created_at, int(d), int(c)) for name, created_at, d, c in rows
        ]

    def count_collections(self) -> int:
        with self.transaction() as connection:
            row = connection.execute("SELECT count(*) FROM collections").fetchone()
        assert row is not None
        return int(row[0])

    @contextmanager
    def collection(self, name: str) -> Iterator[_Collection]:
        """The collection ``name``. Each call through it runs in a transaction of its own: one
        made after another server deleted the collection reads nothing and writes nothing
        (a write raises CollectionNotFoundError)."""
        with self.transaction() as connection:
            found = connection.execute(
                "SELECT created_at FROM collections WHERE name = %s", [name]
            ).fetchone()
        if found is None:
            raise CollectionNotFoundError(name)
        yield _Collection(self, name, found[0])

    @contextmanager
    def searching(self, name: str) -> Iterator[_Snapshot]:
        # The collection is looked up inside the snapshot, not in a transaction of its own.
        with self.transaction(snapshot=True) as connection:
            snapshot = _Snapshot(connection, name, self.ef_search)
            if snapshot.missing():
                raise CollectionNotFoundError(name)
            yield snapshot

    def create_collection(self, name: str) -> CollectionEntry:
        with self.transaction() as connection:
            if self._max_collections is not None:
                # Creations queue on this lock, across every server sharing the database, so
                # two cannot both count room for one; reads and writes inside collections
                # (their FOR SHARE row locks) do not wait for it.
                connection.execute("LOCK TABLE collections IN SHARE ROW EXCLUSIVE MODE")
                exists = connection.execute(
                    "SELECT 1 FROM collections WHERE name = %s", [name]
                ).fetchone()
                if exists is not None:
                    raise CollectionExistsError(name)
                counted = connection.execute("SELECT count(*) FROM collections").fetchone()
                assert counted is not None
                if counted[0] >= self._max_collections:
                    raise CollectionLimitError(self._max_collections)
            row = connection.execute(
                "INSERT INTO collections (name) VALUES (%s) ON CONFLICT (name) DO NOTHING"
                " RETURNING created_at",
                [name],
            ).fetchone()
            if row is None:
                raise CollectionExistsError(name)
            connection.execute(
                "INSERT INTO lexical_totals (collection, chunks, length) VALUES (%s, 0, 0)",
                [name],
            )
        return CollectionEntry(name=name, created_at=row[0])

    def drop_collection(self, name: str) -> None:
        """Delete the collection's row; its documents, chunks, postings and totals go with it
        by cascade, in the same transaction. It waits for writes in flight into it (they hold
        its row), and writes that come after find it gone."""
        with self.transaction() as connection:
            # Removing a large collection takes as long as its rows: bounding it like a request
            # would make it fail every time, the same way.
            connection.execute("SET LOCAL statement_timeout = 0")
            deleted = connection.execute("DELETE FROM collections WHERE name = %s", [name])
            if deleted.rowcount != 1:
                raise CollectionNotFoundError(name)

    # -- store-wide state ----------------------------------------------------------------------

    def state(self, key: str) -> str | None:
        with self.transaction() as connection:
            row = connection.execute("SELECT value FROM state WHERE key = %s", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str) -> None:
        with self.transaction() as connection:
            connection.execute(
                "INSERT INTO state (key, value) VALUES (%s, %s)"
                " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                [key, value],
            )

    @contextmanager
    def exporting(self, names: Sequence[str]) -> Iterator[dict[str, ExportView]]:
        for name in names:
            with self.collection(name):  # exists, or raises before the export begins
                pass
        with self.transaction(snapshot=True) as connection:
            views: dict[str, ExportView] = {
                name: _Export(connection, name, self.dimension) for name in names
            }
            yield views

    def open_jobs(
        self,
        limits: JobLimits = JobLimits(),  # noqa: B008 (frozen)
        clock: Callable[[], float] = time.time,
    ) -> JobStore:
        """The database's ingest jobs. Other servers may be running the jobs marked running:
        a job is taken over only once its lease runs out."""
        return self.config.open_jobs(limits, clock)


def _counts(connection: psycopg.Connection[Any], collection: str) -> tuple[int, int]:
    """(documents, chunks) of ``collection`` as ``connection``'s transaction sees them."""
    row = connection.execute(
        "SELECT (SELECT count(*) FROM documents WHERE collection = %s),"
        " (SELECT count(*) FROM chunks WHERE collection = %s)",
        [collection, collection],
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


class _Export:
    """One collection read in a REPEATABLE READ transaction shared with the others exported
    with it: the database as of one moment."""

    def __init__(
        self, connection: psycopg.Connection[Any], collection: str, dimension: int
    ) -> None:
        self._connection = connection
        self._name = collection
        self._dimension = dimension

    def counts(self) -> tuple[int, int]:
        return _counts(self._connection, self._name)

    def generation(self) -> str:
        row = self._connection.execute("SELECT pg_current_snapshot()::text").fetchone()
        return f"pg_snapshot {row[0]}" if row else "pg_snapshot unknown"

    def page(self, after: str | None, limit: int) -> list[PreparedDocument]:
        connection = self._connection
        rows = connection.execute(
            f"SELECT {_SUMMARY}, d.text, d.content_hash FROM documents d"
            " WHERE d.collection = %s AND (%s::text IS NULL OR d.id > %s)"
            " ORDER BY d.id LIMIT %s",
            [self._name, after, after, limit],
        ).fetchall()
        chunks = connection.execute(
            "SELECT document_id, chunk_index, char_start, char_end, token_count, sentences,"
            " embedding, sentence_vectors FROM chunks"
            " WHERE collection = %s AND document_id = ANY(%s)"
            " ORDER BY document_id, chunk_index",
            [self._name, [r[0] for r in rows]],
        ).fetchall()
        by_document: dict[str, list[tuple[NewChunk, bytes, bytes | None]]] = {}
        for c in chunks:
            chunk = NewChunk(
                chunk_index=c[1],
                char_start=c[2],
                char_end=c[3],
                token_count=c[4],
                sentences=tuple((int(a), int(b)) for a, b in c[5]),
            )
            vector = c[6].to_numpy().astype(np.float32).tobytes()
            sentences = bytes(c[7]) if c[7] is not None else None
            by_document.setdefault(c[0], []).append((chunk, vector, sentences))
        return [
            exported(
                Document(**_summary(r), text=r[_AFTER_SUMMARY]),
                r[_AFTER_SUMMARY + 1],
                by_document.get(r[0], []),
                self._dimension,
            )
            for r in rows
        ]


class _Collection:
    """One collection of the database: every statement names it, so the same document id in
    another collection is never read or written through this one."""

    index_type = "hnsw-cosine (pgvector)"  # one index over every collection's chunks
    last_index_build_seconds: float | None = None

    def __init__(self, backend: PostgresBackend, name: str, created_at: datetime) -> None:
        self._backend = backend
        self._name = name
        self._created_at = created_at

    @property
    def name(self) -> str:
        return self._name

    @property
    def created_at(self) -> datetime:
        return self._created_at

    # -- writes --------------------------------------------------------------------------------

    def write(self, documents: Sequence[PreparedDocument], deletions: Sequence[str]) -> None:
        # The collection's row is locked first, then rows in id order, so two replicas writing
        # overlapping batches queue on the first shared id instead of deadlocking; the totals
        # row is locked last.
        totals = _Totals()
        with self._backend.transaction() as connection:
            self._hold(connection)
            if deletions:
                totals.remove(
                    connection.execute(
                        "DELETE FROM chunks WHERE collection = %s AND document_id = ANY(%s)"
                        " RETURNING lexical_length",
                        [self._name, sorted(deletions)],
                    ).fetchall()
                )
                connection.execute(
                    "DELETE FROM documents WHERE collection = %s AND id = ANY(%s)",
                    [self._name, sorted(deletions)],
                )
            for document in sorted(documents, key=lambda d: d.id):
                self._upsert(connection, document, totals)
            self._link_duplicates(connection, documents, deletions)
            if totals.chunks or totals.length:
                connection.execute(
                    "UPDATE lexical_totals SET chunks = chunks + %s, length = length + %s"
                    " WHERE collection = %s",
                    [totals.chunks, totals.length, self._name],
                )

    def _link_duplicates(
        self,
        connection: psycopg.Connection[Any],
        documents: Sequence[PreparedDocument],
        deletions: Sequence[str],
    ) -> None:
        """Fingerprint the documents with new text and link them, and the copies of those
        deleted, to their originals (index/duplicates.py)."""
        written = [
            (d.id, fingerprint_of(d.text, d.fingerprint)) for d in documents if d.chunks is not None
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE documents SET fingerprint = %s WHERE collection = %s AND id = %s",
                [(made.to_bytes(), self._name, document_id) for document_id, made in written],
            )
        duplicates = _PostgresDuplicates(connection, self._name)
        duplicates.forget([*deletions, *(document_id for document_id, _ in written)])
        known = {d.id: d.duplicate_of for d in documents if d.chunks is not None and d.linked}
        link_written(duplicates, written, deletions, known)

    def _hold(self, connection: psycopg.Connection[Any]) -> None:
        """Keep the collection from being deleted until this transaction ends: a deletion waits
        for the write, and a write that waited for a deletion finds the collection gone
        (rather than failing on a foreign key, or taking a vanished row for a conflict)."""
        held = connection.execute(
            "SELECT 1 FROM collections WHERE name = %s FOR SHARE", [self._name]
        ).fetchone()
        if held is None:
            raise CollectionNotFoundError(self._name)

    def _upsert(
        self, connection: psycopg.Connection[Any], document: PreparedDocument, totals: _Totals
    ) -> None:
        if document.chunks is None:
            self._update_fields(connection, document)
            return
        assert document.vectors is not None and document.sentence_vectors is not None
        connection.execute(
            "INSERT INTO documents (collection, id, title, source, url, published_at, metadata,"
            " text, content_hash, char_count, format, page_starts, chunk_count)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::integer[], %s)"
            " ON CONFLICT (collection, id) DO UPDATE SET title = EXCLUDED.title,"
            " source = EXCLUDED.source, url = EXCLUDED.url,"
            " published_at = EXCLUDED.published_at, metadata = EXCLUDED.metadata,"
            " text = EXCLUDED.text, content_hash = EXCLUDED.content_hash,"
            " char_count = EXCLUDED.char_count, format = EXCLUDED.format,"
            " page_starts = EXCLUDED.page_starts, chunk_count = EXCLUDED.chunk_count,"
            " updated_at = now()",
            [self._name, *_fields(document), len(document.chunks)],
        )
        totals.remove(
            connection.execute(
                "DELETE FROM chunks WHERE collection = %s AND document_id = %s"
                " RETURNING lexical_length",
                [self._name, document.id],
            ).fetchall()
        )
        rows = [
            (
                self._name,
                document.id,
                chunk.chunk_index,
                chunk.char_start,
                chunk.char_end,
                chunk.token_count,
                Jsonb([list(span) for span in chunk.sentences]),
                np.asarray(vector, dtype=np.float32),
                sentence_bytes(sentences),
                _lexical_length(document.title, document.text[chunk.char_start : chunk.char_end]),
            )
            for chunk, vector, sentences in zip(
                document.chunks, document.vectors, document.sentence_vectors, strict=True
            )
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO chunks (collection, document_id, chunk_index, char_start, char_end,"
                " token_count, sentences, embedding, sentence_vectors, lexical_length)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        connection.execute(_POSTINGS, [self._name, document.id])
        totals.add(len(rows), sum(row[-1] for row in rows))

    def _update_fields(
        self, connection: psycopg.Connection[Any], document: PreparedDocument
    ) -> None:
        """Fields of a document whose text is unchanged: only while its stored text is still the
        one this write compared with (another server may have replaced or deleted it since)."""
        updated = connection.execute(
            "UPDATE documents SET title = %s, source = %s, url = %s, published_at = %s,"
            " metadata = %s, format = %s, updated_at = now()"
            " WHERE collection = %s AND id = %s AND content_hash = %s",
            [
                document.title,
                document.source,
                document.url,
                document.published_at,
                Jsonb(document.metadata),
                document.format,
                self._name,
                document.id,
                document.content_hash,
            ],
        )
        if updated.rowcount != 1:
            raise WriteConflictError(f"document {document.id!r} changed during this write")

    # -- reads ---------------------------------------------------------------------------------

    def stored(self, document_ids: Sequence[str]) -> dict[str, StoredDocument]:
        with self._backend.transaction() as connection:
            rows = connection.execute(
                f"SELECT {_SUMMARY}, d.content_hash FROM documents d"
                " WHERE d.collection = %s AND d.id = ANY(%s)",
                [self._name, list(document_ids)],
            ).fetchall()
        return {r[0]: StoredDocument(**_summary(r), content_hash=r[_AFTER_SUMMARY]) for r in rows}

    def document(self, document_id: str) -> Document | None:
        with self._backend.transaction() as connection:
            row = connection.execute(
                f"SELECT {_SUMMARY}, d.text FROM documents d WHERE d.collection = %s AND d.id = %s",
                [self._name, document_id],
            ).fetchone()
        return None if row is None else Document(**_summary(row), text=row[_AFTER_SUMMARY])

    def documents(self, offset: int, limit: int, source: str | None) -> DocumentPage:
        where, params = ("d.source = %s", [source]) if source is not None else ("TRUE", [])
        with self._backend.transaction() as connection:
            rows = connection.execute(
                f"SELECT {_SUMMARY} FROM documents d WHERE d.collection = %s AND {where}"
                " ORDER BY d.id OFFSET %s LIMIT %s",
                [self._name, *params, offset, limit],
            ).fetchall()
            total = connection.execute(
                f"SELECT count(*) FROM documents d WHERE d.collection = %s AND {where}",
                [self._name, *params],
            ).fetchone()
        items = [DocumentSummary(**_summary(r)) for r in rows]
        return DocumentPage(
            items=items, total=int(total[0]) if total else 0, offset=offset, limit=limit
        )

    @contextmanager
    def reading(self) -> Iterator[_Snapshot]:
        with self._backend.transaction(snapshot=True) as connection:
            yield _Snapshot(connection, self._name, self._backend.ef_search)

    def refresh_statistics(self) -> None:
        # Whole tables (statistics are per table, not per collection): ANALYZE samples a fixed
        # number of rows, and VACUUM reads only the pages changed since it last ran, marking
        # them all-visible so the postings are read by index-only scans (a fresh load's pages
        # otherwise send every posting to the heap until autovacuum comes by).
        self._backend.vacuum("documents, chunks, chunk_terms, document_bands")

    def counts(self) -> tuple[int, int, int]:
        with self._backend.transaction() as connection:
            documents, chunks = _counts(connection, self._name)
        return documents, chunks, chunks  # every chunk row holds its vector

    # -- operations ----------------------------------------------------------------------------

    def check(self) -> ConsistencyReport:
        with self._backend.transaction() as connection:
            row = connection.execute(
                "SELECT (SELECT count(*) FROM documents WHERE collection = %(c)s),"
                " (SELECT count(*) FROM chunks WHERE collection = %(c)s),"
                " (SELECT count(*) FROM documents d WHERE d.collection = %(c)s"
                "  AND d.chunk_count != (SELECT count(*) FROM chunks c"
                "  WHERE c.collection = d.collection AND c.document_id = d.id)),"
                " (SELECT count(*) FROM chunks"
                "  WHERE collection = %(c)s AND vector_dims(embedding) != %(dimension)s),"
                # the BM25 totals against what they total (no totals row: all of them wrong)
                " coalesce((SELECT (t.chunks != (SELECT count(*) FROM chunks"
                "  WHERE collection = %(c)s))::int + (t.length != (SELECT"
                "  coalesce(sum(lexical_length), 0) FROM chunks WHERE collection = %(c)s))::int"
                "  FROM lexical_totals t WHERE t.collection = %(c)s), 2)",
                {"c": self._name, "dimension": self._backend.dimension},
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
        """Rebuild the HNSW index from the stored vectors; returns the number of this
        collection's vectors (the index is one over all collections: all are rebuilt)."""
        with self._backend.transaction() as connection:
            connection.execute("REINDEX INDEX chunks_embedding")
        vectors = self.counts()[2]
        if progress is not None:
            progress(vectors)
        return vectors
