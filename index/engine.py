"""SearchEngine: the one facade the HTTP service and the CLI use.

It owns the store (truth), the vector index (derived) and the model, and keeps the two in step.
Writers run one at a time (the write lock spans reading the old state, embedding and committing,
so no writer decides on state another is changing). A write is committed to SQLite in one
transaction, then applied to the vector index under a readers-writer lock that searches share,
so a reader never waits for embedding and never sees half a batch.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np

from index import offsets, results
from index.backends import BackendConfig, open_backend
from index.backends.base import CollectionEntry, CollectionStorage, SearchView, StorageBackend
from index.backends.records import PreparedDocument
from index.embedding import Embedder, Vectors
from index.errors import (
    CollectionNotFoundError,
    CollectionProtectedError,
    DocumentNotFoundError,
    InvalidInputError,
    WriteConflictError,
)
from index.jobs.models import JobLimits
from index.jobs.store import JobStore
from index.metadata import check_text
from index.model_export import Precision
from index.models import (
    COLLECTION_NAME_PATTERN,
    DEFAULT_COLLECTION,
    Collection,
    CollectionPage,
    ConsistencyReport,
    Document,
    DocumentInput,
    DocumentPage,
    OffsetEncoding,
    SearchFilters,
    SearchHit,
    SearchMode,
    Stats,
    StoredChunk,
    StoredDocument,
    StoreTotals,
    SupportResult,
    UpsertResult,
    UpsertStatus,
)
from index.preparation import ChunkingConfig, Preparer
from index.queries import SearchQuery, SupportQuery
from index.retrieval import retrieve
from index.snapshot import Manifest, SnapshotError, read_manifest, verify, write_snapshot
from index.snapshot import documents as snapshot_documents
from index.stance import StanceModel, shared_stance_model
from index.support import (
    CANDIDATES_PER_PASSAGE,
    CONTRADICTION_MARGIN,
    DEFAULT_MIN_CONTRADICTION,
    DEFAULT_MIN_SUPPORT,
    supporting_passages,
)

log = logging.getLogger(__name__)

_COLLECTION_NAME = re.compile(COLLECTION_NAME_PATTERN)
_SEEDED = "seeded"
_RESTORING = "unfinished_restores"  # JSON list of collection names
_WRITE_ATTEMPTS = 3
Row = TypeVar("Row")


@dataclass(frozen=True)
class EngineConfig:
    """Where the engine keeps its documents (a backend's own configuration) and how it chunks
    and embeds them."""

    storage: BackendConfig
    chunk_tokens: int = 128
    chunk_overlap_tokens: int = 32
    # int8 (default, about 2.5x faster) or fp32; a change re-embeds a document on its next
    # upsert, like a chunking change.
    model_precision: Precision = Precision.INT8
    # Embed "title\nchunk" so a chunk carries its document's subject; the title is cut to
    # the tokens the window has left, so nothing is ever truncated by the model.
    embed_titles: bool = True
    # Verdict thresholds on the stance model's calibrated probabilities (fitted on claims and
    # pairs held apart from training; docs/quality.md): the best support needed for
    # "supported", the best contradiction needed for "contradicted", and how far the best
    # contradiction must beat a sufficient support to outvote it.
    min_support: float = DEFAULT_MIN_SUPPORT
    min_contradiction: float = DEFAULT_MIN_CONTRADICTION
    contradiction_margin: float = CONTRADICTION_MARGIN
    # Where the ONNX export of the model is cached (None: $XDG_CACHE_HOME/semsearch).
    model_cache_dir: Path | None = None
    # Longest query or claim, counted after cleaning: NFKC can turn one character into
    # eighteen, so a limit on the raw text alone bounds nothing.
    max_query_chars: int = 10_000

    @property
    def chunking(self) -> ChunkingConfig:
        """How documents are cut (a Ray actor must cut them the same way)."""
        return ChunkingConfig(self.chunk_tokens, self.chunk_overlap_tokens, self.embed_titles)


class SearchEngine:
    """Ingest, delete, get, list, search and stats over one data directory."""

    def __init__(
        self,
        config: EngineConfig,
        embedder: Embedder | None = None,
        backend: StorageBackend | None = None,
        stance_model: StanceModel | None = None,
    ) -> None:
        """Open (or create) the store ``config.storage`` describes.

        Args:
            config: the backend's configuration and chunking/embedding settings.
            embedder: a loaded model to share (tests, benchmarks); loaded here when omitted.
            backend: where documents and vectors live; opened from ``config.storage`` when
                omitted.
            stance_model: reads evidence sentences for support; the committed model (one per
                process) when omitted.
        """
        self.config = config
        self.embedder = embedder or Embedder(
            cache_dir=config.model_cache_dir, precision=config.model_precision
        )
        self.stance_model = stance_model or shared_stance_model()
        if not 1 <= config.chunk_tokens <= self.embedder.max_tokens:
            raise InvalidInputError(
                "chunk_tokens", f"must be between 1 and {self.embedder.max_tokens}"
            )
        if not 0 <= config.chunk_overlap_tokens < config.chunk_tokens:
            raise InvalidInputError("chunk_overlap_tokens", "must be >= 0 and < chunk_tokens")
        self._write_lock = threading.Lock()  # one writer at a time
        self._query_threads = ThreadPoolExecutor(thread_name_prefix="embed-query")
        self._backend: StorageBackend = backend or open_backend(
            config.storage, self.embedder.dimension
        )
        self._preparer = Preparer(self.embedder, config.chunking)

    @property
    def last_index_build_seconds(self) -> float | None:
        """How long the default collection's last vector index rebuild took (None: loaded,
        never rebuilt)."""
        with self._backend.collection(DEFAULT_COLLECTION) as default:
            return default.last_index_build_seconds

    def open_jobs(self, limits: JobLimits) -> JobStore:
        """The store's ingest jobs, kept by the backend beside the documents."""
        return self._backend.open_jobs(limits)

    def validated(
        self, documents: Sequence[DocumentInput], max_chars: int | None = None
    ) -> list[PreparedDocument]:
        """Each document cleaned, checked and hashed as an upsert would (index/preparation.py).

        Raises:
            InvalidInputError: the first bad record, named ``documents[i].field``.
            InputTooLargeError: a text longer than ``max_chars``.
        """
        return self._preparer.validated(documents, max_chars)

    def close(self) -> None:
        """Close the backend (the embedded one releases its data directory)."""
        with self._write_lock:
            self._query_threads.shutdown()
            self._backend.close()

    # -- writes --------------------------------------------------------------------------------

    def upsert(
        self,
        documents: Sequence[DocumentInput],
        max_chars: int | None = None,
        embedded: Mapping[str, PreparedDocument] | None = None,
        collection: str = DEFAULT_COLLECTION,
        created_at: datetime | None = None,
    ) -> list[UpsertResult]:
        """Insert or replace documents by id as one all-or-nothing batch.

        A document whose cleaned text is unchanged keeps its chunks and vectors: only changed
        fields are written and nothing is re-embedded.

        Args:
            documents: the batch; ids must be unique within it (generated where missing).
            max_chars: the longest text the caller accepts, counted once Unicode-normalised
                (NFKC can make one character eighteen); None for no limit.
            embedded: documents already chunked and embedded elsewhere (a Ray cluster), by
                content hash: used instead of embedding here when the hash matches.
            collection: the collection written to.
            created_at: the creation time of the collection meant, if known: one made since
                under the same name is refused.

        Returns:
            One result per input, in order: created, updated or unchanged, with chunk counts.

        Raises:
            InvalidInputError: a bad or duplicate id, metadata that could not be read back,
                or a text with nothing left to index.
            InputTooLargeError: a text longer than ``max_chars``.
            CollectionNotFoundError: no such collection.
        """
        batch = self._preparer.validated(documents, max_chars)
        # Chunked and embedded before the write lock, so that one batch's embedding runs while
        # another's is written; what changed meanwhile is compared again under the lock.
        ready = dict(embedded or {})
        ready.update((d.content_hash, d) for d in self._embedded_ahead(batch, collection, ready))
        with self._write_lock, self._backend.collection(collection) as storage:
            if created_at is not None and storage.created_at != created_at:
                raise CollectionNotFoundError(collection)  # deleted, and made again since
            for attempt in range(1, _WRITE_ATTEMPTS + 1):
                try:
                    return self._upsert_locked(storage, list(batch), ready)
                except WriteConflictError:
                    # Another server sharing the store changed one of these documents after
                    # they were compared: compare again with what it committed.
                    if attempt == _WRITE_ATTEMPTS:
                        raise
                    log.info("write conflict on attempt %d; retrying", attempt)
            raise AssertionError("unreachable")

    def _upsert_locked(
        self,
        storage: CollectionStorage,
        batch: list[PreparedDocument],
        embedded: Mapping[str, PreparedDocument],
    ) -> list[UpsertResult]:
        existing = storage.stored([document.id for document in batch])
        statuses: list[UpsertStatus] = []
        to_embed: list[int] = []
        for position, document in enumerate(batch):
            old = existing.get(document.id)
            if old is not None and old.content_hash == document.content_hash:
                same = _same_fields(old, document)
                statuses.append(UpsertStatus.UNCHANGED if same else UpsertStatus.UPDATED)
                continue
            statuses.append(UpsertStatus.CREATED if old is None else UpsertStatus.UPDATED)
            ready = embedded.get(document.content_hash)
            if ready is not None and ready.chunks:
                batch[position] = replace(
                    document,
                    chunks=ready.chunks,
                    vectors=ready.vectors,
                    sentence_vectors=ready.sentence_vectors,
                )
                continue
            chunks = self._preparer.chunks(document.text)
            if not chunks:
                raise InvalidInputError(f"documents[{position}].text", "has no indexable text")
            batch[position] = replace(document, chunks=chunks)
            to_embed.append(position)
        for position, document in zip(
            to_embed, self._preparer.embedded([batch[p] for p in to_embed]), strict=True
        ):
            batch[position] = document
        changed = [d for d, s in zip(batch, statuses, strict=True) if s != UpsertStatus.UNCHANGED]
        if changed:
            storage.write(changed, deletions=())
        return [
            UpsertResult(
                document.id,
                status,
                len(document.chunks)
                if document.chunks is not None
                else existing[document.id].chunk_count,
            )
            for document, status in zip(batch, statuses, strict=True)
        ]

    def _embedded_ahead(
        self,
        batch: Sequence[PreparedDocument],
        collection: str,
        ready: Mapping[str, PreparedDocument],
    ) -> list[PreparedDocument]:
        """The documents of ``batch`` whose text is new or changed and not in ``ready``,
        chunked and embedded; a text with nothing to index is refused before any embedding."""
        new = {d.id for d in self.needing_embedding(batch, collection)}
        chunked: list[PreparedDocument] = []
        for position, document in enumerate(batch):
            if document.id in new and document.content_hash not in ready:
                chunks = self._preparer.chunks(document.text)
                if not chunks:
                    raise InvalidInputError(f"documents[{position}].text", "has no indexable text")
                chunked.append(replace(document, chunks=chunks))
        return self._preparer.embedded(chunked) if chunked else []

    def prepared(self, batch: Sequence[PreparedDocument]) -> list[PreparedDocument]:
        """Checked documents chunked and embedded here (one with nothing to index gets no
        chunks: its upsert refuses it)."""
        return self._preparer.prepared(batch) if batch else []

    def needing_embedding(
        self, batch: Sequence[PreparedDocument], collection: str = DEFAULT_COLLECTION
    ) -> list[PreparedDocument]:
        """The documents of a checked batch whose text is new or changed in ``collection``:
        those an upsert would embed (what is worth sending to a cluster)."""
        with self._backend.collection(collection) as storage:
            existing = storage.stored([document.id for document in batch])
        return [
            document
            for document in batch
            if (old := existing.get(document.id)) is None
            or old.content_hash != document.content_hash
        ]

    def delete(self, document_id: str, collection: str = DEFAULT_COLLECTION) -> None:
        """Delete a document and its chunks.

        Raises:
            DocumentNotFoundError: no document has that id in the collection.
            CollectionNotFoundError: no such collection.
        """
        with self._write_lock, self._backend.collection(collection) as storage:
            if storage.document(document_id) is None:
                raise DocumentNotFoundError(document_id)
            storage.write([], deletions=[document_id])

    def seed(self, documents: Sequence[DocumentInput]) -> list[UpsertResult] | None:
        """Index a default corpus once into the default collection: only while it is empty
        and the store was never seeded."""
        with self._backend.seeding():  # servers sharing a store seed it once, not each
            if self._backend.state(_SEEDED) is not None or self.stats().documents > 0:
                return None
            results = self.upsert(documents)
            self._backend.set_state(_SEEDED, "1")
            return results

    # -- reads ---------------------------------------------------------------------------------

    def get(
        self,
        document_id: str,
        offset_encoding: OffsetEncoding = OffsetEncoding.UTF32,
        collection: str = DEFAULT_COLLECTION,
    ) -> Document:
        """The stored document with its cleaned text; ``char_count`` in ``offset_encoding``.

        Raises:
            DocumentNotFoundError: no document has that id in the collection.
            CollectionNotFoundError: no such collection.
        """
        with self._backend.collection(collection) as storage:
            document = storage.document(document_id)
        if document is None:
            raise DocumentNotFoundError(document_id)
        at = offsets.converter(document.text, offset_encoding)
        return replace(
            document,
            char_count=offsets.length(document.text, offset_encoding),
            page_starts=None
            if document.page_starts is None
            else tuple(at(start) for start in document.page_starts),
        )

    def list_documents(
        self,
        offset: int = 0,
        limit: int = 50,
        source: str | None = None,
        collection: str = DEFAULT_COLLECTION,
    ) -> DocumentPage:
        """A page of the collection's documents ordered by id, optionally only those from
        ``source``.

        Raises:
            InvalidInputError: a source no document could have (one with a NUL).
        """
        check_text(source, "source")
        with self._backend.collection(collection) as storage:
            return storage.documents(offset, limit, source)

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """The ``query.k`` chunks most relevant to the query, best first, each with its
        citation and highlighted sentences (fewer only when fewer chunks pass the filters or
        reach ``min_score``); in diversity order when ``query.diversity`` is set; with
        ``query.group_by``, the best k documents' passages, document by document.

        Returns:
            Hits whose ``text`` equals the cited slice of the stored document text.

        Raises:
            InvalidInputError: an empty or too long query, k < 1, or bad options or filters.
            CollectionNotFoundError: no such collection.
        """
        query = query.checked(self.config.max_query_chars)
        depth: int | None = results.first_depth(query)
        vector: Vectors | None = None
        hits: list[SearchHit] = []
        while depth is not None:
            # Offsets are counted in the text read under the same lock as the hits, so a
            # write in between cannot shift them.
            picks, vector, retrieved = self._ranked(
                query.collection,
                query.text,
                depth,
                query.filters,
                query.mode,
                lambda view, ranked: results.chosen(view, ranked, query),
                need_vector=query.highlights > 0,
                known_vector=vector,
            )
            hits = results.finished(picks, query, vector, self.embedder.embed)
            depth = results.deeper(query, depth, retrieved, hits)
        return hits

    def support(self, query: SupportQuery) -> SupportResult:
        """Find the passages, and the sentences in them, that support or contradict a claim.

        Returns:
            The verdict, the best support and contradiction, and the passages in the
            verdict's order, each with its evidence sentences, their stances and an exact
            citation.

        Raises:
            InvalidInputError: an empty or too long claim, k < 1, or bad filters.
            CollectionNotFoundError: no such collection.
        """
        query = query.checked(self.config.max_query_chars)
        ranked, vector, _ = self._ranked(
            query.collection,
            query.claim,
            query.k * CANDIDATES_PER_PASSAGE,
            query.filters,
            query.mode,
            _passages,
            need_vector=True,
        )
        candidates = [(chunk, document, score) for (chunk, document), score in ranked]
        min_support, min_contradiction = query.min_support, query.min_contradiction
        result = supporting_passages(
            self.embedder,
            self.stance_model,
            query.claim,
            vector,
            candidates,
            query.k,
            self.config.min_support if min_support is None else min_support,
            self.config.min_contradiction if min_contradiction is None else min_contradiction,
            self.config.contradiction_margin,
        )
        if query.offset_encoding is OffsetEncoding.UTF32:
            return result
        texts = {document.id: document.text for _, document, _ in candidates}
        passages = [  # in the texts the passages came from
            offsets.passage_in(p, texts[p.citation.document_id], query.offset_encoding)
            for p in result.passages
        ]
        return replace(result, passages=passages)

    def _ranked(
        self,
        collection: str,
        query: str,
        k: int,
        filters: SearchFilters | None,
        mode: SearchMode,
        hydrate: Callable[[SearchView, list[tuple[int, float]]], list[tuple[Row, float]]],
        need_vector: bool = False,
        known_vector: Vectors | None = None,
    ) -> tuple[list[tuple[Row, float]], Vectors, list[tuple[int, float]]]:
        """Retrieve the k best chunks with their scores and pass them to ``hydrate``, which
        reads what it keeps of them from the same snapshot (no write falls in between);
        return what it made, the query's vector (empty when neither the mode nor
        ``need_vector`` wants one; ``known_vector`` when given) and what was retrieved.

        The query is embedded on a helper thread while the backend runs the BM25 half of a
        hybrid search, so the two overlap.
        """
        filters = filters or SearchFilters()
        embedding = (
            self._query_threads.submit(lambda: self.embedder.embed([query])[0])
            if known_vector is None and (need_vector or mode is not SearchMode.LEXICAL)
            else None
        )

        def vector() -> Vectors:
            if known_vector is not None:
                return known_vector
            return embedding.result() if embedding else np.zeros(0, dtype=np.float32)

        with self._backend.searching(collection) as view:
            ranked = retrieve(view, query, vector, k, filters, mode)
            kept = hydrate(view, ranked)
        return kept, vector(), ranked

    def refresh_statistics(self, collection: str = DEFAULT_COLLECTION) -> None:
        """Let the store's query planner see a bulk load (ingest, copy, restore) at once."""
        with self._backend.collection(collection) as storage:
            storage.refresh_statistics()

    def check(self) -> ConsistencyReport:
        """Compare the store with itself and with its indexes (documents, chunks, vectors,
        lexical rows, orphans) in every collection; ``report.ok`` is False on any mismatch."""
        reports = []
        with self._write_lock:  # no write in between the backend's reads
            for entry in self._backend.collections():
                with self._backend.collection(entry.name) as storage:
                    reports.append(storage.check())
        summed = {
            name: sum(getattr(report, name) for report in reports)
            for name in ConsistencyReport.__dataclass_fields__
        }
        summed["unfinished_restores"] = len(self._unfinished_restores())
        return ConsistencyReport(**summed)

    def reindex(self, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild every collection's vector index from the vectors in the store (no
        re-embedding), and on the embedded backend its lexical index from the chunks; returns
        the number of vectors. ``progress`` is called with each vector batch's size."""
        vectors = 0
        with self._write_lock:
            for entry in self._backend.collections():
                with self._backend.collection(entry.name) as storage:
                    vectors += storage.reindex(progress)
        return vectors

    def stats(self, collection: str = DEFAULT_COLLECTION) -> Stats:
        """Counts of one collection's documents, chunks and vectors, and how it is stored.

        Raises:
            CollectionNotFoundError: no such collection.
        """
        with self._backend.collection(collection) as storage:
            documents, chunks, vectors = storage.counts()
            index_type = storage.index_type
        return Stats(
            collection=collection,
            documents=documents,
            chunks=chunks,
            vectors=vectors,
            model=self.embedder.name,
            dimension=self.embedder.dimension,
            index_type=index_type,
            backend=self._backend.kind,
            database=self._backend.database,
        )

    # -- snapshots -----------------------------------------------------------------------------

    def snapshot(
        self,
        path: Path,
        collection: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Manifest:
        """Write every collection (or only ``collection``) as of one moment to a snapshot
        archive at ``path`` (index/snapshot.py): what was acknowledged before it began is in
        it, nothing written after is. Searches and writes go on meanwhile; ``progress`` is
        called with each page's document count.

        Raises:
            CollectionNotFoundError: no such collection.
            OSError: the archive could not be written (no partial file is left).
        """
        names = (
            [collection]
            if collection is not None
            else [entry.name for entry in self._backend.collections()]
        )
        created = {name: self.created_at(name) for name in names}
        with ExitStack() as stack:
            with self._write_lock:  # no write commits while the collections are frozen
                views = stack.enter_context(self._backend.exporting(names))
            return write_snapshot(
                path,
                {name: (views[name], created[name]) for name in names},
                self.embedder.name,
                self.embedder.dimension,
                self.stance_model.manifest.sha256,
                progress,
            )

    def restore(
        self,
        path: Path,
        collection: str | None = None,
        as_name: str | None = None,
        force: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> list[Collection]:
        """Restore a snapshot's collections (or only ``collection``, under ``as_name`` if
        given) with their vectors, nothing re-embedded; the derived indexes follow each write.
        A collection that holds documents is restored over (emptied first) only with
        ``force``, or when an earlier restore into it was cut off (``check`` reports that).

        Raises:
            SnapshotError: the archive is damaged, of a newer format or another model (checked
                in full before anything is written).
            InvalidInputError: no such collection in the snapshot, ``as_name`` without one
                collection, or a target that holds documents without ``force``.
        """
        manifest = read_manifest(path)
        if (manifest.model, manifest.dimension) != (self.embedder.name, self.embedder.dimension):
            raise SnapshotError(
                f"the snapshot was made with the embedding model {manifest.model} "
                f"({manifest.dimension} dimensions); this store embeds with {self.embedder.name} "
                f"({self.embedder.dimension}): its vectors cannot be searched here"
            )
        chosen = [c for c in manifest.collections if collection in (None, c.name)]
        if not chosen:
            held = ", ".join(c.name for c in manifest.collections) or "none"
            raise InvalidInputError("collection", f"the snapshot holds no {collection!r} ({held})")
        if as_name is not None and len(chosen) != 1:
            raise InvalidInputError("as", "names one collection: choose it with --collection")
        targets = {c.name: as_name or c.name for c in chosen}
        verify(path, manifest)
        unfinished = self._unfinished_restores()
        existing = {entry.name: entry for entry in self._backend.collections()}
        for target in targets.values():
            entry = existing.get(target)
            if entry is not None and entry.documents and not force and target not in unfinished:
                raise InvalidInputError(
                    "target",
                    f"the collection {target!r} holds {entry.documents} documents; --force "
                    "restores over them",
                )
        restored = []
        for source, target in targets.items():
            self._set_unfinished_restores(self._unfinished_restores() | {target})
            if target not in existing:
                self.create_collection(target)
            with self._write_lock, self._backend.collection(target) as storage:
                _empty(storage)
            for page in snapshot_documents(path, source, self.embedder.dimension):
                with self._write_lock, self._backend.collection(target) as storage:
                    storage.write(page, deletions=())
                if progress is not None:
                    progress(len(page))
            self.refresh_statistics(target)
            self._set_unfinished_restores(self._unfinished_restores() - {target})
            restored.append(self.collection(target))
        return restored

    def _unfinished_restores(self) -> set[str]:
        """The collections a restore began writing and did not finish."""
        return set(json.loads(self._backend.state(_RESTORING) or "[]"))

    def _set_unfinished_restores(self, names: set[str]) -> None:
        self._backend.set_state(_RESTORING, json.dumps(sorted(names)))

    # -- collections ---------------------------------------------------------------------------

    def collections(self) -> list[Collection]:
        """Every collection with its counts, by name (none of them opened)."""
        return [_listed(entry) for entry in self._backend.collections()]

    def collection_page(self, offset: int = 0, limit: int = 50) -> CollectionPage:
        """A page of collections by name with their counts, read without opening them (the
        embedded store reads each one's SQLite file once, until its next write)."""
        total = self._backend.count_collections()
        items = [_listed(entry) for entry in self._backend.collections(offset, limit)]
        return CollectionPage(items=items, total=total, offset=offset, limit=limit)

    def totals(self) -> StoreTotals:
        """Collections, documents and chunks of the whole store (none opened)."""
        entries = self._backend.collections()
        return StoreTotals(
            collections=len(entries),
            documents=sum(entry.documents for entry in entries),
            chunks=sum(entry.chunks for entry in entries),
        )

    def collection(self, name: str) -> Collection:
        """One collection with its counts.

        Raises:
            CollectionNotFoundError: no such collection.
        """
        with self._backend.collection(name) as storage:
            documents, chunks, vectors = storage.counts()
            return Collection(name, documents, chunks, vectors, storage.created_at)

    def created_at(self, collection: str) -> datetime:
        """When the collection was created: with its name, it tells it from one deleted
        before it or made after it under the same name.

        Raises:
            CollectionNotFoundError: no such collection.
        """
        with self._backend.collection(collection) as storage:
            return storage.created_at

    def create_collection(self, name: str) -> Collection:
        """Create an empty collection.

        Raises:
            InvalidInputError: a name that does not match COLLECTION_NAME_PATTERN.
            CollectionExistsError: one of that name exists.
            CollectionLimitError: ``config.max_collections`` exist already.
        """
        if not _COLLECTION_NAME.fullmatch(name):
            shown = name if len(name) <= 80 else f"{name[:80]}..."
            raise InvalidInputError("name", f"{shown!r} must match {COLLECTION_NAME_PATTERN}")
        with self._write_lock:
            entry = self._backend.create_collection(name)
        return Collection(entry.name, 0, 0, 0, entry.created_at)

    def delete_collection(self, name: str) -> None:
        """Delete a collection with its documents, chunks and vectors, whole or not at all.
        Searches already running in it finish first; later ones find no such collection.

        Raises:
            CollectionProtectedError: the default collection, which always exists.
            CollectionNotFoundError: no such collection.
        """
        if name == DEFAULT_COLLECTION:
            raise CollectionProtectedError(name)
        with self._write_lock:
            self._backend.drop_collection(name)


def _passages(
    view: SearchView, ranked: list[tuple[int, float]]
) -> list[tuple[tuple[StoredChunk, Document], float]]:
    rows = view.passages([chunk_id for chunk_id, _ in ranked])
    return [(rows[chunk_id], score) for chunk_id, score in ranked]


def _empty(storage: CollectionStorage, page: int = 500) -> None:
    """Delete every document of the collection, a page per transaction."""
    while ids := [d.id for d in storage.documents(0, page, None).items]:
        storage.write([], deletions=ids)


def _listed(entry: CollectionEntry) -> Collection:
    # every chunk is stored with its vector: the count needs no vector index loaded
    return Collection(entry.name, entry.documents, entry.chunks, entry.chunks, entry.created_at)


def _same_fields(row: StoredDocument, document: PreparedDocument) -> bool:
    return (
        row.title == document.title
        and row.source == document.source
        and row.url == document.url
        and row.published_at == document.published_at
        and row.metadata == document.metadata
        and row.format == document.format
    )
