"""Search latency on the default collection alone and beside 20 other collections of about
1,000 chunks each (SciFact abstracts), through the engine on the embedded store: two stores with
the same default collection, one with the 20 beside it, searched in turns, and the ratio of the
two p50s; and, for the design choice, the dense half both ways a vector index could hold
collections: one FAISS index per collection (what the embedded store does) against one index
of every collection restricted to the default's ids (as a filter is applied).

    .venv/bin/python bench/collections.py [--default-docs N] [--json bench/collections.json]

Documents are embedded once and written into each collection as already embedded (the same
vectors, no model run per copy), so building the 20 collections takes seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from speed import SCIFACT, _cpu_model, _memory_gb

from index.backends import backend_config
from index.backends.records import PreparedDocument
from index.engine import EngineConfig, SearchEngine
from index.evaluation import corpus_documents, read_queries
from index.models import DEFAULT_COLLECTION, DocumentInput, SearchMode
from index.preparation import Preparer
from index.queries import SearchQuery

COLLECTIONS = 20
CHUNKS_PER_COLLECTION = 1000
K = 10
MODES = (SearchMode.DENSE, SearchMode.HYBRID, SearchMode.LEXICAL)


def _p50_ms(run: Callable[[str], object], queries: Sequence[str], repeats: int) -> float:
    for query in queries[:20]:  # warm up
        run(query)
    samples = []
    for _ in range(repeats):
        for query in queries:
            started = time.perf_counter()
            run(query)
            samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 3)


def _paired_p50_ms(
    alone: SearchEngine, beside: SearchEngine, queries: Sequence[str], repeats: int
) -> dict[str, dict[str, float]]:
    """p50 of the same searches on two stores with the same default collection, one alone and
    one beside the others, taken in turns (each query on both, the order alternating), so a
    drift of the machine's speed weighs on both alike."""
    figures: dict[str, dict[str, float]] = {}
    for mode in MODES:
        samples: dict[str, list[float]] = {"default_alone": [], "default_beside_20": []}
        for query in queries[:20]:  # warm up
            alone.search(SearchQuery(query, K, mode=mode))
            beside.search(SearchQuery(query, K, mode=mode))
        for turn in range(repeats * len(queries)):
            query = queries[turn % len(queries)]
            pair = [("default_alone", alone), ("default_beside_20", beside)]
            for name, engine in pair if turn % 2 else reversed(pair):
                started = time.perf_counter()
                engine.search(SearchQuery(query, K, mode=mode))
                samples[name].append((time.perf_counter() - started) * 1000)
        p50 = {name: round(statistics.median(values), 3) for name, values in samples.items()}
        ratio = round(p50["default_beside_20"] / p50["default_alone"], 3)
        figures[mode.value] = p50 | {"ratio": ratio}
    return figures


def _prepared(
    engine: SearchEngine, preparer: Preparer, documents: Sequence[DocumentInput]
) -> list[PreparedDocument]:
    return preparer.prepared(engine.validated(documents))


def _upsert_embedded(
    engine: SearchEngine,
    documents: Sequence[DocumentInput],
    prepared: Sequence[PreparedDocument],
    collection: str,
) -> None:
    ready = {p.content_hash: p for p in prepared}
    for start in range(0, len(documents), 200):
        engine.upsert(documents[start : start + 200], embedded=ready, collection=collection)


def _others(
    engine: SearchEngine, preparer: Preparer, pool: Sequence[DocumentInput]
) -> tuple[list[DocumentInput], list[PreparedDocument]]:
    """The fewest documents of ``pool`` holding at least CHUNKS_PER_COLLECTION chunks."""
    taken: list[DocumentInput] = []
    prepared: list[PreparedDocument] = []
    for start in range(0, len(pool), 50):
        batch = list(pool[start : start + 50])
        prepared += _prepared(engine, preparer, batch)
        taken += batch
        if sum(len(p.chunks or ()) for p in prepared) >= CHUNKS_PER_COLLECTION:
            break
    return taken, prepared


def _faiss_p50(
    default: np.ndarray, others: np.ndarray, queries: np.ndarray, repeats: int
) -> dict[str, float]:
    """The dense half alone, one thread: an index of the default collection's vectors, and
    one index of every collection searched with the default's ids as an id restriction."""
    faiss.omp_set_num_threads(1)
    alone = faiss.IndexIDMap2(faiss.IndexFlatIP(default.shape[1]))
    alone.add_with_ids(default, np.arange(len(default), dtype=np.int64))
    shared = faiss.IndexIDMap2(faiss.IndexFlatIP(default.shape[1]))
    everything = np.vstack([default, others])
    shared.add_with_ids(everything, np.arange(len(everything), dtype=np.int64))
    selector = faiss.IDSelectorBatch(np.arange(len(default), dtype=np.int64))
    parameters = faiss.SearchParameters(sel=selector)
    rows = [q.reshape(1, -1) for q in queries]
    texts = [str(n) for n in range(len(rows))]

    def per_collection(n: str) -> object:
        return alone.search(SearchQuery(rows[int(n)], K))

    def restricted(n: str) -> object:
        return shared.search(rows[int(n)], K, params=parameters)

    return {
        "index_per_collection": _p50_ms(per_collection, texts, repeats),
        "one_index_id_restriction": _p50_ms(restricted, texts, repeats),
        "vectors_in_shared_index": len(everything),
    }


def run(default_docs: int, repeats: int) -> dict[str, Any]:
    documents = list(corpus_documents(SCIFACT / "corpus.jsonl"))
    queries = list(read_queries(SCIFACT / "queries.jsonl").values())
    with tempfile.TemporaryDirectory(prefix="bench-collections-") as scratch:
        alone = SearchEngine(EngineConfig(storage=backend_config(Path(scratch) / "alone")))
        beside = SearchEngine(
            EngineConfig(storage=backend_config(Path(scratch) / "beside")), alone.embedder
        )
        with closing(alone), closing(beside):
            preparer = Preparer(alone.embedder, alone.config.chunking)
            started = time.perf_counter()
            default_set = documents[:default_docs]
            default_prepared = _prepared(alone, preparer, default_set)
            other_set, other_prepared = _others(alone, preparer, documents[default_docs:])
            embed_seconds = time.perf_counter() - started
            for engine in (alone, beside):
                _upsert_embedded(engine, default_set, default_prepared, DEFAULT_COLLECTION)
            started = time.perf_counter()
            for n in range(COLLECTIONS):
                name = f"other-{n:02d}"
                beside.create_collection(name)
                _upsert_embedded(beside, other_set, other_prepared, name)
            build_seconds = time.perf_counter() - started
            latencies = _paired_p50_ms(alone, beside, queries, repeats)
            default_stats = beside.stats()
            listed = beside.collections()
            query_vectors = alone.embedder.embed(queries)
    default_vectors = np.vstack([p.vectors for p in default_prepared if p.vectors is not None])
    other_vectors = np.vstack([p.vectors for p in other_prepared if p.vectors is not None])
    copies = np.vstack([other_vectors] * COLLECTIONS)
    return {
        "cpu": _cpu_model(),
        "memory_gb": _memory_gb(),
        "queries": len(queries),
        "repeats": repeats,
        "k": K,
        "default_collection": {
            "documents": default_stats.documents,
            "chunks": default_stats.chunks,
            "index_type": default_stats.index_type,
        },
        "other_collections": {
            "count": COLLECTIONS,
            "documents_each": len(other_set),
            "chunks_each": sum(len(p.chunks or ()) for p in other_prepared),
            "chunks_total": sum(c.chunks for c in listed) - default_stats.chunks,
            "build_seconds": round(build_seconds, 1),
        },
        "embed_seconds": round(embed_seconds, 1),
        "engine_search_p50_ms": latencies,
        "dense_half_p50_ms_one_thread": _faiss_p50(default_vectors, copies, query_vectors, repeats),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default-docs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = run(args.default_docs, args.repeats)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
