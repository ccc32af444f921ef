"""The SQLite store: the source of truth for documents, chunks and chunk vectors.

Every write is one transaction that also bumps a generation counter; the FAISS index records the
generation it was built from, so a stale index file is detected on start and rebuilt from the
vectors kept here, without re-embedding.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import JSON, Column, Connection, Engine, LargeBinary, event, func, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import defer
from sqlmodel import Field, Session, SQLModel, col, create_engine, delete, insert, select
from sqlmodel.sql.expression import SelectOfScalar

from index.backends.embedded import fts5, schema
from index.backends.records import NewChunk, PreparedDocument, exported, sentence_bytes
from index.duplicates import Candidate, Fingerprint, fingerprint_of, link_written
from index.embedding import Vectors
from index.errors import StorageFullError, StorageUnavailableError
from index.iteration import chunked
from index.models import (
    ChunkHit,
    Document,
    DocumentPage,
    DocumentSummary,
    SearchFilters,
    StoredChunk,
    StoredDocument,
)

_GENERATION = "generation"
_LEXICAL_ROWS = (  # each chunk's id, title and text
    "SELECT c.id, d.title, substr(d.text, c.char_start + 1, c.char_end - c.char_start)"
    " FROM chunks c JOIN documents d ON d.id = c.document_id"
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DocumentRow(SQLModel, table=True):
    __tablename__ = "documents"

    id: str = Field(primary_key=True)
    title: str | None = None
    source: str | None = Field(default=None, index=True)
    url: str | None = None
    published_at: date | None = Field(default=None, index=True)
    metadata_json: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON, nullable=False)
    )
    text: str
    content_hash: str
    char_count: int = 0
    chunk_count: int = 0
    format: str | None = None  # the file it was read from ("pdf", "html"...); NULL for text
    # where each page starts in text (a PDF's); NULL: no pages
    page_starts: list[int] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    created_at: datetime = Field(default_factory=_utcnow)
    updated_at: datetime = Field(default_factory=_utcnow)
    # the document this one nearly copies, and its MinHash (index/duplicates.py)
    duplicate_of: str | None = Field(default=None, index=True)
    fingerprint: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class ChunkRow(SQLModel, table=True):
    __tablename__ = "chunks"
    # AUTOINCREMENT: a deleted chunk's id is never handed out again, so a FAISS id always
    # names the same chunk.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    document_id: str = Field(foreign_key="documents.id", index=True)
    chunk_index: int
    char_start: int
    char_end: int
    token_count: int
    sentences: list[list[int]] = Field(sa_column=Column(JSON, nullable=False))
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # One float16 vector per sentence span, from the chunk's own model pass; NULL in stores
    # written before they existed (support then embeds those sentences when asked).
    sentence_vectors: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class StateRow(SQLModel, table=True):
    __tablename__ = "state"

    key: str = Field(primary_key=True)
    value: str


LexicalRow = tuple[int, str, str]  # a chunk's id, its document's title ("" for none), its text


@dataclass(frozen=True)
class WriteResult:
    """What a committed write changed, for the derived indexes to follow."""

    generation: int
    added_rows: list[LexicalRow]  # the added chunks' (id, title, text)
    added_vectors: Vectors  # in added_rows order
    removed_ids: list[int]

    @property
    def added_ids(self) -> list[int]:
        return [chunk_id for chunk_id, _, _ in self.added_rows]


@dataclass(frozen=True)
class StoreConsistency:
    documents: int
    chunk_ids: set[int]
    orphan_chunks: int  # chunks whose document is gone
    miscounted_documents: int  # documents whose chunk_count disagrees with their chunks
    bad_vectors: int  # chunk vectors of the wrong size
    lexical_ids: set[int]  # FTS5 rows (keyed by chunk id)


class SqliteDatabase:
    """Repository over the SQLite file. Thread-safe: each call uses its own session."""

    def __init__(self, path: Path, dimension: int) -> None:
        self.path = path
        self.dimension = dimension
        self._engine = sqlite_engine(path)
        schema.upgrade(self._engine, schema.STORE)
        self._ensure_lexical_index()

    def close(self) -> None:
        self._engine.dispose()

    def _ensure_lexical_index(self) -> None:
        """Refill the FTS5 table from the chunks if it does not match them, in one transaction
        (a store from before the lexical index existed has it empty)."""
        with Session(self._engine) as session, session.begin():
            connection = session.connection()
            chunks = session.exec(select(func.count()).select_from(ChunkRow)).one()
            if fts5.count(connection) == chunks:
                return
            fts5.clear(connection)
            rows = connection.exec_driver_sql(_LEXICAL_ROWS).all()
            fts5.insert(
                connection,
                [(int(chunk_id), title or "", body) for chunk_id, title, body in rows],
            )

    # -- reads ---------------------------------------------------------------------------------

    def generation(self) -> int:
        with Session(self._engine) as session:
            row = session.get(StateRow, _GENERATION)
            return int(row.value) if row else 0

    def get_state(self, key: str) -> str | None:
        with Session(self._engine) as session:
            row = session.get(StateRow, key)
            return row.value if row else None

    def existing(self, ids: Sequence[str]) -> dict[str, StoredDocument]:
        """The stored documents among ``ids``, without their text."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(DocumentRow)
                .where(col(DocumentRow.id).in_(ids))
                .options(defer(DocumentRow.text))  # type: ignore[arg-type]
            )
            return {
                row.id: StoredDocument(**_summary(row), content_hash=row.content_hash)
                for row in rows.all()
            }

    def get_document(self, document_id: str) -> Document | None:
        with Session(self._engine) as session:
            row = session.get(DocumentRow, document_id)
            return None if row is None else Document(**_summary(row), text=row.text)

    def list_documents(self, offset: int, limit: int, source: str | None) -> DocumentPage:
        """A page of documents ordered by id, without their text, and the total count."""
        with Session(self._engine) as session:
            query = select(DocumentRow).options(defer(DocumentRow.text))  # type: ignore[arg-type]
            count = select(func.count()).select_from(DocumentRow)
            if source is not None:
                query = query.where(DocumentRow.source == source)
                count = count.where(DocumentRow.source == source)
            rows = session.exec(query.order_by(DocumentRow.id).offset(offset).limit(limit)).all()
            items = [DocumentSummary(**_summary(row)) for row in rows]
            total = int(session.exec(count).one())
        return DocumentPage(items=items, total=total, offset=offset, limit=limit)

    def counts(self) -> tuple[int, int]:
        """(documents, chunks)."""
        with Session(self._engine) as session:
            return _counts(session)

    def hits(
        self, chunk_ids: Sequence[int], prefixes: bool = False, sentences: bool = False
    ) -> dict[int, ChunkHit]:
        """Search hits by chunk id: one SQL query that slices each chunk's text in SQLite
        (ORM objects with whole document texts cost 3.5 ms for 10 SciFact hits); with
        ``prefixes``, also the document text before each chunk (to count offsets in it); with
        ``sentences``, the chunk's sentence spans and their vectors."""
        marks = ",".join("?" * len(chunk_ids))
        prefix = "substr(d.text, 1, c.char_start)" if prefixes else "NULL"
        spans = "c.sentences, c.sentence_vectors" if sentences else "NULL, NULL"
        with self._engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT c.id, c.chunk_index, c.char_start, c.char_end,"
                " substr(d.text, c.char_start + 1, c.char_end - c.char_start),"
                f" d.id, d.title, d.source, d.url, d.published_at, {prefix}, d.page_starts,"
                f" {spans}"
                f" FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN ({marks})",
                tuple(chunk_ids),
            ).all()
        return {
            int(row[0]): ChunkHit(
                chunk_id=int(row[0]),
                chunk_index=int(row[1]),
                char_start=int(row[2]),
                char_end=int(row[3]),
                text=str(row[4]),
                document_id=str(row[5]),
                title=row[6],
                source=row[7],
                url=row[8],
                published_at=date.fromisoformat(row[9]) if row[9] else None,
                prefix=row[10],
                page_starts=_page_starts(row[11]),
                sentences=tuple((int(a), int(b)) for a, b in json.loads(row[12]))
                if row[12]
                else (),
                sentence_vectors=row[13],
            )
            for row in rows
        }

    def owners(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The document id of each chunk."""
        marks = ",".join("?" * len(chunk_ids))
        with self._engine.connect() as connection:
            rows = connection.exec_driver_sql(
                f"SELECT id, document_id FROM chunks WHERE id IN ({marks})", tuple(chunk_ids)
            ).all()
        return {int(chunk_id): str(document_id) for chunk_id, document_id in rows}

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, tuple[StoredChunk, Document]]:
        """Chunks with their documents, by chunk id, without loading vectors."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(ChunkRow, DocumentRow)
                .join(DocumentRow, col(ChunkRow.document_id) == col(DocumentRow.id))
                .where(col(ChunkRow.id).in_(chunk_ids))
                .options(defer(ChunkRow.vector))  # type: ignore[arg-type]
            ).all()
            documents: dict[str, Document] = {}
            for _, row in rows:  # one Document per document, however many of its chunks hit
                if row.id not in documents:
                    documents[row.id] = Document(**_summary(row), text=row.text)
            return {
                int(chunk.id or 0): (_stored_chunk(chunk), documents[document.id])
                for chunk, document in rows
            }

    def filtered_chunk_ids(self, filters: SearchFilters) -> list[int]:
        """Ids of the chunks whose document passes every filter."""
        with Session(self._engine) as session:
            rows = session.exec(_filtered_chunks(filters)).all()
            return [int(chunk_id) for chunk_id in rows if chunk_id]

    def lexical_search(
        self, query: str, k: int, filters: SearchFilters | None
    ) -> list[tuple[int, float]]:
        """The k best chunks by BM25 among those passing the filters: (chunk id, score)."""
        allowed = None if filters is None or filters.is_empty() else _filtered_chunks(filters)
        with self._engine.connect() as connection:
            return fts5.search(connection, query, k, allowed)

    def consistency(self) -> StoreConsistency:
        """What a consistency check needs from SQLite, read in one transaction."""
        with self._engine.connect() as connection:  # one implicit transaction: one snapshot

            def scalar(sql: str) -> int:
                return int(connection.execute(text(sql)).scalar_one())

            chunk_ids = {int(r[0]) for r in connection.execute(text("SELECT id FROM chunks"))}
            return StoreConsistency(
                documents=scalar("SELECT count(*) FROM documents"),
                chunk_ids=chunk_ids,
                orphan_chunks=scalar(
                    "SELECT count(*) FROM chunks c LEFT JOIN documents d ON d.id = c.document_id"
                    " WHERE d.id IS NULL"
                ),
                miscounted_documents=scalar(
                    "SELECT count(*) FROM documents d WHERE d.chunk_count !="
                    " (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)"
                ),
                bad_vectors=scalar(
                    f"SELECT count(*) FROM chunks WHERE length(vector) != {4 * self.dimension}"
                ),
                lexical_ids={
                    int(r[0]) for r in connection.execute(text(f"SELECT rowid FROM {fts5.TABLE}"))
                },
            )

    def iter_vectors(self, batch: int = 10_000) -> Iterator[tuple[list[int], Vectors]]:
        """All chunk vectors in id order, in batches, for rebuilding the vector index."""
        last = 0
        while True:
            with Session(self._engine) as session:
                rows = session.exec(
                    select(ChunkRow.id, ChunkRow.vector)
                    .where(col(ChunkRow.id) > last)
                    .order_by(col(ChunkRow.id))
                    .limit(batch)
                ).all()
            if not rows:
                return
            ids = [int(chunk_id or 0) for chunk_id, _ in rows]
            vectors = np.frombuffer(b"".join(v for _, v in rows), dtype=np.float32)
            yield ids, vectors.reshape(len(ids), self.dimension)
            last = ids[-1]

    def iter_lexical_rows(self, batch: int = 10_000) -> Iterator[list[LexicalRow]]:
        """Every chunk's (id, title, text) in id order, in batches, for rebuilding a lexical
        index."""
        last = 0
        while True:
            with self._engine.connect() as connection:
                rows = connection.exec_driver_sql(
                    f"{_LEXICAL_ROWS} WHERE c.id > ? ORDER BY c.id LIMIT ?", (last, batch)
                ).all()
            if not rows:
                return
            yield [(int(chunk_id), title or "", body) for chunk_id, title, body in rows]
            last = int(rows[-1][0])

    def ids_last(self) -> bool:
        """Whether a chunk id, once deleted, is never given to another chunk (AUTOINCREMENT),
        so that an id a derived index holds names the chunk it was given for."""
        with self._engine.connect() as connection:
            found = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'chunks'"
            ).scalar()
        return "AUTOINCREMENT" in str(found or "").upper()

    def chunk_id_array(self) -> np.ndarray:
        """Every chunk id, as a sorted int64 array (what a derived index is compared with)."""
        with self._engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT id FROM chunks ORDER BY id")
            return np.fromiter((row[0] for row in rows), dtype=np.int64)

    def vectors_of(self, chunk_ids: Sequence[int]) -> Iterator[tuple[list[int], Vectors]]:
        """The vectors of the given chunks (those that exist), in batches."""
        for part in chunked(chunk_ids, _IN_BATCH):
            with self._engine.connect() as connection:
                rows = connection.exec_driver_sql(
                    f"SELECT id, vector FROM chunks WHERE id IN ({_marks(part)})", tuple(part)
                ).all()
            if rows:
                ids = [int(chunk_id) for chunk_id, _ in rows]
                vectors = np.frombuffer(b"".join(v for _, v in rows), dtype=np.float32)
                yield ids, vectors.reshape(len(ids), self.dimension)

    def lexical_rows_of(self, chunk_ids: Sequence[int]) -> Iterator[list[LexicalRow]]:
        """The (id, title, text) rows of the given chunks (those that exist), in batches."""
        for part in chunked(chunk_ids, _IN_BATCH):
            with self._engine.connect() as connection:
                rows = connection.exec_driver_sql(
                    f"{_LEXICAL_ROWS} WHERE c.id IN ({_marks(part)})", tuple(part)
                ).all()
            yield [(int(chunk_id), title or "", body) for chunk_id, title, body in rows]

    @contextmanager
    def frozen(self) -> Iterator[FrozenDatabase]:
        """The store as it is now, held in one read transaction until the block ends: writes
        go on beside it (WAL) and none of them shows in it."""
        engine = sqlite_engine(self.path, transactional_reads=True)
        try:
            with Session(engine) as session, session.begin():
                frozen = FrozenDatabase(session, self.dimension)
                frozen.counts()  # the first read fixes the snapshot
                yield frozen
        finally:
            engine.dispose()

    def sample_vectors(self, count: int) -> Vectors:
        """``count`` chunk vectors drawn at random (fewer if the store holds fewer)."""
        with self._engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT vector FROM chunks WHERE id IN"
                " (SELECT id FROM chunks ORDER BY random() LIMIT ?)",
                (count,),
            ).all()
        vectors = np.frombuffer(b"".join(row[0] for row in rows), dtype=np.float32)
        return vectors.reshape(len(rows), self.dimension)

    # -- writes --------------------------------------------------------------------------------

    def write(
        self, documents: Sequence[PreparedDocument], deletions: Sequence[str] = ()
    ) -> WriteResult:
        """Upsert documents and delete others in one transaction; all or nothing. The chunks
        are written in a few statements for the whole batch, not a few per document."""
        rechunked = [d for d in documents if d.chunks is not None and d.vectors is not None]
        with storage_errors(), Session(self._engine) as session, session.begin():
            removed_ids = self._delete_chunks(session, [*deletions, *(d.id for d in rechunked)])
            if deletions:
                session.exec(delete(DocumentRow).where(col(DocumentRow.id).in_(deletions)))
            found = session.exec(
                select(DocumentRow).where(col(DocumentRow.id).in_([d.id for d in documents]))
            )
            rows = {row.id: row for row in found}
            written = [(d.id, fingerprint_of(d.text, d.fingerprint)) for d in rechunked]
            prints = {document_id: made.to_bytes() for document_id, made in written}
            for prepared in documents:
                row = rows.get(prepared.id) or DocumentRow(id=prepared.id, text="", content_hash="")
                _update_row(row, prepared)
                if prepared.id in prints:
                    row.fingerprint = prints[prepared.id]
                session.add(row)
            session.flush()  # the documents exist before their chunks refer to them
            duplicates = _SqliteDuplicates(session.connection())
            duplicates.forget([*deletions, *prints])
            known = {d.id: d.duplicate_of for d in rechunked if d.linked}
            link_written(duplicates, written, deletions, known)
            added_rows = self._insert_chunks(session, rechunked)
            generation = self._bump_generation(session)
        vectors = (
            np.concatenate([d.vectors for d in rechunked if d.vectors is not None])
            if rechunked
            else np.zeros((0, self.dimension), dtype=np.float32)
        )
        return WriteResult(generation, added_rows, vectors, removed_ids)

    def set_state(self, key: str, value: str) -> None:
        with storage_errors(), Session(self._engine) as session, session.begin():
            session.merge(StateRow(key=key, value=value))

    def optimize(self) -> None:
        """SQLite's advice after large changes: refresh the planner's statistics where stale."""
        with storage_errors(), self._engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA optimize")

    def _delete_chunks(self, session: Session, document_ids: Sequence[str]) -> list[int]:
        """Delete the chunks of the given documents (and their FTS5 rows); their ids."""
        ids: list[int] = []
        for names in chunked(document_ids, _IN_BATCH):
            found = session.exec(select(ChunkRow.id).where(col(ChunkRow.document_id).in_(names)))
            ids.extend(int(i) for i in found.all() if i is not None)
        for part in chunked(ids, _IN_BATCH):
            session.exec(delete(ChunkRow).where(col(ChunkRow.id).in_(part)))
        fts5.delete(session.connection(), ids)
        return ids

    def _insert_chunks(
        self, session: Session, documents: Sequence[PreparedDocument]
    ) -> list[LexicalRow]:
        """Insert the documents' chunks and their FTS5 rows, in order; returns those rows."""
        values: list[dict[str, Any]] = []
        texts: list[tuple[str, str]] = []
        for prepared in documents:
            assert prepared.chunks is not None and prepared.vectors is not None
            assert prepared.sentence_vectors is not None
            for chunk, vector, sentences in zip(
                prepared.chunks, prepared.vectors, prepared.sentence_vectors, strict=True
            ):
                values.append(
                    {
                        "document_id": prepared.id,
                        "chunk_index": chunk.chunk_index,
                        "char_start": chunk.char_start,
                        "char_end": chunk.char_end,
                        "token_count": chunk.token_count,
                        "sentences": [list(span) for span in chunk.sentences],
                        "vector": vector.astype(np.float32).tobytes(),
                        "sentence_vectors": sentence_bytes(sentences),
                    }
                )
                texts.append(
                    (prepared.title or "", prepared.text[chunk.char_start : chunk.char_end])
                )
        if not values:
            return []
        inserted = session.connection().execute(
            insert(ChunkRow).returning(col(ChunkRow.id), sort_by_parameter_order=True), values
        )
        ids = [int(chunk_id or 0) for chunk_id in inserted.scalars()]
        lexical_rows = [(i, title, body) for i, (title, body) in zip(ids, texts, strict=True)]
        fts5.insert(session.connection(), lexical_rows)
        return lexical_rows

    def _bump_generation(self, session: Session) -> int:
        row = session.get(StateRow, _GENERATION)
        generation = (int(row.value) if row else 0) + 1
        session.merge(StateRow(key=_GENERATION, value=str(generation)))
        return generation


class FrozenDatabase:
    """A store read in one transaction (SqliteDatabase.frozen): its counts and its documents,
    page by page in id order, complete with chunks, vectors and sentence vectors."""

    def __init__(self, session: Session, dimension: int) -> None:
        self._session = session
        self._dimension = dimension

    def counts(self) -> tuple[int, int]:
        """(documents, chunks)."""
        return _counts(self._session)

    def generation(self) -> str:
        row = self._session.get(StateRow, _GENERATION)
        return row.value if row else "0"

    def page(self, after: str | None, limit: int) -> list[PreparedDocument]:
        """Up to ``limit`` documents with ids after ``after`` (None: from the first)."""
        query = select(DocumentRow).order_by(col(DocumentRow.id)).limit(limit)
        if after is not None:
            query = query.where(col(DocumentRow.id) > after)
        documents = self._session.exec(query).all()
        chunks = self._session.exec(
            select(ChunkRow)
            .where(col(ChunkRow.document_id).in_([d.id for d in documents]))
            .order_by(col(ChunkRow.document_id), col(ChunkRow.chunk_index))
        ).all()
        by_document: dict[str, list[tuple[NewChunk, bytes, bytes | None]]] = {}
        for chunk in chunks:
            by_document.setdefault(chunk.document_id, []).append(
                (
                    NewChunk(
                        chunk_index=chunk.chunk_index,
                        char_start=chunk.char_start,
                        char_end=chunk.char_end,
                        token_count=chunk.token_count,
                        sentences=tuple((int(a), int(b)) for a, b in chunk.sentences),
                    ),
                    chunk.vector,
                    chunk.sentence_vectors,
                )
            )
        return [
            exported(
                Document(**_summary(row), text=row.text),
                row.content_hash,
                by_document.get(row.id, []),
                self._dimension,
            )
            for row in documents
        ]


# SQLite primary result codes that mean the disk refused a write (sqlite3.h).
_SQLITE_FULL = 13
_UNWRITABLE = {8: "read-only", 10: "I/O error", 14: "cannot open a file"}


@contextmanager
def storage_errors() -> Iterator[None]:
    """Turn SQLite's disk-full and cannot-write failures into storage errors. SQLite has rolled
    the transaction back by then, so the store is as it was before the write."""
    try:
        yield
    except OperationalError as error:
        cause = error.orig
        code = cause.sqlite_errorcode & 0xFF if isinstance(cause, sqlite3.Error) else None
        if code == _SQLITE_FULL:
            raise StorageFullError("the data directory is full: nothing was written") from error
        if code in _UNWRITABLE:
            raise StorageUnavailableError(
                f"the data directory cannot be written ({_UNWRITABLE[code]}): nothing was written"
            ) from error
        raise


_IN_BATCH = 5_000  # ids per IN (...) list: well inside SQLite's limit on parameters


def _marks(part: Sequence[object]) -> str:
    return ",".join("?" * len(part))


def _counts(session: Session) -> tuple[int, int]:
    """(documents, chunks) as ``session`` sees them."""
    documents = session.exec(select(func.count()).select_from(DocumentRow)).one()
    chunks = session.exec(select(func.count()).select_from(ChunkRow)).one()
    return int(documents), int(chunks)


def _summary(row: DocumentRow) -> dict[str, Any]:
    """A document row's summary fields, as the models' constructors take them."""
    return {
        "id": row.id,
        "title": row.title,
        "source": row.source,
        "url": row.url,
        "published_at": row.published_at,
        "metadata": dict(row.metadata_json),
        "char_count": row.char_count,
        "chunk_count": row.chunk_count,
        "format": row.format,
        "page_starts": tuple(row.page_starts) if row.page_starts is not None else None,
        "duplicate_of": row.duplicate_of,
    }


def _page_starts(stored: str | None) -> tuple[int, ...] | None:
    """A page_starts column read as text: NULL (a store from before it) or JSON null mean none."""
    starts = json.loads(stored) if stored else None
    return tuple(starts) if starts is not None else None


def _stored_chunk(chunk: ChunkRow) -> StoredChunk:
    return StoredChunk(
        id=int(chunk.id or 0),
        document_id=chunk.document_id,
        chunk_index=chunk.chunk_index,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        sentences=tuple((int(a), int(b)) for a, b in chunk.sentences),
        sentence_vectors=chunk.sentence_vectors,
    )


class _SqliteDuplicates:
    """index/duplicates.py's DuplicateIndex inside a write's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def forget(self, document_ids: Sequence[str]) -> None:
        """Drop the band keys of documents deleted or written anew."""
        for part in chunked(list(document_ids), _IN_BATCH):
            self._connection.exec_driver_sql(
                f"DELETE FROM document_bands WHERE document_id IN ({_marks(part)})", tuple(part)
            )

    def candidates(self, keys: Sequence[int], exclude: Sequence[str]) -> list[Candidate]:
        rows = self._connection.exec_driver_sql(
            "SELECT DISTINCT d.id, d.fingerprint, d.duplicate_of FROM document_bands b"
            " JOIN documents d ON d.id = b.document_id"
            f" WHERE b.band_key IN ({_marks(keys)}) AND d.id NOT IN ({_marks(exclude)})"
            " AND d.fingerprint IS NOT NULL",
            (*keys, *exclude),
        ).all()
        return [Candidate(r[0], Fingerprint.from_bytes(r[1]), r[2]) for r in rows]

    def copies_of(self, document_ids: Sequence[str]) -> list[tuple[str, Fingerprint]]:
        found: list[tuple[str, Fingerprint]] = []
        for part in chunked(list(document_ids), _IN_BATCH):
            found += [
                (r[0], Fingerprint.from_bytes(r[1]))
                for r in self._connection.exec_driver_sql(
                    f"SELECT id, fingerprint FROM documents WHERE duplicate_of IN ({_marks(part)})"
                    " AND fingerprint IS NOT NULL",
                    tuple(part),
                ).all()
            ]
        return sorted(found, key=lambda row: row[0])

    def index(self, document_id: str, keys: Sequence[int]) -> None:
        self._connection.exec_driver_sql(
            "INSERT INTO document_bands (band_key, document_id) VALUES (?, ?)",
            [(key, document_id) for key in keys],
        )

    def link(self, document_id: str, original: str | None) -> None:
        self._connection.exec_driver_sql(
            "UPDATE documents SET duplicate_of = ? WHERE id = ?", (original, document_id)
        )


def _update_row(row: DocumentRow, prepared: PreparedDocument) -> None:
    row.title = prepared.title
    row.source = prepared.source
    row.url = prepared.url
    row.published_at = prepared.published_at
    row.metadata_json = dict(prepared.metadata)
    row.text = prepared.text
    row.content_hash = prepared.content_hash
    row.format = prepared.format
    row.page_starts = list(prepared.page_starts) if prepared.page_starts is not None else None
    row.char_count = len(prepared.text)
    if prepared.chunks is not None:
        row.chunk_count = len(prepared.chunks)
    row.updated_at = _utcnow()


def _filtered_chunks(filters: SearchFilters) -> SelectOfScalar[Any]:
    """A select of the ids of chunks whose document passes every filter."""
    query = select(ChunkRow.id).join(DocumentRow, col(ChunkRow.document_id) == col(DocumentRow.id))
    if filters.document_ids is not None:
        query = query.where(col(DocumentRow.id).in_(filters.document_ids))
    if filters.sources is not None:
        query = query.where(col(DocumentRow.source).in_(filters.sources))
    if filters.published_after is not None:
        query = query.where(col(DocumentRow.published_at) >= filters.published_after)
    if filters.published_before is not None:
        query = query.where(col(DocumentRow.published_at) <= filters.published_before)
    for key, value in (filters.metadata or {}).items():
        # A bound JSON path: keys are data, never SQL; index/metadata.py refuses the quotes,
        # backslashes and control characters a quoted path label could not hold.
        path = f'$."{key}"'
        extracted = func.json_extract(col(DocumentRow.metadata_json), path)
        json_type = func.json_type(col(DocumentRow.metadata_json), path)
        query = query.where(extracted == value, json_type.in_(_json_types(value)))
    if filters.exclude_duplicates:
        query = query.where(col(DocumentRow.duplicate_of).is_(None))
    return query


def _json_types(value: object) -> tuple[str, ...]:
    """SQLite's json_type names a stored value may have to equal a filter value: 1 never
    equals true or "1", but 2 equals 2.0 (JSON has one number type; a JavaScript client
    cannot even send 2.0, and SQLite compares the two numerically)."""
    if isinstance(value, bool):
        return ("true",) if value else ("false",)
    if isinstance(value, int | float):
        return ("integer", "real")
    return ("text",)


def sqlite_engine(path: Path, transactional_reads: bool = False) -> Engine:
    """An engine on the SQLite file at ``path``: WAL, full sync, foreign keys. With
    ``transactional_reads``, a transaction begins at once (Python's sqlite3 would begin it
    only at the first write), so every read in it sees one snapshot."""
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
    )
    if transactional_reads:

        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(connection: Any, _record: Any) -> None:
            connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        # WAL lets readers run beside the writer; FULL sync makes a commit survive power loss.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine
