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


class SearchRequest(_Strict):
    query: str = Field(min_length=1, max_length=10_000)
    k: int = Field(10, ge=1, le=100, description="Number of hits.")
    filters: SearchFiltersIn | None = None

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
    score: float = Field(description="Cosine similarity of query and chunk embeddings, -1..1.")
    citation: CitationOut


class SearchResponse(BaseModel):
    query: str
    hits: list[SearchHitOut]


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
