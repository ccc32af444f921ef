"""openapi/openapi.json is the contract: it must match what the app serves."""

from __future__ import annotations

import json
from pathlib import Path

from service.openapi import openapi_document

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_spec_matches_the_app() -> None:
    committed = json.loads(SPEC.read_text(encoding="utf-8"))
    assert committed == openapi_document(), "openapi/openapi.json is stale: run `make openapi`"


def test_operation_ids_are_readable() -> None:
    operations = {
        op["operationId"] for path in openapi_document()["paths"].values() for op in path.values()
    }
    assert {
        "upsertDocuments",
        "listDocuments",
        "getDocument",
        "deleteDocument",
        "searchPassages",
        "getStats",
        "getHealth",
        "getReadiness",
    } <= operations
