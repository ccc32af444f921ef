"""Errors as RFC 9457 problem details (application/problem+json), each naming the failing field."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from index.errors import (
    CollectionExistsError,
    CollectionLimitError,
    CollectionNotFoundError,
    CollectionProtectedError,
    DocumentNotFoundError,
    FileTooLargeError,
    InputTooLargeError,
    InvalidInputError,
    StorageError,
    StorageFullError,
    UnsupportedFileError,
)
from index.jobs.models import JobFinishedError, JobNotFoundError, TooManyJobsError
from index.snapshot_dir import SnapshotNotFoundError, SnapshotRunningError
from service.schemas import FieldError, Problem

PROBLEM_JSON = "application/problem+json"
RETRY_UNAVAILABLE = "5"  # seconds: about how long a database restart or failover takes
RETRY_TOO_MANY_JOBS = "30"  # seconds: queued jobs run one at a time, each seconds to hours
log = logging.getLogger(__name__)


class RequestRejectedError(Exception):
    """A request the service refuses before the engine sees it; ``field`` names the culprit."""

    status = 400
    title = "Bad Request"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ContentTooLargeError(RequestRejectedError):
    status = 413
    title = "Content Too Large"


class InvalidRequestError(RequestRejectedError):
    status = 422
    title = "Invalid request"


class UnauthorizedError(RequestRejectedError):
    status = 401
    title = "Unauthorized"


class ForbiddenError(RequestRejectedError):
    status = 403
    title = "Forbidden"


class MalformedBodyError(Exception):
    """A JSON body that does not parse (400, as FastAPI answers on every JSON route)."""


class OverloadedError(Exception):
    """Every engine slot is busy and the waiting line is full."""

    def __init__(self, pending: int) -> None:
        super().__init__(f"the server is busy ({pending} requests running or waiting); retry")


class UnsupportedMediaTypeError(RequestRejectedError):
    status = 415
    title = "Unsupported Media Type"


def problem(
    status: int, title: str, detail: str, errors: list[FieldError] | None = None
) -> Problem:
    """A problem body, its texts made printable."""
    return Problem(
        type="about:blank",
        title=title,
        status=status,
        detail=_printable(detail),
        errors=[
            FieldError(field=_printable(e.field), message=_printable(e.message))
            for e in errors or []
        ],
    )


def problem_response(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = problem(status, title, detail, errors)
    return JSONResponse(
        body.model_dump(), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def validation_problem(items: Sequence[Mapping[str, Any]]) -> Problem:
    """The 422 for what pydantic found wrong, one entry per failing field."""
    errors = [FieldError(field=field_path(item["loc"]), message=item["msg"]) for item in items]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return problem(422, "Invalid request", detail, errors)


def input_problem(error: InvalidInputError) -> Problem:
    """The 4xx for an input the engine refused, naming its field."""
    field_error = FieldError(field=error.field, message=error.message)
    if isinstance(error, InputTooLargeError | FileTooLargeError):
        return problem(413, "Content Too Large", str(error), [field_error])
    if isinstance(error, UnsupportedFileError):
        return problem(415, "Unsupported Media Type", str(error), [field_error])
    return problem(422, "Invalid request", str(error), [field_error])


def rejection_problem(error: RequestRejectedError) -> Problem:
    """The 4xx for a request the service refused before the engine saw it."""
    field_error = FieldError(field=error.field, message=error.message)
    return problem(error.status, error.title, str(error), [field_error])


def _printable(text: str) -> str:
    """A refused value can hold a lone surrogate, which UTF-8 cannot carry: shown as \\udXXX."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


# What each error status means in this API, as the spec declares it.
_DESCRIPTIONS = {
    400: "Malformed JSON: the body does not parse.",
    401: "No API key, or an unknown one (only when the server has keys configured).",
    403: "The API key does not allow this operation: read keys cannot write, and a key "
    "restricted to one collection can act on no other (the default one included) and cannot "
    "create or delete collections.",
    404: "Not found: no such document, ingest job or collection (the detail says which).",
    409: "Conflict with the current state (the detail says which).",
    413: "Too large: the body, a document's text or the batch is above its limit.",
    415: "The body is not sent as application/json.",
    422: "A field is invalid; `errors` names each one.",
    429: "Busy: every engine slot is taken and SEMSEARCH_MAX_QUEUED requests already wait. "
    "Retry after the Retry-After seconds.",
    503: "The store is unavailable: the data directory cannot be written (read-only or an "
    "I/O error; searches keep working), or the PostgreSQL database cannot be reached or did "
    "not answer in time. Nothing was written; retry after the Retry-After seconds.",
    507: "The data directory is full; nothing was written. Searches keep working; retry once "
    "space is freed.",
    500: "Unexpected server error (logged; no details are exposed).",
}
_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {"title": "Malformed JSON", "detail": "The request body is not valid JSON."},
    401: {"title": "Unauthorized", "detail": "Authorization: unknown API key"},
    403: {
        "title": "Forbidden",
        "detail": "Authorization: this key has the read scope; this operation needs write",
    },
    404: {"title": "Document not found", "detail": "no document with id 'press-1'"},
    409: {
        "title": "Conflict",
        "detail": "ingest job '5f0c6a1e9b7d4c2a8e3f1d6b0a9c7e21' already succeeded",
    },
    429: {
        "title": "Too Many Requests",
        "detail": "the server is busy (68 requests running or waiting); retry",
    },
    413: {
        "title": "Content Too Large",
        "detail": "documents[0].text: has 1200000 characters; the limit is 1000000",
        "errors": [
            {
                "field": "documents[0].text",
                "message": "has 1200000 characters; the limit is 1000000",
            }
        ],
    },
    415: {
        "title": "Unsupported Media Type",
        "detail": "content-type: must be application/json, not 'text/plain'",
        "errors": [
            {"field": "content-type", "message": "must be application/json, not 'text/plain'"}
        ],
    },
    422: {
        "title": "Invalid request",
        "detail": "k: Input should be less than or equal to 100",
        "errors": [{"field": "k", "message": "Input should be less than or equal to 100"}],
    },
    500: {"title": "Internal Server Error", "detail": "An unexpected error occurred."},
    503: {
        "title": "Storage Unavailable",
        "detail": "the data directory cannot be written (read-only): nothing was written",
    },
    507: {
        "title": "Insufficient Storage",
        "detail": "the data directory is full: nothing was written",
    },
}


def problem_responses(
    *statuses: int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for error statuses, each a Problem with an example;
    ``descriptions`` replaces the general meaning of a status for these operations."""
    return {
        status: {
            "model": Problem,
            "description": (descriptions or {}).get(status, _DESCRIPTIONS[status]),
            "content": {
                PROBLEM_JSON: {
                    "example": {"type": "about:blank", "status": status, "errors": []}
                    | _EXAMPLES[status]
                }
            },
        }
        for status in (*statuses, 500)
    }


def field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """("body", "filters", "sources", 0) -> "filters.sources[0]"."""
    parts = list(location)
    if parts and parts[0] in {"body", "query", "path", "header"} and len(parts) > 1:
        parts = parts[1:]
    path = ""
    for part in parts:
        if part == "[key]":  # pydantic's marker for a failing dict key: the key names it
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def _malformed_json() -> JSONResponse:
    return problem_response(400, "Malformed JSON", "The request body is not valid JSON.")


def _json(body: Problem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        body.model_dump(), status_code=body.status, media_type=PROBLEM_JSON, headers=headers
    )


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    items = error.errors()
    if any(item.get("type") == "json_invalid" for item in items):
        return _malformed_json()
    return _json(validation_problem(items))


async def _invalid_input(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InvalidInputError)
    return _json(input_problem(error))


def rejection(
    error: RequestRejectedError, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The problem response for a refused request, naming its field."""
    all_headers = dict(headers or {})
    if error.status == 401:  # RFC 9110: a 401 names the scheme to authenticate with
        all_headers["WWW-Authenticate"] = "Bearer"
    return _json(rejection_problem(error), all_headers)


async def _rejected(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestRejectedError)
    return rejection(error)


async def _overloaded(_: Request, error: Exception) -> JSONResponse:
    return problem_response(429, "Too Many Requests", str(error), headers={"Retry-After": "1"})


async def _too_many_jobs(_: Request, error: Exception) -> JSONResponse:
    return problem_response(
        429, "Too Many Requests", str(error), headers={"Retry-After": RETRY_TOO_MANY_JOBS}
    )


async def _not_found(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DocumentNotFoundError)
    return problem_response(404, "Document not found", str(error))


async def _collection_not_found(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CollectionNotFoundError)
    return problem_response(404, "Collection not found", str(error))


async def _collection_conflict(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CollectionExistsError | CollectionProtectedError)
    return problem_response(409, "Conflict", str(error))


async def _collection_limit(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, CollectionLimitError)
    return problem_response(409, "Too many collections", str(error))


async def _job_not_found(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, JobNotFoundError)
    return problem_response(404, "Ingest job not found", str(error))


async def _snapshot_not_found(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, SnapshotNotFoundError)
    return problem_response(404, "Snapshot not found", str(error))


async def _snapshot_running(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, SnapshotRunningError)
    return problem_response(409, "Conflict", str(error))


async def _job_finished(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, JobFinishedError)
    return problem_response(409, "Conflict", str(error))


async def _malformed_body(_: Request, __: Exception) -> JSONResponse:
    return _malformed_json()


async def _storage_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StorageError)
    # The cause (path, errno) is for the operator's log, not the client.
    log.error(
        "write refused on %s %s: %s (%s)",
        request.method,
        request.url.path,
        error,
        error.__cause__,
    )
    if isinstance(error, StorageFullError):
        return problem_response(507, "Insufficient Storage", str(error))
    return problem_response(
        503, "Storage Unavailable", str(error), headers={"Retry-After": RETRY_UNAVAILABLE}
    )


def _parser_reason(error: BaseException) -> str:
    """The multipart parser's own words, at the root of the error's chain ("Maximum header size
    exceeded": a part's header line, a file name included, is limited to about 4 KiB)."""
    for _ in range(8):  # a chain is short; never follow a cycle of contexts
        cause = error.__cause__ or error.__context__
        if cause is None:
            break
        error = cause
    return str(error).rstrip(".") or "invalid multipart data"


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:
        if request.headers.get("content-type", "").lower().startswith("multipart/"):
            return problem_response(
                400,
                "Malformed body",
                f"The multipart/form-data body does not parse: {_parser_reason(error)}.",
            )
        return _malformed_json()  # FastAPI's answer to a body json.loads gave up on (nesting)
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(
        error.status_code, _reason(error.status_code), str(error.detail), headers=headers
    )


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes on this path, found by asking each route whether it would
    take the request with that method (included routers keep their routes to themselves)."""
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]
    return [*allowed, "HEAD"] if "GET" in allowed else allowed  # HeadAsGet serves HEAD


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    # The traceback goes to the log, never to the client.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return problem_response(500, "Internal Server Error", "An unexpected error occurred.")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidInputError, _invalid_input)
    app.add_exception_handler(RequestRejectedError, _rejected)
    app.add_exception_handler(OverloadedError, _overloaded)
    app.add_exception_handler(DocumentNotFoundError, _not_found)
    app.add_exception_handler(JobNotFoundError, _job_not_found)
    app.add_exception_handler(CollectionNotFoundError, _collection_not_found)
    app.add_exception_handler(CollectionExistsError, _collection_conflict)
    app.add_exception_handler(CollectionProtectedError, _collection_conflict)
    app.add_exception_handler(CollectionLimitError, _collection_limit)
    app.add_exception_handler(JobFinishedError, _job_finished)
    app.add_exception_handler(SnapshotNotFoundError, _snapshot_not_found)
    app.add_exception_handler(SnapshotRunningError, _snapshot_running)
    app.add_exception_handler(TooManyJobsError, _too_many_jobs)
    app.add_exception_handler(MalformedBodyError, _malformed_body)
    app.add_exception_handler(StorageError, _storage_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
