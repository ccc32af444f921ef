"""The OpenAPI document as we publish it: FastAPI's, with error bodies as problem+json, a
format on every integer, the response headers clients see, and open operations marked open."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from service import schemas
from service.errors import PROBLEM_JSON

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's own spec (generated once and cached on the app), errors moved to problem+json."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = FastAPI.openapi(app)  # also caches it as app.openapi_schema
    _streamed_body_schemas(spec)
    _upload_body_schema(spec)
    _errors_as_problem_json(spec)
    _examples_with_nulls(spec)
    _integer_formats(spec)
    _response_headers(spec)
    _open_operations(spec)
    return spec


def _streamed_body_schemas(spec: dict[str, Any]) -> None:
    """Bodies a route reads itself (an ingest job streams NDJSON) are declared by reference in
    the route; their schemas join the components here (the documents they hold are there)."""
    components = spec["components"]["schemas"]
    schema = schemas.IngestJobRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    assert set(schema.pop("$defs", {})) <= set(components)  # NewDocument, from upserts
    components[schemas.IngestJobRequest.__name__] = schema


# What FastAPI names the form bodies of the file uploads ("Body_" + the operation's id): one
# schema for both, with a name a generated client reads naturally.
_UPLOAD_BODIES = ("Body_uploadFile", "Body_uploadCollectionFile")
UPLOAD_SCHEMA = "FileUpload"
_UPLOAD_EXAMPLE = {
    "file": "(the bytes of annual-report-2025.pdf)",
    "id": "annual-report-2025",
    "metadata": '{"team": "finance"}',
}  # the report tests/file_fixtures.py builds: the UploadedFile example is its answer


def _upload_body_schema(spec: dict[str, Any]) -> None:
    """The file uploads' multipart bodies as one named schema; the file part declared binary
    (what OpenAPI 3.0 generators look for, beside 3.1's contentMediaType)."""
    components = spec["components"]["schemas"]
    bodies = [components.pop(name) for name in _UPLOAD_BODIES if name in components]
    if not bodies:
        return
    schema = bodies[0]
    schema["title"] = UPLOAD_SCHEMA
    schema["properties"]["file"]["format"] = "binary"
    schema["description"] = "A form field sent empty counts as not sent, as HTML forms send them."
    for name, field in schema["properties"].items():
        if name not in schema["required"]:  # the form's empty string stands for "not given"
            field["anyOf"].insert(-1, {"type": "string", "maxLength": 0})
    schema["examples"] = [_UPLOAD_EXAMPLE]
    components[UPLOAD_SCHEMA] = schema
    for operation in _operations(spec):
        body = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
        if body is not None:
            body["schema"] = {"$ref": f"#/components/schemas/{UPLOAD_SCHEMA}"}


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation
        for path_item in spec.get("paths", {}).values()
        for method, operation in path_item.items()
        if method in _METHODS
    ]


def _examples_with_nulls(spec: dict[str, Any]) -> None:
    """FastAPI drops every null while encoding the spec, examples included, which leaves
    examples of required nullable fields (url, next_offset) invalid: put our own back."""
    components = spec.get("components", {}).get("schemas", {})
    for model in vars(schemas).values():
        if (
            isinstance(model, type)
            and issubclass(model, BaseModel)
            and model.__name__ in components
        ):
            extra = model.model_config.get("json_schema_extra")
            if isinstance(extra, dict) and "examples" in extra:
                components[model.__name__]["examples"] = extra["examples"]


_INT32_MAX = 2**31 - 1


def _integer_formats(node: Any) -> None:
    """int32 where the schema bounds an integer within it, else int64 (offsets, counts, totals
    and ids can pass 2^31; a generated Java client would read them into an Integer)."""
    if isinstance(node, dict):
        if node.get("type") == "integer" and "format" not in node:
            bounded = node.get("maximum", _INT32_MAX + 1) <= _INT32_MAX
            node["format"] = (
                "int32" if bounded and node.get("minimum", 0) >= -_INT32_MAX else ("int64")
            )
        for value in node.values():
            _integer_formats(value)
    elif isinstance(node, list):
        for value in node:
            _integer_formats(value)


def _header(description: str, example: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}, "example": example}


_REQUEST_ID = _header(
    "The request's id: the caller's X-Request-ID when it is 1-128 of [A-Za-z0-9._:-], else a "
    "new one; every log line of the request carries it.",
    "pipeline-7",
)
_STATUS_HEADERS = {
    "401": {"WWW-Authenticate": _header("The scheme to authenticate with.", "Bearer")},
    "429": {"Retry-After": _header("Seconds to wait before retrying.", "1")},
    "503": {"Retry-After": _header("Seconds to wait before retrying.", "5")},
}


def _response_headers(spec: dict[str, Any]) -> None:
    """Every response carries X-Request-ID; a 401 names its scheme, a 429 or 503 when to retry."""
    for operation in _operations(spec):
        for status, response in operation.get("responses", {}).items():
            headers = response.setdefault("headers", {})
            headers["X-Request-ID"] = _REQUEST_ID
            headers.update(_STATUS_HEADERS.get(str(status), {}))


def _open_operations(spec: dict[str, Any]) -> None:
    """Operations that need no key say so (`security: []`), so validators and generated
    clients do not take them for undocumented."""
    for operation in _operations(spec):
        operation.setdefault("security", [])


def _errors_as_problem_json(spec: dict[str, Any]) -> None:
    """FastAPI files every declared model under application/json; errors are problem+json."""
    for operation in _operations(spec):
        for status, response in operation.get("responses", {}).items():
            content = response.get("content", {})
            if int(status) >= 400 and "application/json" in content:
                plain = content.pop("application/json")
                content[PROBLEM_JSON] = plain | content.get(PROBLEM_JSON, {})
