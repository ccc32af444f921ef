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
    "searchPassagesBatch": ("post", "/v1/search/batch"),
    "findSupportingPassagesBatch": ("post", "/v1/passages/support/batch"),
    "searchCollectionPassagesBatch": ("post", "/v1/collections/{name}/search/batch"),
    "findCollectionSupportingPassagesBatch": (
        "post",
        "/v1/collections/{name}/passages/support/batch",
    ),
    "upsertDocuments": ("post", "/v1/documents"),
    "listDocuments": ("get", "/v1/documents"),
    "getDocument": ("get", "/v1/documents/{document_id}"),
    "deleteDocument": ("delete", "/v1/documents/{document_id}"),
    "createIngestJob": ("post", "/v1/ingest-jobs"),
    "listIngestJobs": ("get", "/v1/ingest-jobs"),
    "getIngestJob": ("get", "/v1/ingest-jobs/{job_id}"),
    "cancelIngestJob": ("delete", "/v1/ingest-jobs/{job_id}"),
    "getStats": ("get", "/v1/stats"),
    "getHealth": ("get", "/healthz"),
    "getReadiness": ("get", "/readyz"),
    "createCollection": ("post", "/v1/collections"),
    "listCollections": ("get", "/v1/collections"),
    "getCollection": ("get", "/v1/collections/{name}"),
    "deleteCollection": ("delete", "/v1/collections/{name}"),
    "createSnapshot": ("post", "/v1/snapshots"),
    "createCollectionSnapshot": ("post", "/v1/collections/{name}/snapshots"),
    "listSnapshots": ("get", "/v1/snapshots"),
    "getSnapshot": ("get", "/v1/snapshots/{snapshot_id}"),
    "downloadSnapshot": ("get", "/v1/snapshots/{snapshot_id}/download"),
    "deleteSnapshot": ("delete", "/v1/snapshots/{snapshot_id}"),
    "searchCollectionPassages": ("post", "/v1/collections/{name}/search"),
    "findCollectionSupportingPassages": ("post", "/v1/collections/{name}/passages/support"),
    "upsertCollectionDocuments": ("post", "/v1/collections/{name}/documents"),
    "listCollectionDocuments": ("get", "/v1/collections/{name}/documents"),
    "getCollectionDocument": ("get", "/v1/collections/{name}/documents/{document_id}"),
    "deleteCollectionDocument": ("delete", "/v1/collections/{name}/documents/{document_id}"),
    "createCollectionIngestJob": ("post", "/v1/collections/{name}/ingest-jobs"),
    "listCollectionIngestJobs": ("get", "/v1/collections/{name}/ingest-jobs"),
    "getCollectionIngestJob": ("get", "/v1/collections/{name}/ingest-jobs/{job_id}"),
    "cancelCollectionIngestJob": ("delete", "/v1/collections/{name}/ingest-jobs/{job_id}"),
    "getCollectionStats": ("get", "/v1/collections/{name}/stats"),
    "uploadFile": ("post", "/v1/files"),
    "uploadCollectionFile": ("post", "/v1/collections/{name}/files"),
}
WRITES = {
    "upsertDocuments",
    "deleteDocument",
    "createIngestJob",
    "cancelIngestJob",
    "createCollection",
    "deleteCollection",
    "upsertCollectionDocuments",
    "deleteCollectionDocument",
    "createCollectionIngestJob",
    "cancelCollectionIngestJob",
    "uploadFile",
    "uploadCollectionFile",
}
# Bodies that may also come as NDJSON, one document a line (an ingest job, streamed).
STREAMED = {
    operation: ["application/json", "application/x-ndjson"]
    for operation in ("createIngestJob", "createCollectionIngestJob")
} | {operation: ["multipart/form-data"] for operation in ("uploadFile", "uploadCollectionFile")}
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
            assert list(body) == STREAMED.get(operation_id, ["application/json"]), operation_id
            named_with_example(next(iter(body.values())), f"{operation_id} request")
            if "application/x-ndjson" in body:  # raw lines: a binary string, with an example
                ndjson = body["application/x-ndjson"]
                assert ndjson["schema"]["format"] == "binary" and ndjson["example"], operation_id
        for status, response in operation["responses"].items():
            if status == "204":
                assert "content" not in response, operation_id
            elif operation_id == "downloadSnapshot" and status == "200":  # the archive itself
                assert (
                    response["content"]["application/octet-stream"]["schema"]["format"] == "binary"
                )
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
        if "{job_id}" in OPERATIONS[operation_id][1]:
            expected |= {"404"}
        if "{name}" in OPERATIONS[operation_id][1]:
            expected |= {"404"}  # no such collection
        if "{snapshot_id}" in OPERATIONS[operation_id][1]:
            expected |= {"404"}
        if operation_id in {"downloadSnapshot", "deleteSnapshot"}:
            expected |= {"409"}  # the snapshot is still being written
        if operation_id in {"createSnapshot", "createCollectionSnapshot"}:
            expected |= {"507"}  # the snapshot directory has no room for it
        if operation_id in {"cancelIngestJob", "cancelCollectionIngestJob"}:
            expected |= {"409"}  # the job already finished
        if operation_id in {"createCollection", "deleteCollection"}:
            expected |= {"409"}  # it exists; the default one cannot be deleted
        if operation_id not in OPEN | {"listCollections"}:
            expected |= {"403"}  # a key restricted to another collection
        if operation_id in WRITES:
            expected |= {"403", "507"}  # a read key; the disk can refuse a write
        if operation_id != "getHealth":
            expected |= {"503"}  # the store refuses a write, or its database is away
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


def _integers(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "integer" else []
        return found + [s for value in node.values() for s in _integers(value)]
    if isinstance(node, list):
        return [s for value in node for s in _integers(value)]
    return []


def test_every_integer_has_a_format_a_generated_client_can_hold(spec: dict[str, Any]) -> None:
    integers = _integers(spec)
    assert integers and all(i.get("format") in {"int32", "int64"} for i in integers)
    # int32 only where the spec bounds the value within it (k, limit); offsets, counts, totals
    # and ids can pass 2^31.
    for schema in integers:
        if schema["format"] == "int32":
            assert schema["maximum"] <= 2**31 - 1
    page = spec["components"]["schemas"]["DocumentPage"]["properties"]
    assert page["total"]["format"] == page["offset"]["format"] == "int64"


def test_responses_declare_their_headers_and_open_operations_say_so(spec: dict[str, Any]) -> None:
    assert spec["servers"]
    for operation_id, operation in _operations(spec).items():
        if operation_id in OPEN:
            assert operation["security"] == []
        for status, response in operation["responses"].items():
            assert "X-Request-ID" in response["headers"], (operation_id, status)
            if status == "401":
                assert "WWW-Authenticate" in response["headers"]
            if status == "429":
                assert "Retry-After" in response["headers"]


def test_metadata_keeps_strings_strings_in_generated_clients(spec: dict[str, Any]) -> None:
    """Written: oneOf string, number, boolean (types that never overlap). Read back: any JSON
    value, so no client's deserialiser can turn "02134" into a number or fail on it."""
    schemas = spec["components"]["schemas"]
    written = schemas["NewDocument"]["properties"]["metadata"]["additionalProperties"]["oneOf"]
    assert [v["type"] for v in written] == ["string", "number", "boolean"]
    read = schemas["DocumentSummary"]["properties"]["metadata"]["additionalProperties"]
    assert "type" not in read and "oneOf" not in read and "anyOf" not in read
