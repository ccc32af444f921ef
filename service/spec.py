"""The OpenAPI document as we publish it: FastAPI's, with error bodies as problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.errors import PROBLEM_JSON

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """Generate the spec once per app and cache it, as FastAPI's own app.openapi() does."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        _errors_as_problem_json(spec)
        app.openapi_schema = spec
    return app.openapi_schema


def _errors_as_problem_json(spec: dict[str, Any]) -> None:
    """FastAPI files every declared model under application/json; errors are problem+json."""
    for path_item in spec.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if int(status) >= 400 and "application/json" in content:
                    plain = content.pop("application/json")
                    content[PROBLEM_JSON] = plain | content.get(PROBLEM_JSON, {})
