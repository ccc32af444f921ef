"""Request guards that run before a body is parsed: size limit (413) and JSON-only bodies (415)."""

from __future__ import annotations

import re
import tempfile
from email.message import Message
from typing import NoReturn

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from service.errors import (
    ContentTooLargeError,
    InvalidRequestError,
    UnsupportedMediaTypeError,
    problem_response,
)
from service.schemas import FieldError

_BODY_METHODS = {"POST", "PUT", "PATCH"}
_IN_MEMORY = 1024 * 1024  # a body larger than this is spooled to a temporary file
_REPLAYED_CHUNK = 64 * 1024
# What an upload's body may hold beyond its file: the other form fields and the boundaries.
UPLOAD_FORM_BYTES = 1024 * 1024


class BodySizeLimit:
    """ASGI middleware: buffer a request body up to ``max_bytes`` and answer 413 beyond it.

    The declared Content-Length is checked first, so an oversized upload is refused without
    being read; a chunked body is counted as it arrives. File uploads (``uploads``) may be up
    to ``upload_max_bytes`` and are spooled to a temporary file past 1 MiB, not held in memory.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        streamed: re.Pattern[str],
        uploads: re.Pattern[str],
        upload_max_bytes: int,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed  # paths whose route streams the body under its own limit
        self.uploads = uploads
        self.upload_max_bytes = upload_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _BODY_METHODS
            or self.streamed.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        upload = bool(self.uploads.fullmatch(scope["path"]))
        limit = self.upload_max_bytes if upload else self.max_bytes
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, upload)
            return
        with tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY) as body:
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client went away; nothing to answer
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    await self._too_large(scope, receive, send, upload)
                    return
                body.write(chunk)
                more = message.get("more_body", False)
            body.seek(0)
            done = False

            async def replay() -> AsgiMessage:
                nonlocal done
                if done:
                    return await receive()
                chunk = body.read(_REPLAYED_CHUNK)
                done = body.tell() >= size
                return {"type": "http.request", "body": chunk, "more_body": not done}

            await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, upload: bool) -> None:
        message = (
            f"is larger than {self.upload_max_bytes} bytes (SEMSEARCH_MAX_FILE_BYTES and "
            f"{UPLOAD_FORM_BYTES} for the form's other fields)"
            if upload
            else f"is larger than {self.max_bytes} bytes (SEMSEARCH_MAX_REQUEST_BYTES)"
        )
        response = problem_response(
            413,
            "Content Too Large",
            f"body: {message}",
            [FieldError(field="body", message=message)],
        )
        await response(scope, receive, send)


class HeadAsGet:
    """ASGI middleware: HEAD is answered as GET without the body (RFC 9110 9.3.2), on every
    GET route; FastAPI routes declare GET only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: AsgiMessage) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        as_get = {**scope, "method": "GET"}  # uvicorn's own scope keeps HEAD
        try:
            await self.app(as_get, receive, without_body)
        finally:
            if "route" in as_get:  # for the request log's route label
                scope["route"] = as_get["route"]


def media_type(content_type: str | None) -> str:
    """A Content-Type header's type/subtype, lower-cased, parameters off; "" without one."""
    if not content_type:
        return ""
    parsed = Message()
    parsed["content-type"] = content_type
    return parsed.get_content_type()


def refuse_media_type(content_type: str | None, wanted: str) -> NoReturn:
    """415 naming the Content-Type a body was sent with and the one it must have."""
    shown = repr(content_type) if content_type else "none"
    raise UnsupportedMediaTypeError("content-type", f"must be {wanted}, not {shown}")


async def require_json(request: Request) -> None:
    """Route dependency: a body must be declared application/json (or a +json type)."""
    content_type = request.headers.get("content-type")
    main, _, subtype = media_type(content_type).partition("/")
    if main != "application" or not (subtype == "json" or subtype.endswith("+json")):
        refuse_media_type(content_type, "application/json")


async def require_multipart(request: Request) -> None:
    """Route dependency: a file upload must be sent as multipart/form-data."""
    content_type = request.headers.get("content-type")
    if media_type(content_type) != "multipart/form-data":
        refuse_media_type(content_type, "multipart/form-data")


def check_batch_limits(texts: list[str], max_documents: int, max_document_chars: int) -> None:
    """413 for a batch or a document text over its configured limit, naming the field."""
    if len(texts) > max_documents:
        raise ContentTooLargeError(
            "documents",
            f"has {len(texts)} documents; the limit is {max_documents} "
            "(SEMSEARCH_MAX_BATCH_DOCUMENTS)",
        )
    for position, text in enumerate(texts):
        if len(text) > max_document_chars:
            raise ContentTooLargeError(
                f"documents[{position}].text",
                f"has {len(text)} characters; the limit is {max_document_chars} "
                "(SEMSEARCH_MAX_DOCUMENT_CHARS)",
            )


def check_query_limits(field: str, text: str, k: int, max_chars: int, max_k: int) -> None:
    """422 for a query or claim, or a k, over a limit the operator lowered below the spec's."""
    if len(text) > max_chars:
        raise InvalidRequestError(
            field,
            f"has {len(text)} characters; this server's limit is {max_chars} "
            "(SEMSEARCH_MAX_QUERY_CHARS)",
        )
    if k > max_k:
        raise InvalidRequestError("k", f"must be at most {max_k} here (SEMSEARCH_MAX_K)")
