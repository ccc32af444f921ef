"""Scale: the vector index at 1M chunks, IVF against exact search in the same run.

Usage: python bench/scale.py [--vectors 1000000] [--queries 200] [--deletes 10000] [--json FILE]

Vectors: synthetic, but shaped like text embeddings rather than uniform noise (on which every
approximate index looks worse than on real data). The SciFact abstracts are embedded with the
shipped model as anchors; each synthetic vector lies between an anchor and one of its 20
nearest anchors, plus isotropic noise, normalized. Queries are SciFact claims embedded with the
same model. Uniform random unit vectors are measured too, as the worst case.

For each dataset: exact search (FAISS flat, one thread: what the engine runs below
IVF_MIN_VECTORS) p50 latency; the engine's IVF index (index/backends/embedded/vectors.py: lists,
training sample and NPROBE as shipped) build time, p50/p95/p99 latency and recall@10 against
exact search, with other NPROBE values for comparison; then deletes (every query's exact top hit
and --deletes random ids): none may come back, and recall@10 is measured again against exact
search over what is left. Memory: index bytes per vector and the process's RSS growth while
building.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from load import percentiles
from speed import SCIFACT, rss_mb

from index.backends.embedded.vectors import NPROBE, VectorIndex, training_size
from index.embedding import Embedder
from index.evaluation import corpus_documents, read_queries

BLOCK = 100_000
NEIGHBOURS = 20  # anchors a synthetic vector may lie towards
NOISE = 0.5  # norm of the isotropic noise added to a unit vector before normalizing


def anchors_and_queries(queries: int) -> tuple[np.ndarray, np.ndarray]:
    embedder = Embedder()
    documents = list(corpus_documents(SCIFACT / "corpus.jsonl"))
    anchors = embedder.embed([f"{d.title or ''}\n{d.text}" for d in documents])
    claims = list(read_queries(SCIFACT / "queries.jsonl").values())[:queries]
    return anchors, embedder.embed(claims)


def text_like(anchors: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    exact = faiss.IndexFlatIP(anchors.shape[1])
    exact.add(anchors)
    _, near = exact.search(anchors, NEIGHBOURS + 1)
    out = np.empty((count, anchors.shape[1]), dtype=np.float32)
    for start in range(0, count, BLOCK):
        n = min(BLOCK, count - start)
        base = rng.integers(0, len(anchors), n)
        toward = near[base, rng.integers(1, NEIGHBOURS + 1, n)]
        share = rng.uniform(0.0, 0.5, (n, 1)).astype(np.float32)
        noise = rng.standard_normal((n, anchors.shape[1])).astype(np.float32)
        noise *= NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
        out[start : start + n] = _unit(
            (1 - share) * anchors[base] + share * anchors[toward] + noise
        )
    return out


def uniform(count: int, dimension: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((count, dimension), dtype=np.float32)
    for start in range(0, count, BLOCK):
        n = min(BLOCK, count - start)
        out[start : start + n] = _unit(rng.standard_normal((n, dimension)).astype(np.float32))
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact_top(data: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids (batch search, every core: ground truth, not a timed figure)."""
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(data.shape[1]))
    index.add_with_ids(data, ids)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        _, top = index.search(queries, k)
    finally:
        faiss.omp_set_num_threads(1)
    return top


def timed_searches(index: VectorIndex, queries: np.ndarray) -> tuple[dict[str, float], list]:
    samples, results = [], []
    index.search(queries[0], 10)
    for query in queries:
        started = time.perf_counter()
        results.append([i for i, _ in index.search(query, 10)])
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples), results


def recall(results: list, truth: np.ndarray) -> float:
    hits = [len(set(r) & set(t)) / 10 for r, t in zip(results, truth, strict=True)]
    return round(float(np.mean(hits)), 4)


def measure(name: str, data: np.ndarray, queries: np.ndarray, deletes: int) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    ids = np.arange(1, len(data) + 1, dtype=np.int64)
    truth = exact_top(data, ids, queries, 10)
    flat = faiss.IndexFlatIP(data.shape[1])
    flat.add(data)
    flat_ms = []
    for query in queries[:50]:
        started = time.perf_counter()
        flat.search(query.reshape(1, -1), 10)
        flat_ms.append((time.perf_counter() - started) * 1000)
    del flat
    rss_before = rss_mb(os.getpid())
    started = time.perf_counter()
    sample = data[rng.choice(len(data), training_size(len(data)), replace=False)]
    index = VectorIndex.clustered(data.shape[1], sample)
    trained_s = time.perf_counter() - started
    for start in range(0, len(data), BLOCK):
        index.add(ids[start : start + BLOCK].tolist(), data[start : start + BLOCK])
    built_s = time.perf_counter() - started
    rss_growth = rss_mb(os.getpid()) - rss_before
    latency, results = timed_searches(index, queries)
    by_nprobe = {}
    for nprobe in (8, 16, 64):
        index._ivf.nprobe = nprobe  # type: ignore[union-attr]  # the bench's own knob
        other, other_results = timed_searches(index, queries)
        by_nprobe[nprobe] = {
            "p50_ms": other["p50_ms"],
            "recall_at_10": recall(other_results, truth),
        }
    index._ivf.nprobe = NPROBE  # type: ignore[union-attr]
    removed = set(truth[:, 0].tolist()) | set(rng.choice(ids, deletes, replace=False).tolist())
    started = time.perf_counter()
    index.remove(sorted(removed))
    remove_s = time.perf_counter() - started
    kept = np.array([i not in removed for i in ids.tolist()])
    truth_after = exact_top(data[kept], ids[kept], queries, 10)
    latency_after, results_after = timed_searches(index, queries)
    returned_deleted = sum(i in removed for r in results_after for i in r)
    return {
        "dataset": name,
        "vectors": len(data),
        "exact_p50_ms": percentiles(flat_ms)["p50_ms"],
        "index_type": index.index_type,
        "nprobe": NPROBE,
        "train_s": round(trained_s, 1),
        "build_s": round(built_s, 1),
        "ivf": latency,
        "recall_at_10": recall(results, truth),
        "other_nprobe": by_nprobe,
        "deleted": len(removed),
        "remove_s": round(remove_s, 2),
        "deleted_returned": returned_deleted,
        "ivf_after_deletes": latency_after,
        "recall_at_10_after_deletes": recall(results_after, truth_after),
        "index_bytes_per_vector": round(_saved_bytes(index) / len(index)),
        "rss_growth_mb": round(rss_growth),
    }


def _saved_bytes(index: VectorIndex) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "vectors.faiss"
        index.save(path, 0)
        return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--deletes", type=int, default=10_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    anchors, queries = anchors_and_queries(args.queries)
    rng = np.random.default_rng(0)
    report = {
        "machine": f"{os.cpu_count()} CPUs, {sys.platform}",
        "results": [
            measure("text-like", text_like(anchors, args.vectors, rng), queries, args.deletes),
            measure("uniform", uniform(args.vectors, anchors.shape[1], rng), queries, args.deletes),
        ],
    }
    for r in report["results"]:
        print(
            f"{r['dataset']}: {r['vectors']:,} vectors, exact p50 {r['exact_p50_ms']} ms; "
            f"{r['index_type']} nprobe {r['nprobe']}: built in {r['build_s']} s "
            f"(training {r['train_s']} s), p50/p95/p99 {r['ivf']['p50_ms']}/"
            f"{r['ivf']['p95_ms']}/{r['ivf']['p99_ms']} ms, recall@10 {r['recall_at_10']}; "
            f"other nprobe {r['other_nprobe']}; after deleting {r['deleted']:,} "
            f"({r['remove_s']} s): {r['deleted_returned']} deleted returned, p50 "
            f"{r['ivf_after_deletes']['p50_ms']} ms, recall@10 {r['recall_at_10_after_deletes']}; "
            f"{r['index_bytes_per_vector']} index bytes/vector, RSS +{r['rss_growth_mb']} MB"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
