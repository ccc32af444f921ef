"""The embedded backend: SQLite (the source of truth), FAISS and tantivy (derived caches) in
one data directory that one process owns.

A write is committed to SQLite in one transaction (durable from then on), then applied to the
vector index in memory and to the top-k lexical index (committed) under a readers-writer lock
that searches share, so a reader never sees half a batch. The vector index file is not written
by the write: it is saved in the background once enough changes have piled up (saver.py), and
when the collection closes, with the store generation it reflects. A start finds a file that
lags the store (a crash since its last save) and brings it up to date from the chunks SQLite
holds: the chunk ids in one and not the other, since chunk ids are never reused. A missing or
damaged cache is rebuilt from the store; nothing is re-embedded. Should the lexical index fail,
lexical search falls back to the store's own FTS5 index, which filtered searches use anyway.
"""

from __future__ import annotations

import bisect
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from index.backends.base import CollectionEntry, ExportView, SearchView
from index.backends.embedded.catalog import CREATED_AT, Summary, SummaryCache, read_summary
from index.backends.embedded.config import STORE_FILE, EmbeddedConfig
from index.backends.embedded.database import FrozenDatabase, SqliteDatabase, WriteResult
from index.backends.embedded.lock import DataDirLock
from index.backends.embedded.opened import OpenCollections
from index.backends.embedded.rwlock import ReadWriteLock
from index.backends.embedded.saver import SAVE_AFTER_CHANGES, IndexSaver
from index.backends.embedded.tantivy_index import TantivyIndex
from index.backends.embedded.vectors import (
    VectorIndex,
    publish,
    temporary_path,
    training_size,
)
from index.backends.records import PreparedDocument
from index.durable import fsync_directory
from index.embedding import Vectors
from index.errors import (
    CollectionExistsError,
    CollectionLimitError,
    CollectionNotFoundError,
    StorageError,
)
from index.jobs.models import JobLimits
from index.jobs.store import JobStore
from index.models import (
    COLLECTION_NAME_PATTERN,
    DEFAULT_COLLECTION,
    ChunkHit,
    ConsistencyReport,
    Document,
    DocumentPage,
    SearchFilters,
    StoredChunk,
    StoredDocument,
)

log = logging.getLogger(__name__)
_COLLECTIONS = "collections"  # the directory other collections than the default live in
_COLLECTION_NAME = re.compile(COLLECTION_NAME_PATTERN)
# What tantivy raises when its files cannot be read or written.
_BM25_ERRORS = (OSError, ValueError, RuntimeError)


class _Snapshot:
    """Reads of one search, taken while the backend's read lock is held."""

    def __init__(
        self, store: SqliteDatabase, index: VectorIndex, bm25: TantivyIndex | None
    ) -> None:
        self._store = store
        self._index = index
        self._bm25 = bm25
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

    def vectors(self, chunk_ids: Sequence[int]) -> Vectors:
        return self._index.vectors(chunk_ids)

    def owners(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        return self._store.owners(chunk_ids)

    def lexical(self, query: str, k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        if filters.is_empty() and self._bm25 is not None:
            try:
                return self._bm25.search(query, k)
            except _BM25_ERRORS as error:  # damage found only now: the next start rebuilds
                log.error("the lexical index failed (%s): answering from FTS5", error)
                self._bm25.invalidate()
        # FTS5 restricts the match to the filter's chunks inside SQLite, before ranking
        return self._store.lexical_search(query, k, None if filters.is_empty() else filters)

    def hits(
        self, chunk_ids: Sequence[int], prefixes: bool = False, sentences: bool = False
    ) -> dict[int, ChunkHit]:
        return self._store.hits(chunk_ids, prefixes, sentences)

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, tuple[StoredChunk, Document]]:
        return self._store.passages(chunk_ids)


class EmbeddedCollection:
    """One collection: a SQLite store and its FAISS index in ``directory``;
    ``ivf_min_vectors`` chunks switch the index to IVF. An index per collection keeps a
    search's cost that of its own collection, whatever others hold beside it.

    The index file is saved by ``saver`` (or, without one, by the write itself) once the
    changes since its last save reach ``save_after_changes`` or a quarter of the index, so a
    start after a crash applies at most that many from the store."""

    def __init__(
        self,
        directory: Path,
        name: str,
        dimension: int,
        ivf_min_vectors: int,
        on_write: Callable[[], None] | None = None,
        saver: IndexSaver | None = None,
        save_after_changes: int = SAVE_AFTER_CHANGES,
    ) -> None:
        self.name = name
        self.directory = directory
        self._dimension = dimension
        self._ivf_min_vectors = ivf_min_vectors
        self._index_path = directory / "vectors.faiss"
        self._bm25_path = directory / "lexical"
        self._lock = ReadWriteLock()  # searches share it; applying a write takes it alone
        self._life = ReadWriteLock()  # calls in flight share it; closing takes it alone
        self._closed = False
        self._users = 0  # calls in flight (guarded by _counting)
        self._counting = threading.Lock()
        self._used_at = time.monotonic()  # when the last call ended
        self._on_write = on_write  # told after every write (the backend's cached counts)
        self._last_build: float | None = None  # None: loaded, never rebuilt
        self._saver = saver
        self._save_after_changes = save_after_changes
        self._saving = threading.Lock()  # one save of the index file at a time
        self._applied = 0  # the store generation the index in memory reflects
        self._unsaved = 0  # changes applied to it since its file was saved
        self._store = SqliteDatabase(directory / STORE_FILE, dimension)
        self._bm25: TantivyIndex | None = None
        try:
            self._index = self._load_index()
            self._bm25 = self._loaded_bm25()
            created = self._store.get_state(CREATED_AT)
            if created is None:  # a store from before collections: it was made by now
                created = datetime.now(UTC).isoformat()
                self._store.set_state(CREATED_AT, created)
            self.created_at = datetime.fromisoformat(created)
        except BaseException:
            self._close_bm25()
            self._store.close()
            raise
        self._save_if_due()  # what a start caught up with is saved soon

    @property
    def index_type(self) -> str:
        return self._index.index_type

    @property
    def last_index_build_seconds(self) -> float | None:
        return self._last_build

    @contextmanager
    def in_use(self) -> Iterator[bool]:
        """Keep the collection open for the block: closing it waits until the block ends.
        Yields False (and keeps nothing) if it was closed before the block began."""
        with self._life.reading():
            if self._closed:
                yield False
                return
            with self._counting:
                self._users += 1
            try:
                yield True
            finally:
                with self._counting:
                    self._users -= 1
                    self._used_at = time.monotonic()

    def idle_seconds(self) -> float | None:
        """Seconds since the last call through it ended; None while one is in flight."""
        with self._counting:
            return None if self._users else time.monotonic() - self._used_at

    def close(self) -> None:
        """Close the store once no call is using it, saving the vector index file first if it
        lags (so a clean restart loads it as it is)."""
        with self._life.writing(), self._saving, self._lock.writing():
            if not self._closed:
                self._closed = True
                if self._unsaved:
                    self._save_index(self._index, self._applied)
                self._close_bm25()
                self._store.close()

    # -- writes --------------------------------------------------------------------------------

    def write(self, documents: Sequence[PreparedDocument], deletions: Sequence[str]) -> None:
        """Commit to SQLite and move the vector and lexical indexes in step, under the search
        lock. The engine runs one writer at a time. The index file is not saved here (it is
        when enough changes pile up): a crash leaves it behind the store, and the next start
        applies what it lacks from the store.
        """
        try:
            with self._lock.writing():
                written = self._store.write(documents, deletions)
                self._index.remove(written.removed_ids)
                self._index.add(written.added_ids, written.added_vectors)
                self._follow_in_bm25(written)
                self._applied = written.generation
                self._unsaved += len(written.removed_ids) + len(written.added_rows)
        finally:
            if self._on_write is not None:
                self._on_write()
        if self._outgrown(self._index):
            log.info("%d vectors: rebuilding the vector index as IVF", len(self._index))
            index = self._rebuilt_index()  # the engine's write lock keeps the store still
            with self._lock.writing():
                self._index = index
                self._unsaved = max(self._unsaved, len(index))  # a new index: save it soon
        self._save_if_due()

    def save_vectors(self) -> None:
        """Save the vector index file if it lags the store. The index is written out under
        the search lock as a reader (searches go on; writes wait for that copy), then made
        durable and put in place outside it."""
        with self._saving:
            with self._lock.reading():
                changes, generation = self._unsaved, self._applied
                staged = self._staged(self._index, generation) if changes else None
            if staged is not None and self._published(staged):
                with self._lock.writing():
                    self._unsaved -= changes

    def _save_if_due(self) -> None:
        with self._lock.reading():
            due = self._unsaved >= max(self._save_after_changes, len(self._index) // 4)
        if not due:
            return
        if self._saver is not None:
            self._saver.request(self)
        else:
            self.save_vectors()

    def state(self, key: str) -> str | None:
        return self._store.get_state(key)

    def set_state(self, key: str, value: str) -> None:
        self._store.set_state(key, value)

    def frozen(self) -> AbstractContextManager[FrozenDatabase]:
        """The collection's store as it is now, in one read transaction."""
        return self._store.frozen()

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
            yield _Snapshot(self._store, self._index, self._bm25)

    def refresh_statistics(self) -> None:
        self._store.optimize()

    def summary(self) -> Summary:
        documents, chunks = self._store.counts()
        return Summary(self.created_at, documents, chunks)

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
            in_bm25 = self._bm25.ids() if self._bm25 is not None else store.chunk_ids
        return ConsistencyReport(
            documents=store.documents,
            chunks=len(store.chunk_ids),
            vectors=len(indexed),
            orphan_chunks=store.orphan_chunks,
            miscounted_documents=store.miscounted_documents,
            bad_vectors=store.bad_vectors,
            vectors_without_chunk=len(indexed - store.chunk_ids),
            chunks_without_vector=len(store.chunk_ids - indexed),
            lexical_mismatches=len(store.lexical_ids ^ store.chunk_ids)
            + len(in_bm25 ^ store.chunk_ids),
        )

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the vector index from the vectors stored in SQLite (no re-embedding) and save
        it, then the lexical index from the chunks; returns the number of vectors. ``progress``
        is called with each batch's size."""
        generation = self._store.generation()
        rebuilt = self._rebuilt_index(progress)
        with self._saving:
            try:
                rebuilt.save(self._index_path, generation)
            except OSError as error:
                raise StorageError(f"could not save the vector index: {error}") from error
            with self._lock.writing():
                self._index = rebuilt
                self._applied, self._unsaved = generation, 0
                self._close_bm25()  # FTS5 answers lexical searches while it is rebuilt
        bm25 = self._loaded_bm25(rebuild=True)
        with self._lock.writing():
            self._bm25 = bm25
        return len(rebuilt)

    # -- the lexical index's life --------------------------------------------------------------

    def _loaded_bm25(self, rebuild: bool = False) -> TantivyIndex | None:
        """The lexical index if it reflects the store's generation (and no ``rebuild`` is
        asked); otherwise rebuilt from the store; None (FTS5 serves) if it cannot be opened or
        built."""
        generation = self._store.generation()
        try:
            index, recorded = TantivyIndex.opened(self._bm25_path)
        except _BM25_ERRORS as error:
            log.error("lexical index unavailable (%s): lexical search uses FTS5", error)
            return None
        if recorded == generation and not rebuild:
            return index
        if recorded is not None and recorded < generation and not rebuild:
            caught_up = self._caught_up_bm25(index, generation)
            if caught_up is not None:
                return caught_up
        if (recorded is not None or generation) and not rebuild:
            log.warning(
                "lexical index is at generation %s, store at %d: rebuilding", recorded, generation
            )
        return self._built_bm25(index, generation)

    def _caught_up_bm25(self, index: TantivyIndex, generation: int) -> TantivyIndex | None:
        """``index`` (behind the store: a crash between the two commits) brought up to
        ``generation`` by the chunks it lacks or holds in excess; None if that failed."""
        if not self._store.ids_last():
            return None
        started = time.perf_counter()
        try:
            indexed = np.fromiter(index.ids(), dtype=np.int64)
            missing, gone = _difference(indexed, self._store.chunk_id_array())
            index.remove(gone.tolist())
            for rows in self._store.lexical_rows_of(missing.tolist()):
                index.add(rows)
            index.commit(generation)
        except _BM25_ERRORS as error:
            log.error("could not bring the lexical index up to date (%s): rebuilding", error)
            return None
        log.warning(  # a crash came between the store's commit and the index's
            "lexical index brought up to generation %d: %d chunks added, %d removed, %.2f s",
            generation,
            len(missing),
            len(gone),
            time.perf_counter() - started,
        )
        return index

    def _built_bm25(self, index: TantivyIndex, generation: int) -> TantivyIndex | None:
        """``index`` refilled from every chunk in the store (at ``generation``: the engine's
        write lock keeps it still); None if that fails."""
        started = time.perf_counter()
        try:
            index.clear()
            for rows in self._store.iter_lexical_rows():
                index.add(rows)
            index.commit(generation)
        except _BM25_ERRORS as error:
            log.error("could not build the lexical index (%s): lexical search uses FTS5", error)
            index.close()
            return None
        log.info(
            "lexical index rebuilt from the store: %d chunks, %.1f s",
            len(index),
            time.perf_counter() - started,
        )
        return index

    def _follow_in_bm25(self, written: WriteResult) -> None:
        """Apply a committed write to the lexical index. On failure the index is dropped until
        the next start rebuilds it: FTS5 has the write, and serves lexical search meanwhile."""
        if self._bm25 is None:
            return
        try:
            self._bm25.remove(written.removed_ids)
            self._bm25.add(written.added_rows)
            self._bm25.commit(written.generation)
        except _BM25_ERRORS as error:
            log.error(
                "could not update the lexical index (%s); lexical search uses FTS5 until the "
                "next start rebuilds it",
                error,
            )
            self._bm25.invalidate()
            self._close_bm25()

    def _close_bm25(self) -> None:
        if self._bm25 is not None:
            bm25, self._bm25 = self._bm25, None
            try:
                bm25.close()
            except _BM25_ERRORS as error:
                log.warning("closing the lexical index: %s", error)

    # -- the vector index's life ---------------------------------------------------------------

    def _save_index(self, index: VectorIndex, generation: int) -> bool:
        """Save the index file now; False if that failed. The writes it reflects are already
        durable in SQLite, so a failed save (a full disk) only leaves the file behind."""
        staged = self._staged(index, generation)
        return staged is not None and self._published(staged)

    def _staged(self, index: VectorIndex, generation: int) -> Path | None:
        try:
            return index.stage(self._index_path, generation)
        except OSError as error:
            self._save_failed(error)
            return None

    def _published(self, staged: Path) -> bool:
        try:
            publish(staged, self._index_path)
        except OSError as error:
            self._save_failed(error)
            return False
        return True

    def _save_failed(self, error: OSError) -> None:
        log.error(
            "could not save the vector index (%s); serving from memory, the file is brought "
            "up to date from the store on the next start",
            error,
        )

    def _load_index(self) -> VectorIndex:
        """The saved index, brought up to the store's generation if it lags (it holds no
        write newer than the store's); otherwise rebuilt from SQLite."""
        generation = self._applied = self._store.generation()
        leftover = temporary_path(self._index_path)
        if leftover.exists():
            log.warning("removing %s, a vector index save cut off by a crash", leftover)
            leftover.unlink()
        loaded = VectorIndex.load(self._index_path, self._dimension)
        if loaded is not None:
            index, saved = loaded
            if saved < generation and self._store.ids_last():
                self._unsaved = self._caught_up(index, saved)
                saved = generation
            if saved != generation:
                log.warning(
                    "vector index is at generation %d, store at %d: rebuilding", saved, generation
                )
            elif not self._outgrown(index):
                return index
            else:
                log.info("%d vectors: rebuilding the vector index as IVF", len(index))
        elif generation or self._index_path.exists():  # a new data dir has nothing to rebuild
            log.warning("vector index %s is missing or unreadable: rebuilding", self._index_path)
        index = self._rebuilt_index()
        self._unsaved = 0 if self._save_index(index, generation) else len(index)
        return index

    def _caught_up(self, index: VectorIndex, saved: int) -> int:
        """Apply to ``index`` (saved at generation ``saved``) what the store changed since:
        the chunks it lacks, added, and those it holds that are gone, removed. Returns how
        many changes that was."""
        started = time.perf_counter()
        missing, gone = _difference(index.id_array(), self._store.chunk_id_array())
        index.remove(gone.tolist())
        for ids, vectors in self._store.vectors_of(missing.tolist()):
            index.add(ids, vectors)
        log.warning(  # the last process ended without saving it: a crash
            "vector index brought from generation %d to %d: %d chunks added, %d removed, %.2f s",
            saved,
            self._applied,
            len(missing),
            len(gone),
            time.perf_counter() - started,
        )
        return len(missing) + len(gone)

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


def _difference(indexed: np.ndarray, stored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the stored chunk ids missing from an index, the indexed ones no longer stored)."""
    return (
        np.setdiff1d(stored, indexed, assume_unique=True),
        np.setdiff1d(indexed, stored, assume_unique=True),
    )


class EmbeddedBackend:
    """Collections in ``data_dir``, which this process owns: ``default`` in the directory
    itself (so a data directory from before collections is its default collection, unmoved),
    every other one in ``collections/<name>/``.

    The directories are the catalog, listed once on start. A collection is created in a hidden
    directory and renamed into place once complete, and deleted by renaming it hidden first and
    then removing it, so a crash at any point leaves it whole or gone; hidden leftovers are
    removed on start. At most ``max_collections`` exist (``default`` included). A collection is
    opened on its first use and closed when idle (opened.py); ``default`` stays open.
    """

    kind = "embedded"
    database = None  # the data directory is this process's own

    def __init__(self, config: EmbeddedConfig, dimension: int) -> None:
        self.config = config
        data_dir = self._data_dir = config.data_dir
        self._dimension = dimension
        self._ivf_min_vectors = config.ivf_min_vectors
        self._max_collections = config.max_collections
        _make_private(data_dir)
        self._data_lock = DataDirLock(data_dir)  # raises if another process has it
        self._root = data_dir / _COLLECTIONS
        self._catalog_lock = threading.Lock()  # guards the names
        self._changes = threading.Lock()  # one create or drop at a time
        self._summaries = SummaryCache()
        self._opened: OpenCollections[EmbeddedCollection] | None = None
        self._saver = IndexSaver()
        try:
            self._names = [DEFAULT_COLLECTION, *(d.name for d in self._directories())]
            self._names.sort()
            self._opened = OpenCollections(
                self._open, config.max_open_collections, config.collection_idle_seconds
            )
            self._opened.pin(DEFAULT_COLLECTION)  # every request without a collection uses it
        except BaseException:
            self._close_all()
            raise

    def _directory(self, name: str) -> Path:
        return self._data_dir if name == DEFAULT_COLLECTION else self._root / name

    def _open(self, name: str) -> EmbeddedCollection:
        """Open the collection ``name`` (the open collections call it, one at a time)."""
        with self._catalog_lock:
            known = name in self._names  # a name is gone from here before its directory
        directory = self._directory(name)
        if not known or not directory.is_dir():
            raise CollectionNotFoundError(name)
        return EmbeddedCollection(
            directory,
            name,
            self._dimension,
            self._ivf_min_vectors,
            on_write=lambda: self._summaries.forget(name),
            saver=self._saver,
            save_after_changes=self.config.vector_save_changes,
        )

    def _directories(self) -> list[Path]:
        """The collections' directories, after removing what a crash left half made or half
        deleted."""
        if not self._root.is_dir():
            return []
        found = []
        for entry in sorted(self._root.iterdir()):
            if entry.name.startswith("."):
                log.warning("removing %s, left by a collection change cut off by a crash", entry)
                shutil.rmtree(entry)
            elif _COLLECTION_NAME.fullmatch(entry.name) and entry.is_dir():
                found.append(entry)
            else:
                log.warning("ignoring %s: not a collection's directory", entry)
        return found

    @contextmanager
    def seeding(self) -> Iterator[None]:
        """Nothing to take: the data-directory lock already makes this process the only one."""
        yield

    def close(self) -> None:
        """Close every collection and release the data directory."""
        self._close_all()

    def _close_all(self) -> None:
        if self._opened is not None:
            self._opened.close()  # each collection saves its index file as it closes
        self._saver.close()
        self._data_lock.release()

    @property
    def open_collections(self) -> int:
        """How many collections are open now (``default`` included)."""
        return 0 if self._opened is None else self._opened.open_count()

    # -- the catalog ---------------------------------------------------------------------------

    def count_collections(self) -> int:
        with self._catalog_lock:
            return len(self._names)

    def collections(self, offset: int = 0, limit: int | None = None) -> list[CollectionEntry]:
        """Read from each store's SQLite file (once, until its next write), none opened."""
        with self._catalog_lock:
            names = self._names[offset : None if limit is None else offset + limit]
        found = []
        for name in names:
            summary = self._summary(name)
            if summary is not None:  # else deleted since it was listed
                found.append(summary)
        return found

    def _summary(self, name: str) -> CollectionEntry | None:
        summary, stamp = self._summaries.get(name)
        if summary is None:
            summary = self._read_summary(name)
            if summary is None:
                return None  # deleted meanwhile
            if summary.created_at is None:  # a store from before collections: opening sets it
                with self.collection(name) as opened:
                    summary = replace(summary, created_at=opened.created_at)
            self._summaries.put(name, stamp, summary)
        assert summary.created_at is not None
        return CollectionEntry(name, summary.created_at, summary.documents, summary.chunks)

    def _read_summary(self, name: str) -> Summary | None:
        """Through the collection's own store if it is open (a second connection to a file
        this process has open keeps its descriptor until the first closes: SQLite's POSIX
        locks are per process), else straight from its file; None if it was deleted."""
        assert self._opened is not None
        with self._opened.if_open(name) as opened:
            if opened is not None:
                return opened.summary()
        try:
            return read_summary(self._directory(name) / STORE_FILE)
        except sqlite3.Error:
            with self._catalog_lock:
                if name not in self._names:
                    return None
            raise

    @contextmanager
    def collection(self, name: str) -> Iterator[EmbeddedCollection]:
        assert self._opened is not None
        with self._opened.using(name) as collection:
            yield collection

    @contextmanager
    def searching(self, name: str) -> Iterator[SearchView]:
        with self.collection(name) as collection, collection.reading() as view:
            yield view

    def create_collection(self, name: str) -> CollectionEntry:
        with self._changes:
            with self._catalog_lock:
                if name in self._names:
                    raise CollectionExistsError(name)
                if self._max_collections is not None and len(self._names) >= self._max_collections:
                    raise CollectionLimitError(self._max_collections)
            target = self._root / name
            if target.exists():
                raise StorageError(f"{target} exists but is not a collection of this store")
            making = self._root / f".new-{uuid.uuid4().hex}"
            try:
                self._root.mkdir(mode=0o700, exist_ok=True)
                making.mkdir(mode=0o700)
                created_at = _new_store(making, self._dimension)
                os.replace(making, target)
                fsync_directory(self._root)
            except BaseException as error:  # whatever failed, nothing half made is left
                shutil.rmtree(making, ignore_errors=True)
                if isinstance(error, OSError):
                    raise StorageError(f"could not create the collection: {error}") from error
                raise
            self._summaries.forget(name)
            with self._catalog_lock:
                bisect.insort(self._names, name)
            return CollectionEntry(name, created_at)  # opened on its first use

    def drop_collection(self, name: str) -> None:
        assert self._opened is not None
        with self._changes:
            with self._catalog_lock:
                if name not in self._names:
                    raise CollectionNotFoundError(name)
                self._names.remove(name)  # new calls find it gone
            self._summaries.forget(name)
            removed = self._root / f".deleted-{uuid.uuid4().hex}"
            # closed once the calls in flight in it end, and not reopened until renamed
            with self._opened.closed(name):
                try:
                    os.replace(self._directory(name), removed)
                    fsync_directory(self._root)  # deleted from here on, even after a crash
                except OSError as error:
                    with self._catalog_lock:
                        bisect.insort(self._names, name)  # still whole: reopened on use
                    raise StorageError(f"could not delete the collection: {error}") from error
            shutil.rmtree(removed, ignore_errors=True)  # what is left is removed on start

    @contextmanager
    def exporting(self, names: Sequence[str]) -> Iterator[dict[str, ExportView]]:
        with ExitStack() as stack:
            views: dict[str, ExportView] = {}
            for name in names:
                collection = stack.enter_context(self.collection(name))
                views[name] = stack.enter_context(collection.frozen())
            yield views

    # -- store-wide state, kept in the default collection's store --------------------------------

    def state(self, key: str) -> str | None:
        with self.collection(DEFAULT_COLLECTION) as default:
            return default.state(key)

    def set_state(self, key: str, value: str) -> None:
        with self.collection(DEFAULT_COLLECTION) as default:
            default.set_state(key, value)

    def open_jobs(
        self,
        limits: JobLimits = JobLimits(),  # noqa: B008 (frozen)
        clock: Callable[[], float] = time.time,
    ) -> JobStore:
        """The data directory's ingest jobs. This process owns the directory, so a job still
        marked running was left by a crash: it is released, to be resumed."""
        jobs = self.config.open_jobs(limits, clock)
        resumed = jobs.release()
        if resumed:
            log.info("resuming %d ingest job(s) left running", resumed)
        return jobs


def _new_store(directory: Path, dimension: int) -> datetime:
    """An empty collection's store in ``directory``, stamped with its creation time (its
    vector and lexical indexes are made on its first open)."""
    created_at = datetime.now(UTC)
    store = SqliteDatabase(directory / STORE_FILE, dimension)
    try:
        store.set_state(CREATED_AT, created_at.isoformat())
    finally:
        store.close()
    return created_at


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
