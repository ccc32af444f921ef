"""Query latency on the seed corpus: the engine's search vs. bare model + FAISS, same run.

Usage: python bench/query_latency.py [--repeat 20]
Prints chunk count, then median / p95 latency (ms) of the README's example query through
SearchEngine.search in hybrid and dense mode (embed, FAISS / FTS5, SQLite hydration with
citations), of find-supporting-passages for the README's example claim, through the baseline
(sentence-transformers encode + exact FAISS search, no store), their ratio, and through
POST /v1/search of a `semsearch serve` process on a loopback port (one client, keep-alive).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from live_server import seeded_server

from index.engine import EngineConfig, SearchEngine
from index.retrieval import SearchMode
from index.sources import expand_paths, read_documents

QUERY = "suicide bombing outside the Islamabad district courts"
CLAIM = "A suicide bombing near the Islamabad district courts killed 12 people."
SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _timed(function: Callable[[], object], repeat: int) -> list[float]:
    function()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _row(name: str, samples: list[float]) -> str:
    p95 = statistics.quantiles(samples, n=20)[-1]
    return f"{name:<30} median {statistics.median(samples):7.2f} ms   p95 {p95:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        engine = SearchEngine(EngineConfig(data_dir=Path(data_dir)))
        documents = [d for path in expand_paths([SEEDS]) for d in read_documents(path)]
        start = time.perf_counter()
        engine.upsert(documents)
        ingest_s = time.perf_counter() - start
        stats = engine.stats()
        print(
            f"seed corpus: {stats.documents} documents, {stats.chunks} chunks, "
            f"ingested in {ingest_s:.2f} s"
        )
        top = engine.search(QUERY, 1)[0].citation
        print(f"top hit: {top.document_id} ({top.title})")

        engine_ms = _timed(lambda: engine.search(QUERY, 10), args.repeat)
        dense_ms = _timed(lambda: engine.search(QUERY, 10, mode=SearchMode.DENSE), args.repeat)
        support_ms = _timed(lambda: engine.support(CLAIM, 5), args.repeat)
        model, index = engine.embedder, engine._index  # the baseline shares model and vectors
        baseline_ms = _timed(lambda: index.search(model.embed([QUERY])[0], 10), args.repeat)
        print(_row("engine search hybrid (k=10)", engine_ms))
        print(_row("engine search dense (k=10)", dense_ms))
        print(_row("engine support (k=5)", support_ms))
        print(_row("baseline embed + FAISS", baseline_ms))
        ratio = statistics.median(dense_ms) / statistics.median(baseline_ms)
        print(f"engine dense / baseline median: {ratio:.2f}x")
        engine.close()
    print(_row("HTTP POST /v1/search (k=10)", _http_samples(args.repeat)))


def _http_samples(repeat: int) -> list[float]:
    with seeded_server() as url, httpx.Client(base_url=url, timeout=30) as client:
        body = {"query": QUERY, "k": 10}
        return _timed(lambda: client.post("/v1/search", json=body).raise_for_status(), repeat)


if __name__ == "__main__":
    main()
