"""The public contract: request and response models, separate from the database tables."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from index.engine import DOCUMENT_ID_PATTERN

MetadataValue = str | int | float | bool
DocumentId = Annotated[str, StringConstraints(pattern=DOCUMENT_ID_PATTERN)]


class _Strict(BaseModel):
    """Request bodies reject unknown fields, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the failing field, e.g. filters.sources[0].")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(default_factory=list)


class DocumentIn(_Strict):
    id: DocumentId | None = Field(
        None, description="Stable id; generated when omitted. Upserting an id replaces it."
    )
    title: str | None = Field(None, max_length=1000)
    text: str = Field(min_length=1, description="Raw text; cleaned before it is stored.")
    source: str | None = Field(None, max_length=1000, description="Publisher or origin.")
    url: str | None = Field(None, max_length=4000)
    published_at: date | None = None
    metadata: dict[str, MetadataValue] = Field(
        default_factory=dict, description="Flat key/value pairs, filterable by equality."
    )


class UpsertRequest(_Strict):
    documents: list[DocumentIn] = Field(min_length=1, max_length=1000)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
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
            ]
        },
    )


class UpsertResultOut(BaseModel):
    id: str
    status: Literal["created", "updated", "unchanged"]
    chunk_count: int


class UpsertResponse(BaseModel):
    results: list[UpsertResultOut]


class DocumentSummaryOut(BaseModel):
    id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: date | None
    metadata: dict[str, MetadataValue]
    char_count: int
    chunk_count: int


class DocumentOut(DocumentSummaryOut):
    text: str = Field(description="The cleaned text; citation offsets index into it.")


class DocumentPageOut(BaseModel):
    items: list[DocumentSummaryOut]
    total: int
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last one.")


class SearchFiltersIn(_Strict):
    document_ids: list[DocumentId] | None = Field(None, max_length=1000)
    sources: list[str] | None = Field(None, max_length=1000)
    published_after: date | None = Field(None, description="Inclusive.")
    published_before: date | None = Field(None, description="Inclusive.")
    metadata: dict[str, MetadataValue] | None = Field(
        None, description="Every key must equal the given value."
    )


SearchModeIn = Literal["hybrid", "dense", "lexical"]
_MODE_DESCRIPTION = (
    "hybrid: dense and BM25 fused (default); dense: embeddings only; lexical: BM25 only."
)


class SearchRequest(_Strict):
    query: str = Field(min_length=1, max_length=10_000)
    k: int = Field(10, ge=1, le=100, description="Number of hits.")
    filters: SearchFiltersIn | None = None
    mode: SearchModeIn = Field("hybrid", description=_MODE_DESCRIPTION)
    min_score: float = Field(0.0, ge=0.0, le=1.0, description="Drop hits scoring below this.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"query": "suicide bombing outside the Islamabad district courts", "k": 3}]
        },
    )


class CitationOut(BaseModel):
    document_id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: date | None
    chunk_index: int
    char_start: int = Field(description="document.text[char_start:char_end] == hit.text")
    char_end: int


class SearchHitOut(BaseModel):
    chunk_id: int
    text: str
    score: float = Field(
        ge=0.0,
        le=1.0,
        description="Relevance in [0, 1], comparable across modes: dense = cosine similarity "
        "(clipped at 0); lexical = BM25 / (BM25 + 20); hybrid = the mean of the two.",
    )
    citation: CitationOut


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHitOut]


class SupportRequest(_Strict):
    claim: str = Field(min_length=1, max_length=10_000, description="The statement to support.")
    k: int = Field(5, ge=1, le=50, description="Most passages returned.")
    filters: SearchFiltersIn | None = None
    mode: SearchModeIn = Field("hybrid", description=_MODE_DESCRIPTION)
    min_support: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Support needed for the verdict 'supported'; the calibrated default "
        "(SEMSEARCH_MIN_SUPPORT) when omitted.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"claim": "A suicide bombing near the Islamabad courts killed 12 people.", "k": 3}
            ]
        },
    )


class EvidenceOut(BaseModel):
    text: str = Field(description="A sentence of the document: text[char_start:char_end].")
    char_start: int
    char_end: int
    score: float = Field(ge=0.0, le=1.0, description="Cosine similarity to the claim, >= 0.")


class SupportingPassageOut(BaseModel):
    text: str
    support: float = Field(
        ge=0.0, le=1.0, description="Calibrated probability that the passage supports the claim."
    )
    relevance: float = Field(
        ge=0.0, le=1.0, description="Retrieval score of the passage, as search reports it."
    )
    evidence: list[EvidenceOut] = Field(description="Best sentences first (at most 3).")
    citation: CitationOut


class SupportResponse(BaseModel):
    claim: str
    verdict: Literal["supported", "insufficient_evidence"]
    support: float = Field(ge=0.0, le=1.0, description="The best passage's support.")
    passages: list[SupportingPassageOut] = Field(description="Best supported first.")


class StatsOut(BaseModel):
    documents: int
    chunks: int
    vectors: int
    model: str
    dimension: int
    index_type: str


class HealthOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ready"]
    documents: int
    vectors: int
