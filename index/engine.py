"""SearchEngine: the one facade the HTTP service and the CLI use.

It owns the store (truth), the vector index (derived) and the model, and keeps the two in step.
Writers run one at a time (the write lock spans reading the old state, embedding and committing,
so no writer decides on state another is changing). A write is committed to SQLite in one
transaction, then applied to the vector index under a readers-writer lock that searches share,
so a reader never waits for embedding and never sees half a batch.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import TypeVar

import numpy as np

from index import offsets
from index.backends import open_backend
from index.backends.base import CollectionEntry, CollectionStorage, SearchView, StorageBackend
from index.backends.postgres import DEFAULT_EF_SEARCH
from index.embedding import Embedder, Vectors
from index.errors import (
    CollectionNotFoundError,
    CollectionProtectedError,
    DocumentNotFoundError,
    InputTooLargeError,
    InvalidInputError,
    WriteConflictError,
)
from index.metadata import check_metadata, check_text, check_url
from index.model_export import Precision
from index.models import (
    COLLECTION_NAME_PATTERN,
    DEFAULT_COLLECTION,
    DOCUMENT_ID_PATTERN,
    ChunkHit,
    Citation,
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
    StoredDocument,
    StoreTotals,
    SupportResult,
    UpsertResult,
    UpsertStatus,
    page_span,
)
from index.preparation import ChunkingConfig, Preparer
from index.retrieval import retrieve
from index.stance import StanceModel, shared_stance_model
from index.store import PreparedDocument
from index.support import (
    CANDIDATES_PER_PASSAGE,
    CONTRADICTION_MARGIN,
    DEFAULT_MIN_CONTRADICTION,
    DEFAULT_MIN_SUPPORT,
    supporting_passages,
)
from index.text import clean_text, repair_text
from index.vectors import IVF_MIN_VECTORS

log = logging.getLogger(__name__)

_DOCUMENT_ID = re.compile(DOCUMENT_ID_PATTERN)
_COLLECTION_NAME = re.compile(COLLECTION_NAME_PATTERN)
_SEEDED = "seeded"
_WRITE_ATTEMPTS = 3
Row = TypeVar("Row")


@dataclass(frozen=True)
class EngineConfig:
    """Where the engine keeps its files and how it chunks and embeds."""

    data_dir: Path
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
    # From this many chunks on, the vector index is IVF (approximate) instead of exact.
    ivf_min_vectors: int = IVF_MIN_VECTORS
    # Longest query or claim, counted after cleaning: NFKC can turn one character into
    # eighteen, so a limit on the raw text alone bounds nothing.
    max_query_chars: int = 10_000
    # PostgreSQL + pgvector shared by several servers instead of the data directory; never
    # shown (it may hold a password).
    database_url: str | None = field(default=None, repr=False)
    # Longest any one database statement may run, in seconds.
    statement_timeout: float = 30.0
    # Candidates pgvector's HNSW search keeps: higher finds more of the true nearest chunks.
    ef_search: int = DEFAULT_EF_SEARCH
    # Most collections, default included (None: no limit); creating one more is refused.
    max_collections: int | None = 1000
    # The embedded store opens a collection on use and keeps at most this many open (besides
    # default), closing the least recently used; and closes those idle this many seconds.
    max_open_collections: int = 64
    collection_idle_seconds: float = 300.0

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
        """Open (or create) the store in ``config.data_dir`` and load or rebuild the index.

        Args:
            config: data directory and chunking/embedding settings.
            embedder: a loaded model to share (tests, benchmarks); loaded here when omitted.
            backend: where documents and vectors live; the embedded SQLite + FAISS backend in
                ``config.data_dir`` when omitted.
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
            config.data_dir,
            config.database_url,
            self.embedder.dimension,
            config.ivf_min_vectors,
            config.statement_timeout,
            config.ef_search,
            config.max_collections,
            config.max_open_collections,
            config.collection_idle_seconds,
        )
        self._preparer = Preparer(self.embedder, config.chunking)
        # Identifies how chunks are made: a change re-embeds a document on its next upsert.
        self._chunking_key = (
            f"{self.embedder.name}|{self.embedder.precision}|{config.chunk_tokens}"
            f"|{config.chunk_overlap_tokens}|{config.embed_titles}"
        )

    @property
    def last_index_build_seconds(self) -> float | None:
        """How long the default collection's last vector index rebuild took (None: loaded,
        never rebuilt)."""
        with self._backend.collection(DEFAULT_COLLECTION) as default:
            return default.last_index_build_seconds

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
        batch = self.validated(documents, max_chars)
        with self._write_lock, self._backend.collection(collection) as storage:
            if created_at is not None and storage.created_at != created_at:
                raise CollectionNotFoundError(collection)  # deleted, and made again since
            for attempt in range(1, _WRITE_ATTEMPTS + 1):
                try:
                    return self._upsert_locked(storage, list(batch), embedded or {})
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

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: SearchMode = SearchMode.HYBRID,
        min_score: float = 0.0,
        offset_encoding: OffsetEncoding = OffsetEncoding.UTF32,
        collection: str = DEFAULT_COLLECTION,
    ) -> list[SearchHit]:
        """The k chunks most relevant to the query, best first, each with its citation.

        Args:
            query: free text; must contain something other than white space.
            k: number of hits wanted (fewer only when fewer chunks pass the filters or
                reach ``min_score``).
            filters: restrictions applied before ranking.
            mode: hybrid (dense + BM25), dense or lexical.
            min_score: drop hits scoring below this (scores are in [0, 1] in every mode).
            offset_encoding: the unit citation offsets count in (code points by default).
            collection: the collection searched; no other's documents are ever returned.

        Returns:
            Hits whose ``text`` equals the cited slice of the stored document text.

        Raises:
            CollectionNotFoundError: no such collection.
        """
        text = self._validated_query(query, "query", k, filters)
        converted = offset_encoding is not OffsetEncoding.UTF32
        # Offsets are counted in the text read under the same lock as the hits, so a write
        # in between cannot shift them.
        ranked, _ = self._ranked(
            collection,
            text,
            k,
            filters,
            mode,
            lambda view, ids: view.hits(ids, prefixes=converted),
        )
        hits = [(_hit(row, score), row.prefix) for row, score in ranked if score >= min_score]
        return [
            offsets.hit_in(hit, prefix, offset_encoding) if prefix is not None else hit
            for hit, prefix in hits
        ]

    def support(
        self,
        claim: str,
        k: int = 5,
        filters: SearchFilters | None = None,
        mode: SearchMode = SearchMode.HYBRID,
        min_support: float | None = None,
        offset_encoding: OffsetEncoding = OffsetEncoding.UTF32,
        min_contradiction: float | None = None,
        collection: str = DEFAULT_COLLECTION,
    ) -> SupportResult:
        """Find the passages, and the sentences in them, that support or contradict a claim.

        Args:
            claim: the statement to check.
            k: most passages returned (overlapping windows of a document count as one).
            filters: restrictions applied before ranking.
            mode: retrieval mode for the candidates.
            min_support: best support needed for the verdict "supported"; the engine's
                default when None.
            offset_encoding: the unit citation and evidence offsets count in.
            min_contradiction: best contradiction needed for the verdict "contradicted" (it
                must also beat the best support); the engine's default when None.
            collection: the collection searched for passages.

        Returns:
            The verdict, the best support and contradiction, and the passages in the
            verdict's order, each with its evidence sentences, their stances and an exact
            citation.
        """
        text = self._validated_query(claim, "claim", k, filters)
        ranked, vector = self._ranked(
            collection,
            text,
            k * CANDIDATES_PER_PASSAGE,
            filters,
            mode,
            lambda view, ids: view.passages(ids),
            need_vector=True,
        )
        candidates = [(chunk, document, score) for (chunk, document), score in ranked]
        result = supporting_passages(
            self.embedder,
            self.stance_model,
            text,
            vector,
            candidates,
            k,
            self.config.min_support if min_support is None else min_support,
            self.config.min_contradiction if min_contradiction is None else min_contradiction,
            self.config.contradiction_margin,
        )
        if offset_encoding is OffsetEncoding.UTF32:
            return result
        texts = {document.id: document.text for _, document, _ in candidates}
        passages = [  # in the texts the passages came from
            offsets.passage_in(p, texts[p.citation.document_id], offset_encoding)
            for p in result.passages
        ]
        return replace(result, passages=passages)

    def _validated_query(
        self, query: str, field: str, k: int, filters: SearchFilters | None
    ) -> str:
        """A query or claim, repaired and checked, with its k and filters."""
        query = repair_text(query)
        if not query:
            raise InvalidInputError(field, "must contain text")
        if len(query) > self.config.max_query_chars:
            raise InvalidInputError(
                field,
                f"has {len(query)} characters once normalised; the limit is "
                f"{self.config.max_query_chars}",
            )
        if k < 1:
            raise InvalidInputError("k", "must be at least 1")
        if filters:
            _check_filters(filters)
        return query

    def _ranked(
        self,
        collection: str,
        query: str,
        k: int,
        filters: SearchFilters | None,
        mode: SearchMode,
        hydrate: Callable[[SearchView, list[int]], dict[int, Row]],
        need_vector: bool = False,
    ) -> tuple[list[tuple[Row, float]], Vectors]:
        """Retrieve the k best chunks with their scores, hydrated by ``hydrate`` (from the same
        snapshot, so no write falls in between); and the query's vector (empty when neither
        the mode nor ``need_vector`` wants one).

        The query is embedded on a helper thread while the backend runs the BM25 half of a
        hybrid search, so the two overlap.
        """
        filters = filters or SearchFilters()
        embedding = (
            self._query_threads.submit(lambda: self.embedder.embed([query])[0])
            if need_vector or mode is not SearchMode.LEXICAL
            else None
        )

        def vector() -> Vectors:
            return embedding.result() if embedding else np.zeros(0, dtype=np.float32)

        with self._backend.collection(collection) as storage, storage.reading() as view:
            ranked = retrieve(view, query, vector, k, filters, mode)
            rows = hydrate(view, [chunk_id for chunk_id, _ in ranked])
        return [(rows[chunk_id], score) for chunk_id, score in ranked], vector()

    def check(self) -> ConsistencyReport:
        """Compare the store with itself and with its indexes (documents, chunks, vectors,
        lexical rows, orphans) in every collection; ``report.ok`` is False on any mismatch."""
        reports = []
        with self._write_lock:  # no write in between the backend's reads
            for entry in self._backend.collections():
                with self._backend.collection(entry.name) as storage:
                    reports.append(storage.check())
        return ConsistencyReport(
            **{
                name: sum(getattr(report, name) for report in reports)
                for name in ConsistencyReport.__dataclass_fields__
            }
        )

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
            backend="embedded" if self._backend.database is None else "postgresql",
            database=self._backend.database,
        )

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

    # -- internals -----------------------------------------------------------------------------

    def validated(
        self, documents: Sequence[DocumentInput], max_chars: int | None = None
    ) -> list[PreparedDocument]:
        """Each document cleaned, checked and hashed, not yet chunked: what an upsert writes.

        Raises:
            InvalidInputError: the first bad record, named ``documents[i].field``.
            InputTooLargeError: a text longer than ``max_chars``.
        """
        seen: set[str] = set()
        out: list[PreparedDocument] = []
        for position, document in enumerate(documents):
            document_id = document.id if document.id is not None else uuid.uuid4().hex
            if not _DOCUMENT_ID.fullmatch(document_id):  # match() let "abc\n" through
                raise InvalidInputError(
                    f"documents[{position}].id", f"must match {DOCUMENT_ID_PATTERN}"
                )
            if document_id in seen:
                raise InvalidInputError(
                    f"documents[{position}].id", f"{document_id!r} appears twice in the batch"
                )
            seen.add(document_id)
            field = f"documents[{position}]"
            for name in ("title", "source"):
                check_text(getattr(document, name), f"{field}.{name}")
            check_url(document.url, f"{field}.url")
            check_metadata(document.metadata, f"{field}.metadata")
            if document.page_starts:
                _check_page_starts(document, f"{field}.page_starts")
            text, starts = _cleaned_text(
                document.text, f"{field}.text", max_chars, document.page_starts or (0,)
            )
            pages = starts if document.page_starts else None
            title = repair_text(document.title) or None if document.title else None
            # Pages are part of what is stored: the same text cut into other pages is a change.
            page_key = "" if pages is None else f"\npages {','.join(map(str, pages))}"
            out.append(
                PreparedDocument(
                    id=document_id,
                    title=title,
                    source=document.source,
                    url=document.url,
                    published_at=document.published_at,
                    metadata=dict(document.metadata),
                    text=text,
                    content_hash=hashlib.sha256(
                        f"{self._chunking_key}\n{self._preparer.embedded_title(title)}\n{text}"
                        f"{page_key}".encode()
                    ).hexdigest(),
                    format=document.format,
                    page_starts=pages,
                )
            )
        return out


def _listed(entry: CollectionEntry) -> Collection:
    # every chunk is stored with its vector: the count needs no vector index loaded
    return Collection(entry.name, entry.documents, entry.chunks, entry.chunks, entry.created_at)


def _check_page_starts(document: DocumentInput, field: str) -> None:
    starts = document.page_starts
    if starts[0] != 0 or any(b < a for a, b in pairwise(starts)) or starts[-1] > len(document.text):
        raise InvalidInputError(field, "must start at 0 and never decrease, within the text")


def _cleaned_text(
    raw: str, field: str, limit: int | None, page_starts: tuple[int, ...]
) -> tuple[str, tuple[int, ...]]:
    """The text cleaned page by page (one page: the whole text) and joined with a blank line
    between pages, within ``limit`` characters; and where each page starts in it (an empty page
    starts where the next page's text does). The normalised length is checked before the slower
    repair runs (18 M characters took it 10 s), and the cleaned length after."""
    if limit is not None:
        normalised = _normalised_length(raw, limit)
        if normalised > limit:
            raise InputTooLargeError(
                field,
                f"has over {limit} characters once Unicode-normalised (NFKC): at least "
                f"{normalised}",
            )
    text = ""
    cleaned_starts: list[int] = []
    waiting = 0  # empty pages before the next page with text
    for start, end in zip(page_starts, (*page_starts[1:], len(raw)), strict=True):
        page = clean_text(raw[start:end])
        if not page:
            waiting += 1
            continue
        if text:
            text += "\n\n"
        cleaned_starts.extend([len(text)] * (waiting + 1))
        waiting = 0
        text += page
    cleaned_starts.extend([len(text)] * waiting)
    if not text:
        raise InvalidInputError(field, "must contain text")
    if limit is not None and len(text) > limit:
        raise InputTooLargeError(field, f"has {len(text)} characters; the limit is {limit}")
    return text, tuple(cleaned_starts)


def _normalised_length(text: str, limit: int, piece: int = 65_536) -> int:
    """The NFKC length of ``text``, a piece at a time and only until it passes ``limit``: one
    call on a million characters holds the GIL for 0.7 s, stalling every other request. (A
    piece boundary can only keep a composition from happening, so this never undercounts.)"""
    total = 0
    for start in range(0, len(text), piece):
        total += len(unicodedata.normalize("NFKC", text[start : start + piece]))
        if total > limit:
            break
    return total


def _hit(row: ChunkHit, score: float) -> SearchHit:
    page, page_end = page_span(row.page_starts, row.char_start, row.char_end)
    citation = Citation(
        document_id=row.document_id,
        title=row.title,
        source=row.source,
        url=row.url,
        published_at=row.published_at,
        chunk_index=row.chunk_index,
        char_start=row.char_start,
        char_end=row.char_end,
        page=page,
        page_end=page_end,
    )
    return SearchHit(chunk_id=row.chunk_id, text=row.text, score=score, citation=citation)


def _same_fields(row: StoredDocument, document: PreparedDocument) -> bool:
    return (
        row.title == document.title
        and row.source == document.source
        and row.url == document.url
        and row.published_at == document.published_at
        and row.metadata == document.metadata
        and row.format == document.format
    )


def _check_filters(filters: SearchFilters) -> None:
    after, before = filters.published_after, filters.published_before
    if after and before and after > before:
        raise InvalidInputError("filters.published_after", "must not be after published_before")
    for position, source in enumerate(filters.sources or ()):
        check_text(source, f"filters.sources[{position}]")
    check_metadata(filters.metadata or {}, "filters.metadata")
