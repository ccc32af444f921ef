"""The embedded backend: SQLite (the source of truth) and FAISS (a derived cache) in one data
directory that one process owns.

A write is committed to SQLite in one transaction, then applied to the vector index under a
readers-writer lock that searches share, so a reader never sees half a batch; then the index
file is saved with the store generation it reflects. A missing, damaged or stale file is
rebuilt from the vectors SQLite keeps, without re-embedding.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from index.embedding import Vectors
from index.errors import StorageError
from index.lock import DataDirLock
from index.models import (
    ChunkHit,
    ConsistencyReport,
    Document,
    DocumentPage,
    SearchFilters,
    StoredChunk,
    StoredDocument,
)
from index.rwlock import ReadWriteLock
from index.store import PreparedDocument, Store
from index.vectors import VectorIndex, temporary_path, training_size

log = logging.getLogger(__name__)


class _Snapshot:
    """Reads of one search, taken while the backend's read lock is held."""

    def __init__(self, store: Store, index: VectorIndex) -> None:
        self._store = store
        self._index = index
        self._allowed: tuple[SearchFilters, list[int]] | None = None  # the last filter's chunks

    def _allowed_ids(self, filters: SearchFilters) -> list[int] | None:
        if filters.is_empty():
            return None
        if self._allowed is None or self._allowed[0] is not filters:
            self._allowed = (filters, self._store.filtered_chunk_ids(filters))
        return self._allowed[1]

    def dense(self, vector: Vectors, k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        return self._index.search(vector, k, self._allowed_ids(filters))

    def cosines(self, vector: Vectors, chunk_ids: Sequence[int]) -> list[float]:
        return self._index.cosines(vector, chunk_ids)

    def lexical(self, query: str, k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        return self._store.lexical_search(query, k, None if filters.is_empty() else filters)

    def hits(self, chunk_ids: Sequence[int], prefixes: bool = False) -> dict[int, ChunkHit]:
        return self._store.hit_rows(chunk_ids, prefixes)

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, tuple[StoredChunk, Document]]:
        return self._store.hits(chunk_ids)


def store_path(data_dir: Path) -> Path:
    """The SQLite file of the store in ``data_dir``."""
    return data_dir / "store.sqlite3"


class EmbeddedBackend:
    """SQLite + FAISS in ``data_dir``; ``ivf_min_vectors`` chunks switch the index to IVF."""

    def __init__(self, data_dir: Path, dimension: int, ivf_min_vectors: int) -> None:
        self._dimension = dimension
        self._ivf_min_vectors = ivf_min_vectors
        _make_private(data_dir)
        self._data_lock = DataDirLock(data_dir)  # raises if another process has it
        self._index_path = data_dir / "vectors.faiss"
        self._lock = ReadWriteLock()
        self._last_build: float | None = None  # None: loaded, never rebuilt
        try:
            self._store = Store(store_path(data_dir), dimension)
            self._index = self._load_index()
        except BaseException:
            self._data_lock.release()
            raise

    database = None  # the data directory is this process's own

    @property
    def index_type(self) -> str:
        return self._index.index_type

    @contextmanager
    def seeding(self) -> Iterator[None]:
        """Nothing to take: the data-directory lock already makes this process the only one."""
        yield

    @property
    def last_index_build_seconds(self) -> float | None:
        return self._last_build

    def close(self) -> None:
        """Close the store and release the data directory. The vector index needs no save
        here: every write saved it."""
        with self._lock.writing():
            self._store.close()
            self._data_lock.release()

    # -- writes --------------------------------------------------------------------------------

    def write(self, documents: Sequence[PreparedDocument], deletions: Sequence[str]) -> None:
        """Commit to SQLite and move the vector index in step, under the search lock; then save.

        The engine runs one writer at a time. Saving only reads the index, as searches do, so
        it runs outside the search lock; a crash before it ends leaves a stale file, rebuilt on
        start.
        """
        with self._lock.writing():
            written = self._store.write(documents, deletions)
            self._index.remove(written.removed_ids)
            self._index.add(written.added_ids, written.added_vectors)
        if self._outgrown(self._index):
            log.info("%d vectors: rebuilding the vector index as IVF", len(self._index))
            index = self._rebuilt_index()  # the engine's write lock keeps the store still
            with self._lock.writing():
                self._index = index
        self._save_index(self._index, written.generation)

    def state(self, key: str) -> str | None:
        return self._store.get_state(key)

    def export(self, after: str | None, limit: int) -> list[PreparedDocument]:
        return self._store.export(after, limit)

    def set_state(self, key: str, value: str) -> None:
        self._store.set_state(key, value)

    # -- reads ---------------------------------------------------------------------------------

    def stored(self, document_ids: Sequence[str]) -> dict[str, StoredDocument]:
        return self._store.existing(document_ids)

    def document(self, document_id: str) -> Document | None:
        return self._store.get_document(document_id)

    def documents(self, offset: int, limit: int, source: str | None) -> DocumentPage:
        return self._store.list_documents(offset, limit, source)

    @contextmanager
    def reading(self) -> Iterator[_Snapshot]:
        with self._lock.reading():
            yield _Snapshot(self._store, self._index)

    def counts(self) -> tuple[int, int, int]:
        documents, chunks = self._store.counts()
        with self._lock.reading():
            return documents, chunks, len(self._index)

    # -- operations ----------------------------------------------------------------------------

    def check(self) -> ConsistencyReport:
        """Compare the store with itself and with the vector index (documents, chunks, vectors,
        FTS rows, orphans); ``report.ok`` is False on any mismatch. Call it with no write
        running (the engine's write lock)."""
        with self._lock.reading():  # no commit in between the two reads
            store = self._store.consistency()
            indexed = self._index.ids()
        return ConsistencyReport(
            documents=store.documents,
            chunks=len(store.chunk_ids),
            vectors=len(indexed),
            orphan_chunks=store.orphan_chunks,
            miscounted_documents=store.miscounted_documents,
            bad_vectors=store.bad_vectors,
            vectors_without_chunk=len(indexed - store.chunk_ids),
            chunks_without_vector=len(store.chunk_ids - indexed),
            lexical_mismatches=len(store.lexical_ids ^ store.chunk_ids),
        )

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the vector index from the vectors stored in SQLite (no re-embedding) and save
        it; returns the number of vectors. ``progress`` is called with each batch's size."""
        generation = self._store.generation()
        rebuilt = self._rebuilt_index(progress)
        try:
            rebuilt.save(self._index_path, generation)
        except OSError as error:
            raise StorageError(f"could not save the vector index: {error}") from error
        with self._lock.writing():
            self._index = rebuilt
        return len(rebuilt)

    # -- the vector index's life ---------------------------------------------------------------

    def _save_index(self, index: VectorIndex, generation: int) -> None:
        """Save the index file. The write it follows is already durable in SQLite, so a failed
        save (a full disk) only leaves a stale file, which the next start rebuilds."""
        try:
            index.save(self._index_path, generation)
        except OSError as error:
            log.error(
                "could not save the vector index (%s); serving from memory, the file is "
                "rebuilt from the store on the next start",
                error,
            )

    def _load_index(self) -> VectorIndex:
        """The saved index if it matches the store's generation; otherwise rebuilt from SQLite."""
        generation = self._store.generation()
        leftover = temporary_path(self._index_path)
        if leftover.exists():
            log.warning("removing %s, a vector index save cut off by a crash", leftover)
            leftover.unlink()
        loaded = VectorIndex.load(self._index_path, self._dimension)
        if loaded is not None and loaded[1] == generation:
            if not self._outgrown(loaded[0]):
                return loaded[0]
            log.info("%d vectors: rebuilding the vector index as IVF", len(loaded[0]))
        if loaded is not None:
            log.warning(
                "vector index is at generation %d, store at %d: rebuilding", loaded[1], generation
            )
        elif generation or self._index_path.exists():  # a new data dir has nothing to rebuild
            log.warning("vector index %s is missing or unreadable: rebuilding", self._index_path)
        index = self._rebuilt_index()
        self._save_index(index, generation)
        return index

    def _outgrown(self, index: VectorIndex) -> bool:
        """An exact index past ``ivf_min_vectors``, or an IVF index that has grown to four times
        the size its lists were trained for (each list then holds 4x the vectors a search
        should scan)."""
        if index.is_exact:
            return len(index) >= self._ivf_min_vectors
        return len(index) > 4 * index.trained_for

    def _rebuilt_index(self, progress: Callable[[int], None] | None = None) -> VectorIndex:
        """A new index of every vector in the store (no embedding): exact, or IVF trained on a
        sample of the store's vectors from ``ivf_min_vectors`` chunks on."""
        started = time.perf_counter()
        count = self._store.counts()[1]
        index = (
            VectorIndex(self._dimension)
            if count < self._ivf_min_vectors
            else VectorIndex.clustered(
                self._dimension, self._store.sample_vectors(training_size(count))
            )
        )
        for ids, vectors in self._store.iter_vectors():
            index.add(ids, vectors)
            if progress is not None:
                progress(len(ids))
        self._last_build = time.perf_counter() - started
        log.info(
            "vector index rebuilt from the store: %d vectors, %s, %.1f s",
            len(index),
            index.index_type,
            self._last_build,
        )
        return index


def _make_private(directory: Path) -> None:
    """The data directory holds every document: a new one is the owner's alone (0700), and
    an existing one loses any access for others (a group the operator granted stays)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = directory.stat().st_mode & 0o777
    if mode & 0o007:
        try:
            directory.chmod(mode & ~0o007)
        except OSError as error:
            log.warning("data directory %s is open to others (%o): %s", directory, mode, error)
