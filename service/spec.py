"""The OpenAPI document as we publish it: FastAPI's, with error bodies as problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from service.errors import PROBLEM_JSON

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's own spec (generated once and cached on the app), errors moved to problem+json."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    spec = FastAPI.openapi(app)  # also caches it as app.openapi_schema
    _errors_as_problem_json(spec)
    return spec


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
