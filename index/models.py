"""Engine-level value types: what goes into and comes out of the SearchEngine facade."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

MetadataValue = str | int | float | bool
Metadata = dict[str, MetadataValue]
# A document id: what the API accepts in paths and bodies, and the engine checks (fullmatch).
DOCUMENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
# A collection name: lower-case ASCII only, so it is also a safe directory name on any file
# system (no dots, no case folding, no look-alikes).
COLLECTION_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# The collection that always exists: it holds the seeds, and the unscoped routes act on it.
DEFAULT_COLLECTION = "default"
MAX_HIGHLIGHTS = 5  # most highlighted sentences a search may ask for per hit
MAX_GROUP_SIZE = 10  # most passages per document in a search grouped by document


class SearchMode(StrEnum):
    HYBRID = "hybrid"
    DENSE = "dense"
    LEXICAL = "lexical"


class OffsetEncoding(StrEnum):
    """The unit offsets count in: Python's, JavaScript's (and Java's, C#'s), or Go's."""

    UTF32 = "utf-32"  # code points: Python (the default)
    UTF16 = "utf-16"  # UTF-16 code units: JavaScript, Java, C#, Dart
    UTF8 = "utf-8"  # bytes: Go, Rust, C


@dataclass(frozen=True)
class DocumentInput:
    """A document to upsert. Without an id one is generated; text is cleaned before storing."""

    text: str
    id: str | None = None
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: date | None = None
    metadata: Metadata = field(default_factory=dict)
    format: str | None = None  # the file it was read from: "pdf", "html"...; None for text
    # Where each page of ``text`` starts (a PDF's); the engine cleans page by page and keeps
    # where each starts in the cleaned text.
    page_starts: tuple[int, ...] = ()


@dataclass(frozen=True)
class DocumentSummary:
    """A stored document without its text."""

    id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: date | None
    metadata: Metadata
    char_count: int
    chunk_count: int
    format: str | None
    page_starts: tuple[int, ...] | None  # where each page starts in the text; None: no pages
    duplicate_of: str | None  # the stored document this one nearly copies (index/duplicates.py)

    @property
    def pages(self) -> int | None:
        return None if self.page_starts is None else len(self.page_starts)


@dataclass(frozen=True)
class Document(DocumentSummary):
    """A stored document with its cleaned text, which all citation offsets index into."""

    text: str


@dataclass(frozen=True)
class StoredDocument(DocumentSummary):
    """A stored document as an upsert compares against it: its fields and content hash."""

    content_hash: str


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as support reads it: where it lies, its sentences and their vectors."""

    id: int
    document_id: str
    chunk_index: int
    char_start: int
    char_end: int
    sentences: tuple[tuple[int, int], ...]
    sentence_vectors: bytes | None  # float16 rows, one per sentence; None in older stores


@dataclass(frozen=True)
class ChunkHit:
    """A chunk's text and citation fields, as a search hit needs them."""

    chunk_id: int
    chunk_index: int
    char_start: int
    char_end: int
    text: str  # document.text[char_start:char_end]
    document_id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: date | None
    prefix: str | None = None  # document.text[:char_start], when asked for
    page_starts: tuple[int, ...] | None = None  # the document's, when it has pages
    # the chunk's sentence spans (document offsets) and their float16 vectors, when asked for
    sentences: tuple[tuple[int, int], ...] = ()
    sentence_vectors: bytes | None = None


class UpsertStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class UpsertResult:
    id: str
    status: UpsertStatus
    chunk_count: int


@dataclass(frozen=True)
class DocumentPage:
    items: list[DocumentSummary]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions applied before ranking; empty fields do not restrict."""

    document_ids: list[str] | None = None
    sources: list[str] | None = None
    published_after: date | None = None
    published_before: date | None = None
    metadata: Metadata | None = None
    exclude_duplicates: bool = False  # leave out documents that nearly copy another

    def is_empty(self) -> bool:
        return not (
            self.document_ids is not None
            or self.sources is not None
            or self.published_after
            or self.published_before
            or self.metadata
            or self.exclude_duplicates
        )


@dataclass(frozen=True)
class Citation:
    """Where a hit's text stands: ``document.text[char_start:char_end]`` is exactly the hit."""

    document_id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: date | None
    chunk_index: int
    char_start: int
    char_end: int
    page: int | None = None  # 1-based page of char_start, for a document with pages (PDF)
    page_end: int | None = None  # and of the last character


def page_span(
    page_starts: tuple[int, ...] | None, char_start: int, char_end: int
) -> tuple[int | None, int | None]:
    """The 1-based pages of a span's first and last characters (None, None without pages). A
    page starts where the previous one's text and the blank line after it end."""
    if not page_starts:
        return None, None
    return (
        bisect_right(page_starts, char_start),
        bisect_right(page_starts, max(char_start, char_end - 1)),
    )


def cite(
    document: Document | ChunkHit, chunk_index: int, char_start: int, char_end: int
) -> Citation:
    """The citation of ``document.text[char_start:char_end]``, inside chunk ``chunk_index``
    (``document`` a stored document, or a hit's row with the same fields): the one place a
    citation is made, for search hits and supporting passages alike."""
    page, page_end = page_span(document.page_starts, char_start, char_end)
    return Citation(
        document_id=document.id if isinstance(document, Document) else document.document_id,
        title=document.title,
        source=document.source,
        url=document.url,
        published_at=document.published_at,
        chunk_index=chunk_index,
        char_start=char_start,
        char_end=char_end,
        page=page,
        page_end=page_end,
    )


@dataclass(frozen=True)
class Highlight:
    """A sentence of a hit that matches the query: ``document.text[char_start:char_end] ==
    text``; ``score`` is its cosine similarity with the query, clipped to [0, 1]."""

    text: str
    char_start: int
    char_end: int
    score: float


@dataclass(frozen=True)
class SearchHit:
    chunk_id: int
    text: str
    score: float
    citation: Citation
    highlights: tuple[Highlight, ...] = ()  # best first


@dataclass(frozen=True)
class CollectionRef:
    """A collection by name and, when known, by the creation time of the one meant: a write
    meant for a collection that was deleted and made again under its name is refused instead of
    landing in the new one (a job queued in the old one, say)."""

    name: str = DEFAULT_COLLECTION
    created_at: datetime | None = None


@dataclass(frozen=True)
class Collection:
    """A named set of documents: its own ids, chunks, vectors and lexical index."""

    name: str
    documents: int
    chunks: int
    vectors: int
    created_at: datetime


@dataclass(frozen=True)
class CollectionPage:
    items: list[Collection]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class StoreTotals:
    """Every collection's counts added up."""

    collections: int
    documents: int
    chunks: int


@dataclass(frozen=True)
class Stats:
    collection: str
    documents: int
    chunks: int
    vectors: int
    model: str
    dimension: int
    index_type: str
    backend: str  # "embedded" (SQLite + FAISS) or "postgresql"
    database: str | None  # the shared database's URL, password hidden


@dataclass(frozen=True)
class Evidence:
    """A sentence of a stored document: ``document.text[char_start:char_end] == text``."""

    text: str
    char_start: int
    char_end: int
    score: float  # how strongly it bears on the claim: ranks evidence
    stance: Stance  # toward the claim, by the stance model
    stance_probability: float
    page: int | None = None  # the 1-based page it starts on, in a document with pages (PDF)


@dataclass(frozen=True)
class SupportingPassage:
    text: str
    support: float  # its sentences' best probability of supporting the claim
    contradiction: float  # and of contradicting it
    relevance: float  # the passage's retrieval score, as search reports it
    evidence: list[Evidence]
    citation: Citation


class Stance(StrEnum):
    """How a sentence bears on a claim."""

    SUPPORTS = "supports"
    CONTRADICTS = "contradicts"
    NEUTRAL = "neutral"


class Verdict(StrEnum):
    SUPPORTED = "supported"
    CONTRADICTED = "contradicted"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


@dataclass(frozen=True)
class SupportResult:
    claim: str
    verdict: Verdict
    support: float
    contradiction: float
    passages: list[SupportingPassage]


@dataclass(frozen=True)
class ConsistencyReport:
    """What `semsearch check` prints: counts, and every kind of disagreement found."""

    documents: int
    chunks: int
    vectors: int
    orphan_chunks: int
    miscounted_documents: int
    bad_vectors: int
    vectors_without_chunk: int
    chunks_without_vector: int
    lexical_mismatches: int
    unfinished_restores: int = 0  # collections a cut-off restore left half written

    @property
    def ok(self) -> bool:
        return (
            not self.unfinished_restores
            and self.chunks == self.vectors
            and not self.orphan_chunks
            and not self.miscounted_documents
            and not self.bad_vectors
            and not self.vectors_without_chunk
            and not self.chunks_without_vector
            and not self.lexical_mismatches
        )
