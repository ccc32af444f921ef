"""Taking in an ingest job's body: spooled to disk as it streams in (bounded by
SEMSEARCH_MAX_JOB_BYTES), then cut into records as received (one per NDJSON line, or per element
of a JSON body's `documents`). Records are checked one by one when the job runs, by
``parse_record``, against the same schema as a synchronous upsert."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import IO

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from index.jobs.models import JobRecord, RecordProblem
from index.models import DocumentInput
from index.text import VISIBLE_CHARACTER_PATTERN
from service.errors import (
    ContentTooLargeError,
    InvalidRequestError,
    MalformedBodyError,
    field_path,
)
from service.guards import media_type, refuse_media_type
from service.schemas import IngestJobRequest, NewDocument

NDJSON = "application/x-ndjson"
JSON = "application/json"
_IN_MEMORY = 8 * 1024 * 1024
_VISIBLE = re.compile(
    VISIBLE_CHARACTER_PATTERN
)  # a body larger than this is spooled to a temporary file


def body_format(content_type: str | None) -> str:
    """NDJSON or JSON, from the Content-Type header; 415 for anything else."""
    kind = media_type(content_type)
    if kind in (NDJSON, JSON):
        return kind
    refuse_media_type(content_type, f"{JSON} or {NDJSON}")


async def spooled(chunks: AsyncIterator[bytes], declared: str | None, max_bytes: int) -> IO[bytes]:
    """The body in a temporary file (in memory while small); 413 as soon as it passes
    ``max_bytes``, declared or counted."""
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    spool = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115 (returned)
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _too_large(max_bytes: int) -> ContentTooLargeError:
    return ContentTooLargeError(
        "body", f"is larger than {max_bytes} bytes (SEMSEARCH_MAX_JOB_BYTES)"
    )


def ndjson_records(body: IO[bytes]) -> Iterator[JobRecord]:
    """One record per line that is not blank, with its 1-based line number; a line that is
    not UTF-8 becomes a record without a body (refused when the job runs)."""
    position = 0
    for number, raw in enumerate(body, start=1):
        try:
            line: str | None = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = None
        if line is not None and not line.strip():
            continue
        yield JobRecord(position, number, None, line.rstrip("\r\n") if line else None)
        position += 1


def json_records(body: IO[bytes]) -> list[JobRecord]:
    """One record per document of a JSON body, with its index. The body is checked against
    the schema on arrival, as an upsert is (a generated client sends it typed); what only
    the engine can tell (a text that cleans to nothing, one too long once normalised) is
    refused per record when the job runs.

    Raises:
        MalformedBodyError: the body is not JSON.
        RequestValidationError: it does not match IngestJobRequest (422 naming each field).
        InvalidRequestError: a text without a visible character.
    """
    try:
        request = IngestJobRequest.model_validate_json(body.read())
    except ValidationError as error:
        if any(e["type"] == "json_invalid" for e in error.errors()):
            raise MalformedBodyError from None
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
        ) from None
    for index, document in enumerate(request.documents):
        if not _VISIBLE.search(document.text):
            raise InvalidRequestError(f"documents[{index}].text", "must contain text")
    return [
        JobRecord(index, None, index, document.model_dump_json(exclude_unset=True))
        for index, document in enumerate(request.documents)
    ]


def parse_record(body: str) -> DocumentInput:
    """A record as a document, checked like one document of a synchronous upsert.

    Raises:
        RecordProblem: the first thing wrong with it.
    """
    try:
        document = NewDocument.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        if first["type"] == "json_invalid":
            raise RecordProblem("", first["msg"]) from None
        if first["type"] == "model_type" or not first["loc"]:
            raise RecordProblem("", "must be a JSON object (a document)") from None
        raise RecordProblem(field_path(first["loc"]), first["msg"], _stated_id(body)) from None
    return DocumentInput(**document.model_dump())


def _stated_id(body: str) -> str | None:
    """The id a refused record states, if it states one that is a string."""
    stated = json.loads(body).get("id")
    return stated if isinstance(stated, str) else None
