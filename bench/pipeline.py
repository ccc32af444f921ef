"""Claims per second as a pipeline step (`make bench-pipeline`; figures in bench/pipeline.json):
SciFact's training claims checked against its corpus, in one run, four ways:

- `semsearch support --input claims.jsonl --output verdicts.jsonl`, a process from start to
  exit (model loading included), on every core, and with --workers 1;
- the same claims sent one request at a time over HTTP by one client, to a server on the same
  data directory (its start not counted);
- POST /v1/passages/support/batch, 100 claims a request, one client.

Usage: python bench/pipeline.py [--claims N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from speed import _cpu_model  # noqa: E402

from index.backends import backend_config  # noqa: E402
from index.engine import EngineConfig, SearchEngine  # noqa: E402
from index.evaluation import corpus_documents, index_corpus, read_jsonl  # noqa: E402
from tests.conftest import Server, free_port  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"


def cli_run(data: Path, claims: Path, output: Path, workers: int | None) -> float:
    """Seconds from starting `semsearch support --input` to its exit."""
    command = [sys.executable, "-m", "service.cli", "support", "--input", str(claims)]
    command += ["--output", str(output), "-k", "3"]
    if workers is not None:
        command += ["--workers", str(workers)]
    env = {**os.environ, "SEMSEARCH_DATA_DIR": str(data), "SEMSEARCH_LOG_LEVEL": "warning"}
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=400)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    claims = [c["claim"] for c in read_jsonl(SCIFACT / "claims_train.jsonl")][: args.claims]
    report: dict[str, Any] = {"claims": len(claims), "k": 3, "cpu": _cpu_model()}
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        engine = SearchEngine(EngineConfig(storage=backend_config(data)))
        index_corpus(engine, list(corpus_documents(SCIFACT / "corpus.jsonl")))
        engine.close()
        lines = Path(scratch) / "claims.jsonl"
        lines.write_text(
            "".join(json.dumps({"id": n, "claim": c}) + "\n" for n, c in enumerate(claims)),
            encoding="utf-8",
        )
        out = Path(scratch) / "verdicts.jsonl"
        seconds = {
            "cli, every core": cli_run(data, lines, out, None),
            "cli, --workers 1": cli_run(data, lines, out, 1),
        }
        server = Server(data_dir=data, port=free_port())
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                for claim in claims[:10]:  # warm-up
                    http.post("/v1/passages/support", json={"claim": claim, "k": 3})
                started = time.perf_counter()
                for claim in claims:
                    answer = http.post("/v1/passages/support", json={"claim": claim, "k": 3})
                    assert answer.status_code == 200, answer.text
                seconds["http, one request per claim"] = time.perf_counter() - started
                started = time.perf_counter()
                for first in range(0, len(claims), 100):
                    requests = [{"claim": c, "k": 3} for c in claims[first : first + 100]]
                    answer = http.post("/v1/passages/support/batch", json={"requests": requests})
                    assert answer.status_code == 200, answer.text
                seconds["http, batches of 100"] = time.perf_counter() - started
        finally:
            server.stop()
    base = len(claims) / seconds["http, one request per claim"]
    report["seconds"] = {name: round(value, 2) for name, value in seconds.items()}
    report["claims per second"] = {
        name: round(len(claims) / value, 2) for name, value in seconds.items()
    }
    report["against one request per claim"] = {
        name: round(len(claims) / value / base, 2) for name, value in seconds.items()
    }
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
