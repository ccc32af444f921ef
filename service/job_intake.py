"""Taking in an ingest job's body: spooled to disk as it streams in (bounded by
SEMSEARCH_MAX_JOB_BYTES), then cut into records as it is read back, one at a time (one per
NDJSON line, or per element of a JSON body's `documents`), so a body of any size leaves the
server's memory where it was. Records are checked one by one when the job runs, by
``parse_record``, against the same schema as a synchronous upsert."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any

import ijson
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from index.jobs.models import JobRecord, RecordError, RecordProblem
from index.models import DocumentInput
from index.text import VISIBLE_CHARACTER_PATTERN
from service.errors import (
    ContentTooLargeError,
    MalformedBodyError,
    field_path,
)
from service.guards import media_type, refuse_media_type
from service.schemas import NewDocument

NDJSON = "application/x-ndjson"
JSON = "application/json"
_IN_MEMORY = 8 * 1024 * 1024  # a body larger than this is spooled to a temporary file
_VISIBLE = re.compile(VISIBLE_CHARACTER_PATTERN)
_BOM = b"\xef\xbb\xbf"
_READ = 1024 * 1024  # bytes read at a time while skipping an over-long line
_LISTED = 100  # schema errors listed in one 422 (the first ones)
# The parser's events around the documents: {"documents": [ ... ]}
_FRAME = {
    ("", "start_map"),
    ("", "end_map"),
    ("documents", "start_array"),
    ("documents", "end_array"),
}


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


def ndjson_records(body: IO[bytes], max_line_bytes: int) -> Iterator[JobRecord | RecordError]:
    """One record per line that is not blank, with its 1-based line number; a line that is
    not UTF-8 becomes a record without a body (refused when the job runs), and one longer
    than ``max_line_bytes`` (no document sent synchronously could be) is refused at once,
    without being held. A UTF-8 byte order mark before the first line is dropped."""
    position = 0
    number = 0
    while raw := body.readline(max_line_bytes + 1):
        number += 1
        if number == 1:
            raw = raw.removeprefix(_BOM)
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            _skip_line(body)
            yield RecordError(
                position,
                number,
                None,
                None,
                "",
                f"is longer than {max_line_bytes} bytes (SEMSEARCH_MAX_REQUEST_BYTES)",
            )
            position += 1
            continue
        try:
            line: str | None = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = None
        if line is not None and not line.strip():
            continue
        yield JobRecord(position, number, None, line.rstrip("\r\n") if line else None)
        position += 1


def _skip_line(body: IO[bytes]) -> None:
    """Read past the rest of the current line, a bounded piece at a time."""
    while (piece := body.readline(_READ)) and not piece.endswith(b"\n"):
        pass


def json_records(body: IO[bytes]) -> Iterator[JobRecord]:
    """One record per document of a JSON body (``{"documents": [...]}``), with its index,
    read one document at a time. The body is checked against the schema as it is read, as an
    upsert's is (a generated client sends it typed); what only the engine can tell (a text
    that cleans to nothing, one too long once normalised) is refused per record when the job
    runs. Nothing is kept of a body that fails: the caller stores the records in one
    transaction, which the error raised at the end rolls back.

    Raises:
        MalformedBodyError: the body is not JSON.
        RequestValidationError: it does not match IngestJobRequest (422 naming each field,
            the first 100).
    """
    problems = _Problems()
    count = 0
    try:
        for index, element in enumerate(_documents(body, problems)):
            count += 1
            text = json.dumps(element, allow_nan=False)  # \u-escaped, as it came
            try:
                document = NewDocument.model_validate_json(text)
            except ValidationError as error:
                for e in error.errors():
                    problems.add(("documents", index, *e["loc"]), e["msg"], e["type"])
                continue
            if not _VISIBLE.search(document.text):
                problems.add(("documents", index, "text"), "must contain text")
                continue
            yield JobRecord(index, None, index, document.model_dump_json(exclude_unset=True))
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError):
        raise MalformedBodyError from None
    if count == 0 and not problems.found:  # `documents` is there, and empty
        problems.add(("documents",), "List should have at least 1 item")
    if problems.found:
        raise RequestValidationError(problems.found)


def _documents(body: IO[bytes], problems: _Problems) -> Iterator[object]:
    """The elements of the body's ``documents`` array, built one at a time from the parser's
    events; what else the body holds is added to ``problems`` (an unknown key's value is
    skipped without being built)."""
    seen = 0
    building: Any = None  # the element being built, or None while skipping a value
    depth = 0  # inside an element (or a skipped value): how deep
    for prefix, event, value in ijson.parse(body, use_float=True):
        if depth:
            if building is not None:
                building.event(event, value)
            depth += event in ("start_map", "start_array")
            depth -= event in ("end_map", "end_array")
            if not depth and building is not None:
                yield building.value
            continue
        nested = event in ("start_map", "start_array")
        if prefix == "documents.item":  # an element begins (or is a scalar)
            if nested:
                building = ijson.ObjectBuilder()
                building.event(event, value)
                depth = 1
            else:
                yield value
        elif prefix == "" and event == "map_key":
            seen += value == "documents"
            if value != "documents":
                problems.add((value,), "Extra inputs are not permitted")
            elif seen > 1:
                problems.add(("documents",), "must appear once")
        elif (prefix, event) in _FRAME:
            continue
        elif prefix == "":
            problems.add((), "Input should be an object")
            raise RequestValidationError(problems.found)
        elif prefix == "documents":
            problems.add(("documents",), "Input should be a valid list")
            building, depth = None, int(nested)  # skip it
        else:  # the value of an unknown key
            building, depth = None, int(nested)
    if not seen:
        problems.add(("documents",), "Field required")


class _Problems:
    """What is wrong with a body, as FastAPI's validation errors: the first _LISTED only,
    however many a hostile body holds."""

    def __init__(self) -> None:
        self.found: list[dict[str, Any]] = []

    def add(self, location: tuple[Any, ...], message: str, kind: str = "value_error") -> None:
        if len(self.found) < _LISTED:
            self.found.append({"type": kind, "loc": ("body", *location), "msg": message})


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
