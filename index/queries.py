"""What a search or a support request asks, as one object each, and the checks they pass
before anything is retrieved."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from index.errors import InvalidInputError
from index.metadata import check_metadata, check_text
from index.models import (
    DEFAULT_COLLECTION,
    MAX_GROUP_SIZE,
    MAX_HIGHLIGHTS,
    OffsetEncoding,
    SearchFilters,
    SearchMode,
)
from index.text import repair_text


@dataclass(frozen=True)
class SearchQuery:
    """The ``k`` chunks most relevant to ``text``.

    ``filters`` restrict the chunks before ranking; ``mode`` is hybrid (dense + BM25), dense or
    lexical; hits scoring below ``min_score`` are dropped (scores are in [0, 1] in every mode);
    offsets count in ``offset_encoding``; only ``collection``'s documents are searched.

    Each hit carries its ``highlights`` best sentences. ``group_by`` "document" returns the
    best k documents instead, each with up to ``group_size`` passages; ``diversity`` (0 to 1)
    trades relevance for novelty among the passages (maximal marginal relevance).
    """

    text: str
    k: int = 10
    filters: SearchFilters | None = None
    mode: SearchMode = SearchMode.HYBRID
    min_score: float = 0.0
    offset_encoding: OffsetEncoding = OffsetEncoding.UTF32
    collection: str = DEFAULT_COLLECTION
    highlights: int = 1
    group_by: Literal["document"] | None = None
    group_size: int = 1
    diversity: float = 0.0

    def checked(self, max_chars: int) -> SearchQuery:
        """This query with its text repaired; InvalidInputError names what is wrong."""
        if not 0 <= self.highlights <= MAX_HIGHLIGHTS:
            raise InvalidInputError("highlights", f"must be between 0 and {MAX_HIGHLIGHTS}")
        if self.group_by not in (None, "document"):
            raise InvalidInputError("group_by", "must be 'document' or absent")
        if not 1 <= self.group_size <= MAX_GROUP_SIZE:
            raise InvalidInputError("group_size", f"must be between 1 and {MAX_GROUP_SIZE}")
        if self.group_size > 1 and self.group_by is None:
            raise InvalidInputError("group_size", "needs group_by")
        if not 0.0 <= self.diversity <= 1.0:
            raise InvalidInputError("diversity", "must be between 0 and 1")
        return replace(self, text=_checked(self.text, "query", self.k, self.filters, max_chars))


@dataclass(frozen=True)
class SupportQuery:
    """The passages, and the sentences in them, that support or contradict ``claim``.

    At most ``k`` passages (overlapping windows of a document count as one), retrieved as a
    search would; ``min_support`` and ``min_contradiction`` override the engine's verdict
    thresholds when given.
    """

    claim: str
    k: int = 5
    filters: SearchFilters | None = None
    mode: SearchMode = SearchMode.HYBRID
    min_support: float | None = None
    offset_encoding: OffsetEncoding = OffsetEncoding.UTF32
    min_contradiction: float | None = None
    collection: str = DEFAULT_COLLECTION

    def checked(self, max_chars: int) -> SupportQuery:
        """This request with its claim repaired; InvalidInputError names what is wrong."""
        return replace(self, claim=_checked(self.claim, "claim", self.k, self.filters, max_chars))


def _checked(text: str, field: str, k: int, filters: SearchFilters | None, max_chars: int) -> str:
    """A query or claim, repaired and checked, with its k and filters."""
    text = repair_text(text)
    if not text:
        raise InvalidInputError(field, "must contain text")
    if len(text) > max_chars:
        raise InvalidInputError(
            field, f"has {len(text)} characters once normalised; the limit is {max_chars}"
        )
    if k < 1:
        raise InvalidInputError("k", "must be at least 1")
    if filters:
        _check_filters(filters)
    return text


def _check_filters(filters: SearchFilters) -> None:
    after, before = filters.published_after, filters.published_before
    if after and before and after > before:
        raise InvalidInputError("filters.published_after", "must not be after published_before")
    for position, source in enumerate(filters.sources or ()):
        check_text(source, f"filters.sources[{position}]")
    check_metadata(filters.metadata or {}, "filters.metadata")
