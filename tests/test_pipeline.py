"""`semsearch support|search --input` (service/pipeline.py, service/query_command.py) as
processes on a seeded data directory: JSON lines in and out, equal field for field to what a
live server answers for the same requests, bad lines answered with the API's problem, stdin and
stdout, and a killed run leaving whole lines only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, Server, free_port, run_cli

pytestmark = pytest.mark.system  # processes and a live server

CLAIM = "A suicide bombing near the Islamabad district courts killed 12 people."
CLAIMS: list[Any] = [
    {"id": "paraphrase", "claim": "Twelve people died in a suicide bombing in Islamabad."},
    {"id": 7, "claim": CLAIM, "k": 2, "offset_encoding": "utf-16"},
    {"id": "lexical", "claim": "Gwadar port security", "mode": "lexical", "k": 1},
    {"id": "bad-k", "claim": CLAIM, "k": 0},
    {"id": "unknown-field", "claim": CLAIM, "colour": "red"},
    {"id": "no-claim"},
    ["not", "an", "object"],
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("pipeline") / "data"
    seeded = run_cli(data, "seed")
    assert seeded.returncode == 0, seeded.stderr
    return data


def _lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_claims_in_verdicts_out_as_the_api_answers_them(data_dir: Path, tmp_path: Path) -> None:
    claims = tmp_path / "claims.jsonl"
    text = "\n".join(json.dumps(c) for c in CLAIMS[:3]) + "\n\n"  # a blank line is skipped
    text += "\n".join(json.dumps(c) for c in CLAIMS[3:]) + "\nnot json at all\n"
    claims.write_text(text, encoding="utf-8")
    verdicts = tmp_path / "verdicts.jsonl"
    run = run_cli(data_dir, "support", "--input", str(claims), "--output", str(verdicts))
    assert run.returncode == 1, run.stderr  # some lines were refused
    assert "5 lines refused" in run.stderr
    out = _lines(verdicts)
    assert len(out) == len(CLAIMS) + 1
    assert [line["id"] for line in out] == [7 if c == CLAIMS[1] else _id(c) for c in CLAIMS] + [
        None
    ]
    errors = {line["id"]: line["error"] for line in out if "error" in line}
    assert [e["field"] for e in errors["bad-k"]["errors"]] == ["k"]
    assert [e["field"] for e in errors["unknown-field"]["errors"]] == ["colour"]
    assert [e["field"] for e in errors["no-claim"]["errors"]] == ["claim"]
    assert out[-2]["error"]["status"] == 400 and out[-1]["error"]["status"] == 400

    searched = tmp_path / "hits.jsonl"
    queries = [{"id": "q", "query": "counter-terrorism cooperation", "group_by": "document"}]
    search_input = "\n".join(json.dumps(q) for q in queries) + "\n"
    piped = subprocess.run(  # stdin to stdout, flags as defaults
        [sys.executable, "-m", "service.cli", "search", "--input", "-", "-k", "3", "--json"],
        input=search_input,
        env={**os.environ, "SEMSEARCH_DATA_DIR": str(data_dir), "SEMSEARCH_LOG_LEVEL": "warning"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert piped.returncode == 0, piped.stderr
    searched.write_text(piped.stdout, encoding="utf-8")
    (hits,) = _lines(searched)
    assert hits["id"] == "q" and len(hits["groups"]) == 3

    server = Server(data_dir=data_dir, port=free_port())  # the same store, read by the API
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for claim, line in zip(CLAIMS[:3], out[:3], strict=True):
                body = {key: value for key, value in claim.items() if key != "id"}
                assert {"id": claim["id"]} | http.post(
                    "/v1/passages/support", json=body
                ).json() == line
            for claim, line in zip(CLAIMS[3:6], out[3:6], strict=True):
                body = {key: value for key, value in claim.items() if key != "id"}
                assert http.post("/v1/passages/support", json=body).json() == line["error"]
            body = {"query": "counter-terrorism cooperation", "group_by": "document", "k": 3}
            assert {"id": "q"} | http.post("/v1/search", json=body).json() == hits
    finally:
        server.stop()


def _id(claim: Any) -> Any:
    return claim.get("id") if isinstance(claim, dict) else None


def test_one_claim_prints_for_a_person_or_as_the_api_body(data_dir: Path) -> None:
    person = run_cli(data_dir, "support", CLAIM, "-k", "2")
    assert person.returncode == 0, person.stderr
    assert person.stdout.startswith("supported (support ")
    assert "003_997123c907f1ca25" in person.stdout and "supports 0." in person.stdout
    body = json.loads(run_cli(data_dir, "support", CLAIM, "-k", "2", "--json").stdout)
    assert body["verdict"] == "supported" and len(body["passages"]) == 2
    refused = run_cli(data_dir, "support", CLAIM, "-k", "0")
    assert refused.returncode == 1 and "k: " in refused.stderr
    neither = run_cli(data_dir, "support")
    assert neither.returncode == 2 and "--input" in neither.stderr


def test_a_killed_run_leaves_whole_lines_only(data_dir: Path, tmp_path: Path) -> None:
    claims = tmp_path / "many.jsonl"
    lines = (json.dumps({"id": n, "claim": f"{CLAIM} Case {n}."}) for n in range(400))
    claims.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    command = ["support", "--input", str(claims), "--output", str(output)]
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", *command],
        env={**os.environ, "SEMSEARCH_DATA_DIR": str(data_dir), "SEMSEARCH_LOG_LEVEL": "warning"},
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if output.exists() and output.read_bytes().count(b"\n") >= 20:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    written = output.read_bytes()
    assert written.endswith(b"\n")
    ids = [json.loads(line)["id"] for line in written.decode("utf-8").splitlines()]
    assert 20 <= len(ids) < 400
    assert ids == list(range(len(ids)))  # in input order, none torn
