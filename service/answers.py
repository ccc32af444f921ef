"""Search and support answers as the API gives them, made in one place for the routes, the
batch routes and the CLI's JSON lines, so all three answer a request alike."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from index import models
from index.engine import SearchEngine
from index.errors import InvalidInputError
from index.models import OffsetEncoding, SearchMode
from index.queries import SearchQuery, SupportQuery
from index.text import VISIBLE_CHARACTER_PATTERN
from service.errors import (
    InvalidRequestError,
    RequestRejectedError,
    input_problem,
    rejection_problem,
    validation_problem,
)
from service.guards import check_query_limits
from service.schemas import (
    Problem,
    SearchFilters,
    SearchGroup,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SupportingPassage,
    SupportRequest,
    SupportResponse,
)
from service.settings import Settings

Item = TypeVar("Item")
Answer = TypeVar("Answer")


def to_filters(
    filters: SearchFilters | None, exclude_duplicates: bool = False
) -> models.SearchFilters | None:
    if filters is None and not exclude_duplicates:
        return None
    fields = filters.model_dump() if filters else {}
    return models.SearchFilters(**fields, exclude_duplicates=exclude_duplicates)


def search_query(body: SearchRequest, collection: str, settings: Settings) -> SearchQuery:
    """The engine's query for a search request, within the operator's limits.

    Raises:
        InvalidRequestError: over a limit the settings lowered, or group_size without group_by.
    """
    check_query_limits("query", body.query, body.k, settings.max_query_chars, settings.max_k)
    if body.group_size is not None and body.group_by is None:
        raise InvalidInputError("group_size", "is only allowed with group_by")
    return SearchQuery(
        text=body.query,
        k=body.k,
        filters=to_filters(body.filters, body.exclude_duplicates),
        mode=SearchMode(body.mode),
        min_score=body.min_score,
        offset_encoding=OffsetEncoding(body.offset_encoding),
        collection=collection,
        highlights=body.highlights,
        group_by=body.group_by,
        group_size=body.group_size or 1,
        diversity=body.diversity,
    )


def search_response(body: SearchRequest, found: list[models.SearchHit]) -> SearchResponse:
    hits = [SearchHit.model_validate(hit, from_attributes=True) for hit in found]
    return SearchResponse(
        query=body.query,
        offset_encoding=body.offset_encoding,
        hits=hits,
        groups=_groups(hits) if body.group_by else None,
    )


def _groups(hits: list[SearchHit]) -> list[SearchGroup]:
    """A grouped search's hits, which come document by document, as groups."""
    groups: list[SearchGroup] = []
    for hit in hits:
        if not groups or groups[-1].document_id != hit.citation.document_id:
            group = SearchGroup(document_id=hit.citation.document_id, score=hit.score, hits=[])
            groups.append(group)
        groups[-1].hits.append(hit)
    return groups


def support_query(body: SupportRequest, collection: str, settings: Settings) -> SupportQuery:
    """The engine's query for a support request, within the operator's limits."""
    check_query_limits("claim", body.claim, body.k, settings.max_query_chars, settings.max_k)
    return SupportQuery(
        claim=body.claim,
        k=body.k,
        filters=to_filters(body.filters),
        mode=SearchMode(body.mode),
        min_support=body.min_support,
        offset_encoding=OffsetEncoding(body.offset_encoding),
        min_contradiction=body.min_contradiction,
        collection=collection,
    )


def support_response(body: SupportRequest, result: models.SupportResult) -> SupportResponse:
    return SupportResponse(
        claim=result.claim,
        offset_encoding=body.offset_encoding,
        verdict=result.verdict,
        support=result.support,
        contradiction=result.contradiction,
        passages=[
            SupportingPassage.model_validate(p, from_attributes=True) for p in result.passages
        ],
    )


def search_answer(
    engine: SearchEngine, body: SearchRequest, collection: str, settings: Settings
) -> SearchResponse:
    """Answer one search request, on this thread.

    Raises:
        InvalidInputError, RequestRejectedError: what ``item_problem`` turns into the problem
        the API answers.
    """
    return search_response(body, engine.search(search_query(body, collection, settings)))


def support_answer(
    engine: SearchEngine, body: SupportRequest, collection: str, settings: Settings
) -> SupportResponse:
    """Answer one support request, on this thread (raises as search_answer)."""
    return support_response(body, engine.support(support_query(body, collection, settings)))


def check_batch_texts(texts: list[str], field: str) -> None:
    """422 for a batch whose request text has no visible character (the spec's pattern for
    it), naming ``requests[i].field``: a body the schema forbids is refused whole."""
    for position, text in enumerate(texts):
        if not _VISIBLE.search(text):
            raise InvalidRequestError(f"requests[{position}].{field}", "must contain text")


_VISIBLE = re.compile(VISIBLE_CHARACTER_PATTERN)


def answer_fields(
    kind: Literal["search", "support"],
    engine: SearchEngine,
    fields: dict[str, Any],
    collection: str,
    settings: Settings,
) -> SearchResponse | SupportResponse:
    """Validate a search or support request given as JSON fields (as the CLI reads them)
    and answer it; raises one of ITEM_ERRORS when the API would refuse it."""
    if kind == "search":
        search = SearchRequest.model_validate(fields)
        return search_answer(engine, search, collection, settings)
    claim = SupportRequest.model_validate(fields)
    return support_answer(engine, claim, collection, settings)


def answered_each(
    items: Sequence[Item], answer: Callable[[Item], Answer]
) -> list[tuple[Answer | None, Problem | None]]:
    """Each item's answer, or the problem it is refused with (ITEM_ERRORS), in order."""
    out: list[tuple[Answer | None, Problem | None]] = []
    for item in items:
        try:
            out.append((answer(item), None))
        except ITEM_ERRORS as error:
            out.append((None, item_problem(error)))
    return out


# What one item of a batch may be refused for; the rest (a missing collection, storage down)
# concerns the whole batch.
ITEM_ERRORS = (ValidationError, InvalidInputError, RequestRejectedError)


def item_problem(error: Exception) -> Problem:
    """The problem the API answers for one of ITEM_ERRORS, as one item of a batch gets it."""
    if isinstance(error, ValidationError):
        return validation_problem(error.errors())
    if isinstance(error, InvalidInputError):
        return input_problem(error)
    assert isinstance(error, RequestRejectedError)
    return rejection_problem(error)
