"""openapi/openapi.json is the contract: it must match what the app serves, validate, and
describe every operation fully enough for a generated client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from service.openapi import openapi_document

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
PROBLEM_REF = "#/components/schemas/Problem"
OPERATIONS = {
    "searchPassages": ("post", "/v1/search"),
    "findSupportingPassages": ("post", "/v1/passages/support"),
    "upsertDocuments": ("post", "/v1/documents"),
    "listDocuments": ("get", "/v1/documents"),
    "getDocument": ("get", "/v1/documents/{document_id}"),
    "deleteDocument": ("delete", "/v1/documents/{document_id}"),
    "getStats": ("get", "/v1/stats"),
    "getHealth": ("get", "/healthz"),
    "getReadiness": ("get", "/readyz"),
}
WRITES = {"upsertDocuments", "deleteDocument"}
OPEN = {"getHealth", "getReadiness"}  # no API key, even when keys are configured


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return openapi_document()


def _operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for path in spec["paths"].values()
        for operation in path.values()
    }


def test_committed_spec_matches_the_app(spec: dict[str, Any]) -> None:
    committed = json.loads(SPEC.read_text(encoding="utf-8"))
    assert committed == spec, "openapi/openapi.json is stale: run `make openapi` and commit it"


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)


def test_every_operation_has_its_stable_id(spec: dict[str, Any]) -> None:
    found = {
        operation["operationId"]: (method, path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    assert found == OPERATIONS


def test_every_operation_is_documented(spec: dict[str, Any]) -> None:
    for operation_id, operation in _operations(spec).items():
        assert len(operation["tags"]) == 1, operation_id
        assert operation["summary"] and "\n" not in operation["summary"], operation_id
        assert operation["description"], operation_id


def test_bodies_are_named_schemas_with_examples(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]

    def named_with_example(content: dict[str, Any], where: str) -> None:
        ref = content["schema"]["$ref"]  # a named schema, never an inline one
        name = ref.rsplit("/", 1)[-1]
        assert schemas[name].get("examples") or content.get("example"), where

    for operation_id, operation in _operations(spec).items():
        if "requestBody" in operation:
            body = operation["requestBody"]["content"]
            assert list(body) == ["application/json"], operation_id
            named_with_example(body["application/json"], f"{operation_id} request")
        for status, response in operation["responses"].items():
            if status == "204":
                assert "content" not in response, operation_id
            elif int(status) < 400:
                named_with_example(response["content"]["application/json"], operation_id)


def test_every_error_is_declared_as_problem_json(spec: dict[str, Any]) -> None:
    for operation_id, operation in _operations(spec).items():
        responses = operation["responses"]
        expected = {"500"}
        if "requestBody" in operation:
            expected |= {"400", "413", "415", "422"}
        if operation.get("parameters"):
            expected |= {"422"}
        if "{document_id}" in OPERATIONS[operation_id][1]:
            expected |= {"404"}
        if operation_id in WRITES:
            expected |= {"403", "503", "507"}  # a read key; the disk can refuse a write
        if operation_id not in OPEN:
            expected |= {"401", "429"}  # a key is needed; the engine may be saturated
        errors = {status for status in responses if int(status) >= 400}
        assert errors == expected, operation_id
        for status in errors:
            content = responses[status]["content"]
            assert list(content) == ["application/problem+json"], (operation_id, status)
            assert content["application/problem+json"]["schema"]["$ref"] == PROBLEM_REF
            assert content["application/problem+json"]["example"]["status"] == int(status)


def test_data_endpoints_declare_the_api_key_schemes(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == schemes["HTTPBearer"] | {"type": "http", "scheme": "bearer"}
    assert (
        schemes["APIKeyHeader"] | {"in": "header", "name": "X-API-Key"} == schemes["APIKeyHeader"]
    )
    for operation_id, operation in _operations(spec).items():
        expected = [] if operation_id in OPEN else [{"HTTPBearer": []}, {"APIKeyHeader": []}]
        assert operation.get("security", []) == expected, operation_id
