"""Errors as RFC 9457 problem details (application/problem+json), each naming the failing field."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.errors import DocumentNotFoundError, InvalidInputError
from service.schemas import FieldError, Problem

PROBLEM_JSON = "application/problem+json"


def problem_response(
    status: int, title: str, detail: str, errors: list[FieldError] | None = None
) -> JSONResponse:
    body = Problem(
        type="about:blank", title=title, status=status, detail=detail, errors=errors or []
    )
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM_JSON)


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """("body", "filters", "sources", 0) -> "filters.sources[0]"."""
    parts = list(location)
    if parts and parts[0] in {"body", "query", "path", "header"} and len(parts) > 1:
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    items = error.errors()
    if any(item.get("type") == "json_invalid" for item in items):
        return problem_response(400, "Malformed JSON", "The request body is not valid JSON.")
    errors = [FieldError(field=_field_path(item["loc"]), message=item["msg"]) for item in items]
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return problem_response(422, "Invalid request", detail, errors)


async def _invalid_input(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InvalidInputError)
    field_error = FieldError(field=error.field, message=error.message)
    return problem_response(422, "Invalid request", str(error), [field_error])


async def _not_found(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DocumentNotFoundError)
    return problem_response(404, "Document not found", str(error))


async def _http_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return problem_response(error.status_code, _reason(error.status_code), str(error.detail))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidInputError, _invalid_input)
    app.add_exception_handler(DocumentNotFoundError, _not_found)
    app.add_exception_handler(StarletteHTTPException, _http_error)
