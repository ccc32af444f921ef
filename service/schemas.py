"""The public contract: request and response models, separate from the database tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from index import metadata
from index.models import (
    COLLECTION_NAME_PATTERN,
    DOCUMENT_ID_PATTERN,
    MAX_GROUP_SIZE,
    MAX_HIGHLIGHTS,
)
from index.text import VISIBLE_CHARACTER_PATTERN

DocumentId = Annotated[str, StringConstraints(pattern=DOCUMENT_ID_PATTERN)]
# Lower-case ASCII letters, digits, `_` and `-`, starting with a letter or digit, at most 63.
CollectionName = Annotated[str, StringConstraints(pattern=COLLECTION_NAME_PATTERN, max_length=63)]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _refusing(kind: str, problem_of: Callable[[Any], str | None]) -> Callable[[Any], Any]:
    """A validator that lets a value through or raises ``kind`` with what ``problem_of``
    finds wrong with it (the engine's own check, so both say the same)."""

    def check(value: Any) -> Any:
        problem = problem_of(value)
        if problem:
            raise PydanticCustomError(kind, problem)
        return value

    return check


def _iso_date_string(value: object) -> object:
    # Lax dates would take a number, or a string of digits, as a Unix time.
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_type", "Input should be an ISO 8601 date (YYYY-MM-DD)")
    return value


def _json_integer(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# JSON has no date type: an ISO 8601 string ("2025-11-18"), nothing else.
IsoDate = Annotated[date, Strict(False), BeforeValidator(_iso_date_string)]
# JSON Schema's integer: 5 or 5.0, never "5" or true.
JsonInt = Annotated[int, Strict(False), BeforeValidator(_json_integer)]
# Every string a request carries: JSON's \u escapes can hold a lone surrogate, which no store
# can keep and no response can encode.
Text = Annotated[str, AfterValidator(_refusing("unicode", metadata.unicode_problem))]
# A string that is stored and compared (a title, source, URL, metadata string): no NUL either,
# which PostgreSQL cannot keep; the engine refuses it on every path, the spec declares it.
StoredText = Annotated[
    str,
    AfterValidator(_refusing("unicode", metadata.storable_problem)),
    Field(json_schema_extra={"pattern": metadata.NO_NUL_PATTERN}),
]
# Metadata that reads back and compares (index/metadata.py): bounded keys and strings, finite
# numbers within I-JSON's exact range (JSON has no NaN; Python's parser takes it). One validator
# per key and value, so an error names the key and says what is wrong, not which union arm
# failed.
# oneOf three types that never overlap: a generated client keeps "02134" and "true" strings
# (an anyOf with integer beside number let a Java client read them as a number or a boolean).
_METADATA_VALUE_SCHEMA: JsonDict = {
    "oneOf": [
        {
            "type": "string",
            "maxLength": metadata.MAX_STRING_CHARS,
            "pattern": metadata.NO_NUL_PATTERN,
        },
        {"type": "number", "minimum": metadata.NUMBER_MIN, "maximum": metadata.NUMBER_MAX},
        {"type": "boolean"},
    ]
}
MetadataKey = Annotated[str, PlainValidator(_refusing("metadata", metadata.key_problem))]
MetadataValue = Annotated[
    str | int | float | bool, PlainValidator(_refusing("metadata", metadata.value_problem))
]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    Field(max_length=metadata.MAX_KEYS),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": metadata.MAX_KEYS,
            "propertyNames": {"pattern": metadata.KEY_PATTERN},
            "additionalProperties": _METADATA_VALUE_SCHEMA,
        }
    ),
]
# Read back, a value is declared as any JSON value: a typed union is deserialised by trying
# each type, and a Java client's Jackson coerces "02134" or "true" into more than one, so it
# failed on read ("2 classes match"); untyped, every client keeps the value as written.
StoredMetadata = Annotated[
    dict[str, str | int | float | bool],
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": {
                "description": "A string, number or boolean, exactly as it was written."
            },
        }
    ),
]
# "Contains a visible character": declared in the spec; the engine enforces it (a text that
# cleans to nothing) with a 422 naming the field.
_NOT_BLANK: JsonDict = {"pattern": VISIBLE_CHARACTER_PATTERN}


def _examples(*examples: JsonDict) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


# Examples are checked against the service on the seed corpus (tests/test_examples.py).
_CLAIM_EXAMPLE = (
    "The bombing near the district courts in Islamabad killed 12 people and injured 36 others."
)
_CITATION_EXAMPLE: JsonDict = {
    "document_id": "003_997123c907f1ca25",
    "title": "Pakistan, China Boost Counter-Terrorism Cooperation After Blast Kills 12",
    "source": "SouthAsianDesk",
    "url": None,
    "published_at": "2025-11-18",
    "chunk_index": 0,
    "char_start": 0,
    "char_end": 681,
}


class _Strict(BaseModel):
    """Request bodies reject unknown fields, so a typo never passes silently, and take JSON
    types as declared: no "5" for 5 and no false for 0.0. Dates stay ISO strings, numbers
    finite."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the failing field, e.g. filters.sources[0].")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details: every 4xx and 5xx body, as application/problem+json."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(
        default_factory=list, description="One entry per failing field; empty when none applies."
    )

    model_config = _examples(
        {
            "type": "about:blank",
            "title": "Invalid request",
            "status": 422,
            "detail": "k: Input should be less than or equal to 100",
            "errors": [{"field": "k", "message": "Input should be less than or equal to 100"}],
        }
    )


class NewDocument(_Strict):
    id: DocumentId | None = Field(
        None, description="Stable id; generated when omitted. Upserting an id replaces it."
    )
    title: StoredText | None = Field(None, max_length=1000)
    text: Text = Field(
        min_length=1,
        description="Raw text; cleaned before it is stored. At most SEMSEARCH_MAX_DOCUMENT_CHARS "
        "characters (default 1,000,000; 413 above).",
        json_schema_extra=_NOT_BLANK,
    )
    source: StoredText | None = Field(None, max_length=1000, description="Publisher or origin.")
    url: StoredText | None = Field(None, max_length=4000)
    published_at: IsoDate | None = None
    metadata: Metadata = Field(
        default_factory=dict,
        description=f"Flat key/value pairs, filterable by equality: at most {metadata.MAX_KEYS} "
        f"keys of 1-{metadata.MAX_KEY_CHARS} characters, strings of at most "
        f"{metadata.MAX_STRING_CHARS}, numbers finite and within ±(2^53-1).",
    )


class UpsertRequest(_Strict):
    documents: list[NewDocument] = Field(
        min_length=1,
        description="At most SEMSEARCH_MAX_BATCH_DOCUMENTS documents (default 1000; 413 above), "
        "with distinct ids.",
    )

    model_config = _examples(
        {
            "documents": [
                {
                    "id": "press-2025-11-18",
                    "title": "Pakistan and China boost counter-terrorism cooperation",
                    "text": "Pakistan and China agreed on Monday to enhance ...",
                    "source": "SouthAsianDesk",
                    "published_at": "2025-11-18",
                    "metadata": {"lang": "en"},
                }
            ]
        }
    )


class UpsertResult(BaseModel):
    id: str
    status: Literal["created", "updated", "unchanged"]
    chunk_count: int


class UpsertResponse(BaseModel):
    results: list[UpsertResult] = Field(description="One per input document, in order.")

    model_config = _examples(
        {"results": [{"id": "press-2025-11-18", "status": "created", "chunk_count": 1}]}
    )


class FileFormat(StrEnum):
    """The kind of file a document was read from (POST /v1/files)."""

    HTML = "html"
    PDF = "pdf"
    DOCX = "docx"
    MARKDOWN = "markdown"
    TEXT = "text"


class DocumentSummary(BaseModel):
    id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: date | None
    metadata: StoredMetadata
    char_count: int
    chunk_count: int
    format: FileFormat | None = Field(
        description="The kind of file it was read from (POST /v1/files); null when it was sent "
        "as text."
    )
    pages: int | None = Field(description="Pages of the PDF it was read from; null otherwise.")
    duplicate_of: str | None = Field(
        description="The id of the stored document this one nearly copies (the same text with "
        "another header or footer, re-wrapped, re-uploaded), found when it was written; null "
        "for an original. A search with exclude_duplicates leaves the copies out."
    )


_SUMMARY_EXAMPLE: JsonDict = {
    "id": "press-2025-11-18",
    "title": "Pakistan and China boost counter-terrorism cooperation",
    "source": "SouthAsianDesk",
    "url": None,
    "published_at": "2025-11-18",
    "metadata": {"lang": "en"},
    "char_count": 50,
    "chunk_count": 1,
    "format": None,
    "pages": None,
    "duplicate_of": None,
}


class Document(DocumentSummary):
    text: str = Field(description="The cleaned text; citation offsets index into it.")
    page_starts: list[int] | None = Field(
        description="Where each page of a PDF starts in the text, in the offset encoding asked "
        "for (pages are joined with a blank line); null for a document without pages."
    )

    model_config = _examples(
        _SUMMARY_EXAMPLE
        | {"text": "Pakistan and China agreed on Monday to enhance ...", "page_starts": None}
    )


class UploadedFile(DocumentSummary):
    status: Literal["created", "updated", "unchanged"] = Field(
        description="created: a new id; updated: the id held another document, now replaced; "
        "unchanged: the same text and fields were already stored."
    )

    model_config = _examples(
        _SUMMARY_EXAMPLE
        | {
            "id": "annual-report-2025",
            "title": "Annual Report 2025",
            "source": None,
            "published_at": "2025-02-03",
            "metadata": {"author": "Harbour Authority", "team": "finance"},
            "char_count": 777,
            "chunk_count": 2,
            "format": "pdf",
            "pages": 3,
            "status": "created",
        }
    )


# Offset pagination (documents, ingest jobs): the most an offset may be, far beyond any store
# and well inside SQLite's 64-bit integers.
MAX_OFFSET = 10**12


def next_offset(offset: int, returned: int, total: int) -> int | None:
    """The offset of the page after one of ``returned`` items at ``offset``; None on the last."""
    return offset + returned if offset + returned < total else None


class DocumentPage(BaseModel):
    items: list[DocumentSummary]
    total: int
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last one.")

    model_config = _examples(
        {"items": [_SUMMARY_EXAMPLE], "total": 1, "offset": 0, "limit": 50, "next_offset": None}
    )


class SearchFilters(_Strict):
    document_ids: list[DocumentId] | None = Field(None, max_length=1000)
    sources: list[Annotated[StoredText, StringConstraints(max_length=1000)]] | None = Field(
        None, max_length=1000
    )
    published_after: IsoDate | None = Field(None, description="Inclusive.")
    published_before: IsoDate | None = Field(
        None, description="Inclusive; not before published_after (422 otherwise)."
    )
    metadata: Metadata | None = Field(None, description="Every key must equal the given value.")


SearchModeIn = Literal["hybrid", "dense", "lexical"]
OffsetEncodingIn = Literal["utf-32", "utf-16", "utf-8"]
OFFSET_ENCODING_DESCRIPTION = (
    "The unit every char_start, char_end and char_count counts in, so that slicing the "
    "document text in the client's own language gives exactly the cited text: utf-32 (code "
    "points: Python; the default), utf-16 (code units: JavaScript, Java, C#, Dart) or utf-8 "
    "(bytes: Go, Rust, C)."
)
_MODE_DESCRIPTION = (
    "hybrid: dense and BM25 fused (default); dense: embeddings only; lexical: BM25 only."
)


# Bounds before the JSON-integer check, so the spec states them inside the nullable union.
GroupSize = Annotated[
    int, Field(ge=1, le=MAX_GROUP_SIZE), Strict(False), BeforeValidator(_json_integer)
]


class SearchRequest(_Strict):
    query: Text = Field(
        min_length=1,
        max_length=10_000,
        description="What to search for; must contain a visible character.",
        json_schema_extra=_NOT_BLANK,
    )
    k: JsonInt = Field(10, ge=1, le=100, description="Number of hits.")
    filters: SearchFilters | None = None
    mode: SearchModeIn = Field("hybrid", description=_MODE_DESCRIPTION)
    offset_encoding: OffsetEncodingIn = Field("utf-32", description=OFFSET_ENCODING_DESCRIPTION)
    min_score: float = Field(0.0, ge=0.0, le=1.0, description="Drop hits scoring below this.")
    highlights: JsonInt = Field(
        1,
        ge=0,
        le=MAX_HIGHLIGHTS,
        description="Sentences of each hit to mark as the best match for the query, best "
        "first; 0 for none.",
    )
    group_by: Literal["document"] | None = Field(
        None,
        description="'document': the best k documents instead of the best k passages, each "
        "with its best passage first and up to group_size passages; a document ranks by its "
        "best passage's score.",
    )
    group_size: GroupSize | None = Field(
        None,
        description="Most passages per document when grouping (1 when omitted); only with "
        "group_by.",
    )
    exclude_duplicates: bool = Field(
        False,
        description="Leave out documents that nearly copy another stored document (their "
        "duplicate_of is set), so one story syndicated ten times is found once.",
    )
    diversity: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Trade relevance for novelty among the passages (maximal marginal "
        "relevance over their vectors): 0 ranks by relevance alone (the default); higher "
        "values skip passages that repeat one already listed. Scores stay relevance scores.",
    )

    model_config = _examples(
        {"query": "suicide bombing outside the Islamabad district courts", "k": 3}
    )


class SearchBatchItem(SearchRequest):
    id: str | None = Field(
        None, max_length=256, description="Any label of yours, echoed in this item's result."
    )


class SearchBatchRequest(_Strict):
    requests: list[SearchBatchItem] = Field(
        min_length=1,
        description="At most SEMSEARCH_MAX_BATCH_QUERIES searches (default 100; 413 above), "
        "each a search request with an optional id.",
    )

    model_config = _examples(
        {
            "requests": [
                {
                    "id": "q1",
                    "query": "suicide bombing outside the Islamabad district courts",
                    "k": 1,
                },
                {"id": "q2", "query": "Gwadar port security", "k": 1, "mode": "lexical"},
            ]
        }
    )


class Citation(BaseModel):
    document_id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: date | None
    chunk_index: int
    char_start: int = Field(description="document.text[char_start:char_end] == hit.text")
    char_end: int
    page: int | None = Field(
        None,
        description="The 1-based page of char_start, in a document read from a PDF; null for "
        "a document without pages.",
    )
    page_end: int | None = Field(
        None, description="The page of the passage's last character (null without pages)."
    )


class Highlight(BaseModel):
    text: str = Field(description="A sentence of the hit: document.text[char_start:char_end].")
    char_start: int
    char_end: int
    score: float = Field(
        ge=0.0, le=1.0, description="Cosine similarity of the sentence and the query, clipped at 0."
    )


class SearchHit(BaseModel):
    chunk_id: int
    text: str
    score: float = Field(
        ge=0.0,
        le=1.0,
        description="Relevance in [0, 1], comparable across modes: dense = cosine similarity "
        "(clipped at 0); lexical = BM25 / (BM25 + 20); hybrid = the mean of the two.",
    )
    citation: Citation
    highlights: list[Highlight] = Field(
        description="The hit's sentences that best match the query, best first (as many as "
        "the request's highlights, fewer in a shorter passage)."
    )


class SearchGroup(BaseModel):
    document_id: str
    score: float = Field(ge=0.0, le=1.0, description="The document's best passage's score.")
    hits: list[SearchHit] = Field(description="The document's best passages, best first.")


class SearchResponse(BaseModel):
    query: str
    offset_encoding: OffsetEncodingIn = Field(description="The unit of every offset here.")
    hits: list[SearchHit] = Field(
        description="Best first; with group_by, every group's hits in the groups' order."
    )
    groups: list[SearchGroup] | None = Field(
        None,
        description="With group_by: the best documents (at most k), best first; null otherwise.",
    )

    model_config = _examples(
        {
            "query": "suicide bombing outside the Islamabad district courts",
            "offset_encoding": "utf-32",
            "hits": [
                {
                    "chunk_id": 40,
                    "text": "Pakistan China Security Ties Post Islamabad Blast\n\nThe suicide "
                    "bombing on November 11 struck outside the Islamabad district courts, ...",
                    "score": 0.582,
                    "citation": _CITATION_EXAMPLE
                    | {"chunk_index": 4, "char_start": 2039, "char_end": 2726},
                }
            ],
        }
    )


class SupportRequest(_Strict):
    claim: Text = Field(
        min_length=1,
        max_length=10_000,
        description="The statement to support; must contain a visible character.",
        json_schema_extra=_NOT_BLANK,
    )
    k: JsonInt = Field(5, ge=1, le=50, description="Most passages returned.")
    filters: SearchFilters | None = None
    mode: SearchModeIn = Field("hybrid", description=_MODE_DESCRIPTION)
    offset_encoding: OffsetEncodingIn = Field("utf-32", description=OFFSET_ENCODING_DESCRIPTION)
    min_support: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Best support needed for the verdict 'supported'; the measured default "
        "(SEMSEARCH_MIN_SUPPORT) when omitted.",
    )
    min_contradiction: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Best contradiction needed for the verdict 'contradicted' (a sufficient "
        "support must also be clearly beaten); the measured default "
        "(SEMSEARCH_MIN_CONTRADICTION) when omitted.",
    )

    model_config = _examples({"claim": _CLAIM_EXAMPLE, "k": 3})


class SupportBatchItem(SupportRequest):
    id: str | None = Field(
        None, max_length=256, description="Any label of yours, echoed in this item's result."
    )


class SupportBatchRequest(_Strict):
    requests: list[SupportBatchItem] = Field(
        min_length=1,
        description="At most SEMSEARCH_MAX_BATCH_QUERIES claims (default 100; 413 above), each "
        "a support request with an optional id.",
    )

    model_config = _examples({"requests": [{"id": "c1", "claim": _CLAIM_EXAMPLE, "k": 1}]})


class Evidence(BaseModel):
    text: str = Field(
        description="A sentence of the document, or a run of adjacent ones read as one "
        "premise: text[char_start:char_end]."
    )
    char_start: int
    char_end: int
    score: float = Field(
        ge=0.0,
        le=1.0,
        description="How strongly the sentence bears on the claim, either way (similarity, "
        "shared words, the passage's relevance); ranks evidence.",
    )
    stance: Literal["supports", "contradicts", "neutral"] = Field(
        description="What the stance model reads in the sentence: it supports the claim, "
        "contradicts it, or neither."
    )
    stance_probability: float = Field(
        ge=0.0, le=1.0, description="Calibrated probability of that stance."
    )
    page: int | None = Field(
        None,
        description="The 1-based page the sentence starts on, in a document read from a "
        "PDF; null for a document without pages.",
    )


class SupportingPassage(BaseModel):
    text: str
    support: float = Field(
        ge=0.0,
        le=1.0,
        description="Calibrated probability that the passage supports the claim (its best "
        "evidence sentence's).",
    )
    contradiction: float = Field(
        ge=0.0,
        le=1.0,
        description="Calibrated probability that the passage contradicts the claim (its best "
        "evidence sentence's).",
    )
    relevance: float = Field(
        ge=0.0, le=1.0, description="Retrieval score of the passage, as search reports it."
    )
    evidence: list[Evidence] = Field(description="Best sentences first (at most 3).")
    citation: Citation


class SupportResponse(BaseModel):
    claim: str
    offset_encoding: OffsetEncodingIn = Field(description="The unit of every offset here.")
    verdict: Literal["supported", "contradicted", "insufficient_evidence"] = Field(
        description="'supported' when the best support reaches min_support and no "
        "contradiction beats it by more than the fitted margin; else 'contradicted' when the "
        "best contradiction reaches min_contradiction; else 'insufficient_evidence'."
    )
    support: float = Field(ge=0.0, le=1.0, description="The best passage's support.")
    contradiction: float = Field(ge=0.0, le=1.0, description="The best passage's contradiction.")
    passages: list[SupportingPassage] = Field(
        description="Most contradicting first when the verdict is 'contradicted', otherwise "
        "best supported first."
    )

    model_config = _examples(
        {
            "claim": _CLAIM_EXAMPLE,
            "offset_encoding": "utf-32",
            "verdict": "supported",
            "support": 0.86,
            "contradiction": 0.68,
            "passages": [
                {
                    "text": "Pakistan, China Boost Counter-Terrorism Cooperation After Blast "
                    "Kills 12\n\nISLAMABAD: ...",
                    "support": 0.86,
                    "contradiction": 0.112,
                    "relevance": 0.603,
                    "evidence": [
                        {
                            "text": "The discussions, held in Islamabad, focused on security "
                            "ties following a suicide bombing near the district courts that "
                            "killed 12 people and injured 36 others. Both sides condemned the "
                            "attack, claimed by a Tehreek-e-Taliban Pakistan faction, and "
                            "committed to joint efforts against terrorism.",
                            "char_start": 258,
                            "char_end": 548,
                            "score": 0.643,
                            "stance": "supports",
                            "stance_probability": 0.86,
                        }
                    ],
                    "citation": _CITATION_EXAMPLE,
                }
            ],
        }
    )


class IndexStats(BaseModel):
    collection: str = Field(description="The collection counted.")
    documents: int
    chunks: int
    vectors: int
    model: str
    dimension: int
    index_type: str
    backend: Literal["embedded", "postgresql"] = Field(
        description="Where documents and vectors live: SQLite + FAISS in this server's data "
        "directory, or a PostgreSQL database that several servers may share."
    )
    database: str | None = Field(
        description="The PostgreSQL database's URL with its password hidden; null when embedded."
    )

    model_config = _examples(
        {
            "collection": "default",
            "documents": 5,
            "chunks": 65,
            "vectors": 65,
            "model": "sentence-transformers/all-MiniLM-L6-v2",
            "dimension": 384,
            "index_type": "flat-ip",
            "backend": "embedded",
            "database": None,
        }
    )


class Health(BaseModel):
    status: Literal["ok"]

    model_config = _examples({"status": "ok"})


class Readiness(BaseModel):
    status: Literal["ready"]
    documents: int
    vectors: int

    model_config = _examples({"status": "ready", "documents": 5, "vectors": 65})


class IngestJobRequest(_Strict):
    """An ingest job's body as application/json (application/x-ndjson: one document a line)."""

    documents: list[NewDocument] = Field(
        min_length=1,
        description="At most SEMSEARCH_MAX_JOB_DOCUMENTS documents (default 1,000,000; 413 "
        "above). What only the engine can tell (a text that cleans to nothing, or is too long "
        "once normalised) is checked when the job runs: such a document is skipped and listed "
        "in the job's `errors`, the others are ingested; a later document with an id replaces "
        "an earlier one.",
    )

    model_config = _examples(
        {
            "documents": [
                {"id": "a", "text": "First document."},
                {"id": "b", "text": "Second document.", "metadata": {"lang": "en"}},
            ]
        }
    )


class IngestJobError(BaseModel):
    """A record the job did not ingest, where it was in the body, and why."""

    line: int | None = Field(description="1-based line of an NDJSON body; null for JSON.")
    index: int | None = Field(description="0-based index in a JSON body's `documents`.")
    id: str | None = Field(description="The record's document id, when it had one.")
    field: str = Field(description="The failing field; empty for the record as a whole.")
    message: str


_JOB_EXAMPLE: JsonDict = {
    "id": "5f0c6a1e9b7d4c2a8e3f1d6b0a9c7e21",
    "collection": "default",
    "status": "succeeded",
    "total": 3,
    "done": 2,
    "failed": 1,
    "errors": [
        {"line": 2, "index": None, "id": "b", "field": "text", "message": "must contain text"}
    ],
    "created_at": "2026-11-30T12:00:00.120000Z",
    "started_at": "2026-11-30T12:00:00.150000Z",
    "finished_at": "2026-11-30T12:00:00.910000Z",
    "error": None,
}


class IngestJob(BaseModel):
    id: str
    collection: str = Field(description="The collection the job writes to.")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"] = Field(
        description="queued, then running, then succeeded (bad records do not fail a job: "
        "`failed` counts them), failed (`error` says why; what was committed stays) or "
        "cancelled."
    )
    total: int = Field(description="Records received.")
    done: int = Field(description="Records ingested (created, updated or unchanged).")
    failed: int = Field(description="Records refused; `errors` lists them.")
    errors: list[IngestJobError] = Field(
        description="The refused records in body order: the first 1,000 (`failed` counts all)."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(description="Why a failed job stopped; null otherwise.")

    model_config = _examples(_JOB_EXAMPLE)


class IngestJobPage(BaseModel):
    items: list[IngestJob] = Field(description="Newest first, without their `errors`.")
    total: int
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last one.")

    model_config = _examples(
        {
            "items": [_JOB_EXAMPLE | {"errors": []}],
            "total": 1,
            "offset": 0,
            "limit": 50,
            "next_offset": None,
        }
    )


_COLLECTION_EXAMPLE: JsonDict = {
    "name": "news",
    "documents": 5,
    "chunks": 65,
    "created_at": "2026-11-30T12:00:00.120000Z",
}


class NewCollection(_Strict):
    name: CollectionName = Field(
        description="1 to 63 lower-case ASCII letters, digits, `_` or `-`, starting with a "
        "letter or digit (so no dots, slashes, spaces or look-alike letters)."
    )

    model_config = _examples({"name": "news"})


class Collection(BaseModel):
    """A named set of documents: ids, search and support stay inside it."""

    name: str
    documents: int
    chunks: int
    created_at: datetime

    model_config = _examples(_COLLECTION_EXAMPLE)


class CollectionList(BaseModel):
    items: list[Collection] = Field(
        description="By name; `default` always among them (for a key restricted to one "
        "collection, only that one)."
    )
    total: int = Field(description="Collections in all (that this key may see).")
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last one.")

    model_config = _examples(
        {
            "items": [
                _COLLECTION_EXAMPLE
                | {"name": "default", "created_at": "2026-11-01T09:00:00.000000Z"},
                _COLLECTION_EXAMPLE,
            ],
            "total": 2,
            "offset": 0,
            "limit": 50,
            "next_offset": None,
        }
    )


_SNAPSHOT_EXAMPLE: JsonDict = {
    "id": "20261205T214500Z-5f0c6a1e",
    "status": "ready",
    "created_at": "2026-12-05T21:45:00.120000Z",
    "collections": ["default", "news"],
    "documents": 5,
    "chunks": 65,
    "bytes": 412160,
    "sha256": "9b1f6c1f0a0d7e6c54f0e3f6a2d5b8c7e4f1a9d2c3b6e5f8a7d0c1b2e3f4a5b6",
    "error": None,
    "generations": {"default": "7", "news": "2"},
}


class Snapshot(BaseModel):
    id: str
    status: Literal["running", "ready", "failed"] = Field(
        description="running while the archive is written, then ready (download it) or failed "
        "(`error` says why; no archive is kept)."
    )
    created_at: datetime = Field(description="When it began: the moment it reflects.")
    collections: list[str] = Field(description="The collections it holds.")
    documents: int | None = Field(description="Documents in it, once ready.")
    chunks: int | None = Field(description="Chunks in it (each with its vector), once ready.")
    bytes: int | None = Field(description="The archive's size, once ready.")
    sha256: str | None = Field(description="The archive's SHA-256, to check a copy against.")
    error: str | None = Field(description="Why a failed snapshot stopped; null otherwise.")
    generations: dict[str, str] | None = Field(
        description="Once ready, the state of each collection's store it reflects: the "
        "collection's count of writes on the embedded store, the transaction snapshot "
        "(`pg_current_snapshot()`) on PostgreSQL.",
    )

    model_config = _examples(_SNAPSHOT_EXAMPLE)


class SnapshotList(BaseModel):
    items: list[Snapshot] = Field(description="Newest first.")

    model_config = _examples({"items": [_SNAPSHOT_EXAMPLE]})


class SearchBatchResult(BaseModel):
    id: str | None = Field(description="The request's id.")
    response: SearchResponse | None = Field(
        description="What POST /v1/search answers for the request; null when it was refused."
    )
    error: Problem | None = Field(
        description="Why the request was refused, as POST /v1/search would say it (status, "
        "failing fields); null when it was answered."
    )


class SearchBatchResponse(BaseModel):
    results: list[SearchBatchResult] = Field(description="One per request, in their order.")

    model_config = _examples(
        {
            "results": [
                {
                    "id": "q1",
                    "response": {
                        "query": "suicide bombing outside the Islamabad district courts",
                        "offset_encoding": "utf-32",
                        "hits": [
                            {
                                "chunk_id": 40,
                                "score": 0.586,
                                "citation": _CITATION_EXAMPLE
                                | {"chunk_index": 4, "char_start": 2039, "char_end": 2726},
                            }
                        ],
                        "groups": None,
                    },
                    "error": None,
                },
                {
                    "id": "q2",
                    "response": {"query": "Gwadar port security", "hits": [{"chunk_id": 55}]},
                    "error": None,
                },
            ]
        }
    )


class SupportBatchResult(BaseModel):
    id: str | None = Field(description="The request's id.")
    response: SupportResponse | None = Field(
        description="What POST /v1/passages/support answers for the claim; null when it was "
        "refused."
    )
    error: Problem | None = Field(
        description="Why the request was refused, as POST /v1/passages/support would say it; "
        "null when it was answered."
    )


class SupportBatchResponse(BaseModel):
    results: list[SupportBatchResult] = Field(description="One per request, in their order.")

    model_config = _examples(
        {
            "results": [
                {
                    "id": "c1",
                    "response": {"claim": _CLAIM_EXAMPLE, "verdict": "supported", "support": 0.832},
                    "error": None,
                }
            ]
        }
    )
