"""The storage seam: what the engine needs from a backend, in index/models.py types and the
write records of records.py.

The engine keeps preparation (cleaning, chunking, embedding), fusion and support; a backend
keeps documents, chunks, vectors, the lexical index and the ingest jobs, writes a batch
atomically and answers searches from one consistent snapshot. Each backend is a package with a
configuration object of its own kind whose ``open`` makes it (index/backends/__init__.py): the
embedded one (SQLite + FAISS + tantivy in one data directory) and PostgreSQL + pgvector
(several servers sharing one database).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from index.backends.records import PreparedDocument
from index.embedding import Vectors
from index.jobs.models import JobLimits
from index.jobs.store import JobStore
from index.models import (
    ChunkHit,
    ConsistencyReport,
    Document,
    DocumentPage,
    SearchFilters,
    StoredChunk,
    StoredDocument,
)

if TYPE_CHECKING:
    from index.backends import BackendConfig


@dataclass(frozen=True)
class CollectionEntry:
    """A collection as the catalog knows it, with its counts (a new one's are zero)."""

    name: str
    created_at: datetime
    documents: int = 0
    chunks: int = 0  # each stored with its vector


class SearchView(Protocol):
    """One consistent snapshot of the store for one search: no write falls between calls."""

    def dense(self, vector: Vectors, k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        """The k chunks nearest to ``vector`` among those passing ``filters``: (id, cosine)."""

    def cosines(self, vector: Vectors, chunk_ids: Sequence[int]) -> list[float]:
        """The cosine of ``vector`` with each chunk's stored vector."""

    def lexical(self, query: str, k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        """The k best chunks by BM25 among those passing ``filters``: (id, BM25)."""

    def hits(
        self, chunk_ids: Sequence[int], prefixes: bool = False, sentences: bool = False
    ) -> dict[int, ChunkHit]:
        """Chunk texts and citation fields (and, if asked, the document text before each, and
        each chunk's sentence spans with their stored vectors)."""

    def vectors(self, chunk_ids: Sequence[int]) -> Vectors:
        """The chunks' stored vectors (unit length), one row per id, in order."""

    def owners(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The document id of each chunk."""

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, tuple[StoredChunk, Document]]:
        """Chunks with their sentences and sentence vectors, and their whole documents."""


class ExportView(Protocol):
    """One collection as it was when an export began (StorageBackend.exporting)."""

    def counts(self) -> tuple[int, int]:
        """(documents, chunks)."""

    def generation(self) -> str:
        """Which state of the store this is: the collection's write counter on the embedded
        store, the transaction snapshot (``pg_current_snapshot()``) on PostgreSQL."""

    def page(self, after: str | None, limit: int) -> list[PreparedDocument]:
        """Up to ``limit`` documents with ids after ``after`` (None: from the first), in id
        order, complete with chunks, vectors and sentence vectors: what a copy writes."""


class CollectionStorage(Protocol):
    """One collection's documents, chunks and vectors: every read and write stays inside it
    (the same document id in two collections names two documents)."""

    @property
    def name(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def index_type(self) -> str: ...

    @property
    def last_index_build_seconds(self) -> float | None: ...

    def stored(self, document_ids: Sequence[str]) -> dict[str, StoredDocument]:
        """The stored documents among ``document_ids`` (fields and content hash, no text)."""

    def write(self, documents: Sequence[PreparedDocument], deletions: Sequence[str]) -> None:
        """Upsert ``documents`` and delete ``deletions`` in one transaction, all or nothing.

        Raises:
            CollectionNotFoundError: the collection was deleted meanwhile (nothing written).
        """

    def document(self, document_id: str) -> Document | None: ...

    def documents(self, offset: int, limit: int, source: str | None) -> DocumentPage: ...

    def reading(self) -> AbstractContextManager[SearchView]:
        """A snapshot to search in."""

    def refresh_statistics(self) -> None:
        """After a bulk load: let the store's query planner see what was loaded (PostgreSQL's
        ANALYZE, SQLite's PRAGMA optimize), rather than wait for autovacuum."""

    def counts(self) -> tuple[int, int, int]:
        """(documents, chunks, vectors)."""

    def check(self) -> ConsistencyReport: ...

    def reindex(self, progress: Callable[[int], None] | None = None) -> int: ...


class StorageBackend(Protocol):
    """Named collections of documents, and the store-wide state (seeding, the database)."""

    kind: str  # as /v1/stats names it: "embedded" or "postgresql"

    @property
    def config(self) -> BackendConfig:
        """What the backend was opened from."""

    @property
    def database(self) -> str | None:
        """The shared database, password hidden; None for a store of this process's own."""

    def seeding(self) -> AbstractContextManager[None]:
        """Held while seeding: one server at a time among all that share the store."""

    def collections(self, offset: int = 0, limit: int | None = None) -> list[CollectionEntry]:
        """The collections by name from ``offset``, at most ``limit`` (None: all of them;
        ``default`` always among them), with their counts, read without opening them."""

    def count_collections(self) -> int:
        """How many collections exist, ``default`` included."""

    def collection(self, name: str) -> AbstractContextManager[CollectionStorage]:
        """The collection ``name``, in use until the block ends: deleting it waits for (the
        embedded store) or is isolated from (PostgreSQL) the calls made through it.

        Raises:
            CollectionNotFoundError: no collection has that name.
        """

    def searching(self, name: str) -> AbstractContextManager[SearchView]:
        """A search's reads of collection ``name``, all from one snapshot: what
        ``collection(name)`` then ``reading()`` give, in as few round trips as the store allows.

        Raises:
            CollectionNotFoundError: no collection has that name.
        """

    def create_collection(self, name: str) -> CollectionEntry:
        """Create an empty collection, durably.

        Raises:
            CollectionExistsError: one of that name exists.
            CollectionLimitError: as many collections as the backend allows exist already.
        """

    def drop_collection(self, name: str) -> None:
        """Delete a collection with all its documents, chunks and vectors: whole or not at all.
        Never asked for ``default`` (the engine refuses it, on every backend).

        Raises:
            CollectionNotFoundError: no collection has that name.
        """

    def exporting(self, names: Sequence[str]) -> AbstractContextManager[dict[str, ExportView]]:
        """The named collections as of one moment, to read in the block while writes go on
        beside it. (The embedded backend's collections are separate files: the moment is one
        only if no write commits while the block is entered, as the engine's write lock
        ensures.)

        Raises:
            CollectionNotFoundError: a name that is not a collection.
        """

    def state(self, key: str) -> str | None: ...

    def set_state(self, key: str, value: str) -> None: ...

    def open_jobs(self, limits: JobLimits = ..., clock: Callable[[], float] = ...) -> JobStore:
        """The store's ingest jobs, on the backend's own database and migrations. A backend
        that owns its store alone releases the jobs a crash left running, to be resumed."""

    def close(self) -> None: ...
