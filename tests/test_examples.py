"""Examples drift the way code does: every example in the manual (README.md and docs/*.md) and
the spec is checked against what the running service answers on the seed corpus (or, for the
document examples, on a store holding just the example document).

An example may shorten what it shows: a string ending in " ..." stands for any string starting
with what precedes it, a list may show only its first items, an object only some of its keys.
Everything it does show must match: ids, offsets, counts exactly; scores within 0.01, because
int8 kernels round differently from one CPU to another.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import ROOT, SEEDS
from tests.file_fixtures import report_pdf

MANUAL = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ELIDED = " ..."
SCORE_TOLERANCE = 0.01


def assert_shown(shown: Any, live: Any, where: str = "") -> None:
    """Everything ``shown`` holds is in ``live`` (see the module docstring for the rules)."""
    if isinstance(shown, dict):
        assert isinstance(live, dict), f"{where}: {live!r} is not an object"
        for key, value in shown.items():
            assert key in live, f"{where}.{key} is not in the live answer"
            assert_shown(value, live[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(live, list) and len(live) >= len(shown), f"{where}: {live!r}"
        for index, (value, actual) in enumerate(zip(shown, live, strict=False)):
            assert_shown(value, actual, f"{where}[{index}]")
    elif isinstance(shown, str) and shown.endswith(ELIDED):
        assert isinstance(live, str) and live.startswith(shown.removesuffix(ELIDED)), (
            f"{where}: {live!r} does not start with {shown!r}"
        )
    elif isinstance(shown, float) and not isinstance(shown, bool):
        assert isinstance(live, float) and abs(live - shown) <= SCORE_TOLERANCE, (
            f"{where}: live {live} is not {shown}"
        )
    else:
        assert shown == live, f"{where}: live {live!r} is not {shown!r}"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("examples") / "data", seed_dir=SEEDS)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("examples-empty") / "data", seed_dir="")
    with TestClient(create_app(settings)) as client:
        yield client


def _manual_text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in MANUAL)


def _examples(page: Path) -> list[tuple[str, str, str, dict[str, Any], str]]:
    """(page, method, path, body, shown answer) of each curl block followed by a json block."""
    pattern = re.compile(r"```sh\n(curl [^`]*?)```\n```json\n(.*?)```", re.DOTALL)
    examples = []
    for command, answer in pattern.findall(page.read_text(encoding="utf-8")):
        words = shlex.split(command.replace("\\\n", " "))
        if "-F" in words:
            continue  # a file upload: test_the_upload_examples_are_live checks it
        url = next(w for w in words if "localhost:8000" in w)
        body = json.loads(words[words.index("-d") + 1]) if "-d" in words else {}
        path = url.split("localhost:8000", 1)[1]
        name = page.relative_to(ROOT).as_posix()
        examples.append((name, "POST" if body else "GET", path, body, answer))
    return examples


MANUAL_EXAMPLES = [example for page in MANUAL for example in _examples(page)]


def test_the_readme_has_examples_to_check() -> None:
    shown = {path for page, _, path, _, _ in MANUAL_EXAMPLES if page == "README.md"}
    assert shown >= {"/v1/search", "/v1/passages/support"}


@pytest.mark.parametrize(
    ("page", "method", "path", "body", "answer"),
    MANUAL_EXAMPLES,
    ids=[f"{e[0]}:{e[2]}" for e in MANUAL_EXAMPLES],
)
def test_a_manual_example_is_what_the_service_answers(
    seeded: TestClient, page: str, method: str, path: str, body: dict[str, Any], answer: str
) -> None:
    live = seeded.request(method, path, json=body or None)
    assert live.status_code == 200, live.text
    assert_shown(json.loads(answer), live.json(), f"{page}: {path}")


def _example(spec: dict[str, Any], schema: str) -> Any:
    return spec["components"]["schemas"][schema]["examples"][0]


def test_the_search_and_support_examples_of_the_spec_are_live(seeded: TestClient) -> None:
    spec = seeded.get("/openapi.json").json()
    for request, response, path in [
        ("SearchRequest", "SearchResponse", "/v1/search"),
        ("SupportRequest", "SupportResponse", "/v1/passages/support"),
        ("SearchBatchRequest", "SearchBatchResponse", "/v1/search/batch"),
        ("SupportBatchRequest", "SupportBatchResponse", "/v1/passages/support/batch"),
    ]:
        live = seeded.post(path, json=_example(spec, request))
        assert live.status_code == 200, live.text
        assert_shown(_example(spec, response), live.json(), response)
    assert_shown(_example(spec, "IndexStats"), seeded.get("/v1/stats").json(), "IndexStats")
    assert_shown(_example(spec, "Readiness"), seeded.get("/readyz").json(), "Readiness")


def test_the_document_examples_of_the_spec_are_live(empty: TestClient) -> None:
    spec = empty.get("/openapi.json").json()
    upserted = empty.post("/v1/documents", json=_example(spec, "UpsertRequest"))
    assert upserted.status_code == 200, upserted.text
    assert_shown(_example(spec, "UpsertResponse"), upserted.json(), "UpsertResponse")
    document = _example(spec, "Document")
    assert_shown(document, empty.get(f"/v1/documents/{document['id']}").json(), "Document")
    assert_shown(_example(spec, "DocumentPage"), empty.get("/v1/documents").json(), "DocumentPage")


def test_the_upload_examples_are_live(empty: TestClient) -> None:
    """The manual's and the spec's upload example: the three-page report the file tests build,
    uploaded with the spec's example fields."""
    spec = empty.get("/openapi.json").json()
    fields = {k: v for k, v in _example(spec, "FileUpload").items() if k != "file"}
    report = ("annual-report-2025.pdf", report_pdf().data, "application/pdf")
    uploaded = empty.post("/v1/files", files={"file": report}, data=fields)
    assert uploaded.status_code == 201, uploaded.text
    assert_shown(_example(spec, "UploadedFile"), uploaded.json(), "UploadedFile")
    text = _manual_text()
    block = re.search(r"-F 'file=@annual-report-2025.pdf'.*?```\n```json\n(.*?)```", text, re.S)
    assert block, "the manual's upload example"
    assert_shown(json.loads(block.group(1)), uploaded.json(), "manual upload")


@pytest.mark.parametrize(
    ("shown", "live"),
    [
        ({"a": 1}, {"a": 2}),
        ({"s": "abc ..."}, {"s": "abd"}),
        ({"x": 0.52}, {"x": 0.30}),
        ([1, 2], [1]),
        ({"missing": None}, {}),
    ],
)
def test_the_checker_catches_drift(shown: Any, live: Any) -> None:
    with pytest.raises(AssertionError):
        assert_shown(shown, live)


def test_the_checker_lets_an_example_shorten(tmp_path: Path) -> None:
    assert_shown(
        {"s": "abc ...", "l": [{"x": 0.5}], "n": 3},
        {"s": "abcdef", "l": [{"x": 0.504, "y": 1}, {"x": 0.1}], "n": 3, "more": True},
    )
