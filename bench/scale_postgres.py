"""Scale on PostgreSQL: pgvector's HNSW index at 1M chunks against exact search in the same run.

Usage: python bench/scale_postgres.py [--vectors 1000000] [--queries 200] [--uniform]
       [--shared-buffers 6GB] [--builds M:EF_CONSTRUCTION,...] [--json FILE]

The PostgreSQL counterpart of bench/scale.py, on its text-like synthetic vectors (uniform noise
too with --uniform) with SciFact claims as queries. A private PostgreSQL 18 + pgvector server
(the one the tests start) gets the backend's schema; the chunks (ten per document, each
document's source one of ten, so a source filter keeps 10%) are loaded with binary COPY while
the HNSW index is dropped, then the index is built as the migration declares it: build time,
sizes and the server's peak memory. Searches go through the backend's own dense query
(hnsw.ef_search = max(SEMSEARCH_DATABASE_EF_SEARCH, k), relaxed iterative scan, re-sorted)
with k=10 and 100, with and without a source filter, after one warm-up pass: latency
percentiles and recall against the exact top k of a sequential scan (its latency too); other
ef_search values for comparison. `--builds` then rebuilds the index with other HNSW parameters
(m and ef_construction) and measures each the same way: build time, size, peak memory and
recall@10 against ef_search, with the lowest ef_search reaching a recall@10 of 0.95.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import psutil
import psycopg
from load import percentiles
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from scale import anchors_and_queries, text_like, uniform

from index.backends.postgres import MAX_EF_SEARCH, ef_search_for, schema
from index.backends.postgres.backend import _WITH_DOCUMENT, PostgresBackend
from index.backends.postgres.config import PostgresConfig
from index.models import DEFAULT_COLLECTION, SearchFilters

ROOT = Path(__file__).resolve().parent.parent
CHUNKS_PER_DOCUMENT = 10
SOURCES = [f"source-{i}" for i in range(10)]  # a filter on one keeps 10% of the chunks
FILLER = "Synthetic filler sentence. "  # one chunk's text: the documents table needs some
WORDS = 5  # a chunk's lexical length: its title ("Document N") and FILLER, in words
MAINTENANCE_WORK_MEM = "4GB"  # the 1M-vector graph fits: no slow on-disk build phase
CREATE_INDEX = "CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_cosine_ops)"
EF_SEARCH = (40, 100, 200, 400, 800, 1000)
SWEEP_EF_SEARCH = (40, 60, 100, 150, 200, 300, 400, 600, 800, 1000)
TARGET_RECALL = 0.95
SMALL_TENANT, SMALL_CHUNKS = "small", 1000
KS = (10, 100)


def postgres_helpers() -> ModuleType:
    """tests/postgres.py, which starts the tests' server (a script run as `python bench/...`
    does not have the repository root on its path)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("tests.postgres")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def postmaster_pid(server: Any) -> int:
    return int((server.data / "postmaster.pid").read_text().split()[0])


def server_memory_mb(postmaster: int) -> dict[str, int]:
    """The memory of the postmaster and its children now: PSS counts shared memory (buffers, a
    parallel build's graph) once, the RSS sum once per process mapping it."""
    pss = rss = processes = 0
    root = psutil.Process(postmaster)
    for process in [root, *root.children(recursive=True)]:
        try:
            info = process.memory_full_info()
        except psutil.NoSuchProcess:  # ended since the scan
            continue
        pss, rss, processes = pss + info.pss, rss + info.rss, processes + 1
    return {"pss_mb": round(pss / 2**20), "rss_sum_mb": round(rss / 2**20), "processes": processes}


class ServerMemory:
    """Peak memory of the postmaster and its children (server_memory_mb), sampled every second.
    Prints the index build's progress every ``report_s`` seconds while it samples."""

    def __init__(self, postmaster: int, url: str, report_s: float = 60.0) -> None:
        self._postmaster = postmaster
        self._url = url
        self._report_s = report_s
        self.pss_mb = self.rss_mb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ServerMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def sample(self) -> tuple[int, int]:
        now = server_memory_mb(self._postmaster)
        self.pss_mb = max(self.pss_mb, now["pss_mb"])
        self.rss_mb = max(self.rss_mb, now["rss_sum_mb"])
        return now["pss_mb"], now["rss_sum_mb"]

    def _run(self) -> None:
        started = last = time.perf_counter()
        while not self._stop.wait(1.0):
            pss, _ = self.sample()
            if time.perf_counter() - last >= self._report_s:
                last = time.perf_counter()
                print(f"  {last - started:.0f} s: {self._progress()}, server PSS {pss} MB")

    def _progress(self) -> str:
        with psycopg.connect(self._url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index"
            ).fetchone()
        if row is None:
            return "no index build"
        return f"{row[0]}, {row[1]:,} tuples" + (f" of {row[2]:,}" if row[2] else "")


def load(url: str, data: np.ndarray) -> dict[str, float]:
    """Documents and chunks by binary COPY with the HNSW index dropped, then VACUUM ANALYZE
    (what autovacuum would do next: the planner's statistics and the visibility map)."""
    with psycopg.connect(url) as connection:
        register_vector(connection)
        connection.execute("DROP INDEX chunks_embedding")
        connection.commit()
        started = time.perf_counter()
        documents = copy_chunks(connection, data, DEFAULT_COLLECTION, 0)
        load_s = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as connection:
        started = time.perf_counter()
        connection.execute("VACUUM (ANALYZE) documents, chunks")
        vacuum_s = time.perf_counter() - started
    return {"documents": documents, "load_s": round(load_s, 1), "vacuum_s": round(vacuum_s, 1)}


def copy_chunks(
    connection: psycopg.Connection[Any], data: np.ndarray, collection: str, first_id: int
) -> int:
    """``data`` as chunks of ten-chunk documents of ``collection`` (chunk ids from
    ``first_id`` + 1), committed; returns the number of documents."""
    documents = -(-len(data) // CHUNKS_PER_DOCUMENT)
    spans = [Jsonb([[j * len(FILLER), (j + 1) * len(FILLER)]]) for j in range(CHUNKS_PER_DOCUMENT)]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO collections (name) VALUES (%s) ON CONFLICT DO NOTHING", [collection]
        )
        with cursor.copy(
            "COPY documents (collection, id, title, source, text, content_hash, char_count,"
            " chunk_count) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "text", "text", "text", "text", "text", "int4", "int4"])
            for d in range(documents):
                n = min(CHUNKS_PER_DOCUMENT, len(data) - d * CHUNKS_PER_DOCUMENT)
                copy.write_row(
                    (
                        collection,
                        f"doc-{d}",
                        f"Document {d}",
                        SOURCES[d % len(SOURCES)],
                        FILLER * n,
                        f"hash-{d}",
                        len(FILLER) * n,
                        n,
                    )
                )
        with cursor.copy(
            "COPY chunks (collection, id, document_id, chunk_index, char_start, char_end,"
            " token_count, sentences, embedding, lexical_length) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(
                ["text", "int8", "text", "int4", "int4", "int4", "int4", "jsonb", "vector", "int4"]
            )
            for i, vector in enumerate(data):
                d, j = divmod(i, CHUNKS_PER_DOCUMENT)
                start = j * len(FILLER)
                copy.write_row(
                    (
                        collection,
                        first_id + i + 1,
                        f"doc-{d}",
                        j,
                        start,
                        start + len(FILLER),
                        WORDS,
                        spans[j],
                        vector,
                        WORDS,
                    )
                )
        cursor.execute("SELECT setval('chunks_id_seq', %s)", [first_id + len(data)])
        cursor.execute(
            "INSERT INTO lexical_totals (collection, chunks, length) VALUES (%s, %s, %s)"
            " ON CONFLICT (collection) DO UPDATE SET chunks = excluded.chunks,"
            " length = excluded.length",
            [collection, len(data), len(data) * WORDS],
        )
    connection.commit()
    return documents


def build(server: Any, parameters: tuple[int, int] | None = None) -> dict[str, Any]:
    """The migration's HNSW index, or one with ``parameters`` (m, ef_construction) in its
    place; one parallel worker beside the leader (two cores)."""
    notices: list[str] = []
    statement = CREATE_INDEX
    if parameters is not None:
        statement += f" WITH (m = {parameters[0]}, ef_construction = {parameters[1]})"
    with psycopg.connect(server.url, autocommit=True) as connection:
        connection.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
        connection.execute(f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        connection.execute("SET max_parallel_maintenance_workers = 1")
        connection.execute("DROP INDEX IF EXISTS chunks_embedding")
        with ServerMemory(postmaster_pid(server), server.url) as memory:
            started = time.perf_counter()
            connection.execute(statement)
            build_s = time.perf_counter() - started
        row = connection.execute(
            "SELECT pg_relation_size('chunks_embedding'), pg_table_size('chunks'),"
            " pg_total_relation_size('chunks'), pg_total_relation_size('documents')"
        ).fetchone()
        count = connection.execute("SELECT count(*) FROM chunks").fetchone()
    assert row is not None and count is not None
    return {
        "index": statement.split(" ON ", 1)[1],
        "build_s": round(build_s, 1),
        "build_notices": notices,
        "index_mb": round(row[0] / 2**20),
        "index_bytes_per_vector": round(row[0] / count[0]),
        "chunks_table_mb": round(row[1] / 2**20),
        "chunks_total_mb": round(row[2] / 2**20),
        "documents_total_mb": round(row[3] / 2**20),
        "server_peak_pss_mb": memory.pss_mb,
        "server_peak_rss_sum_mb": memory.rss_mb,
    }


def _exact_sql(source: str | None) -> str:
    """Exact top k by distance: nothing can serve ORDER BY distance, id but a sort."""
    if source is None:
        return (
            "SELECT c.id FROM chunks c WHERE c.collection = %s"
            " ORDER BY c.embedding <=> %s, c.id LIMIT %s"
        )
    return (
        f"SELECT c.id FROM {_WITH_DOCUMENT} WHERE c.collection = %s AND d.source = %s"
        " ORDER BY c.embedding <=> %s, c.id LIMIT %s"
    )


def _exact_params(
    vector: np.ndarray, k: int, source: str | None, collection: str = DEFAULT_COLLECTION
) -> list[Any]:
    return [collection, vector, k] if source is None else [collection, source, vector, k]


def _hnsw_sql(ef_search: int, source: str | None) -> tuple[str, ...]:
    """The backend's dense query on a large collection (_Snapshot.dense) at any ef_search."""
    if source is None:
        return (
            f"SET LOCAL hnsw.ef_search = {ef_search}",
            "SET LOCAL hnsw.iterative_scan = relaxed_order",
            "SET LOCAL enable_seqscan = off",
            "SET LOCAL enable_sort = off",
            "SELECT c.id, 1 - (c.embedding <=> %s) FROM chunks c"
            " WHERE c.collection = %s AND TRUE ORDER BY c.embedding <=> %s LIMIT %s",
        )
    return (
        f"SET LOCAL hnsw.ef_search = {ef_search}",
        "SET LOCAL hnsw.iterative_scan = relaxed_order",
        "SET LOCAL enable_seqscan = off",
        f"SELECT c.id, 1 - (c.embedding <=> %s) FROM {_WITH_DOCUMENT}"
        " WHERE c.collection = %s AND TRUE AND d.source = ANY(%s)"
        " ORDER BY c.embedding <=> %s LIMIT %s",
    )


def _hnsw_params(
    vector: np.ndarray, k: int, source: str | None, collection: str = DEFAULT_COLLECTION
) -> list[Any]:
    sources = [] if source is None else [[source]]
    return [vector, collection, *sources, vector, k]


def plan(connection: psycopg.Connection[Any], statements: Sequence[str], params: list[Any]) -> str:
    with connection.transaction():
        for statement in statements[:-1]:
            connection.execute(statement)
        rows = connection.execute("EXPLAIN (COSTS OFF) " + statements[-1], params).fetchall()
    text = "\n".join(str(r[0]) for r in rows)
    return re.sub(r"'\[[^]]*\]'::vector", "$query::vector", text)


def exact_top(
    connection: psycopg.Connection[Any],
    queries: np.ndarray,
    sources: Sequence[str | None],
    k: int,
    collection: str = DEFAULT_COLLECTION,
) -> tuple[list[list[int]], dict[str, float]]:
    results, samples = [], []
    for query, source in zip(queries, sources, strict=True):
        started = time.perf_counter()
        with connection.transaction():
            connection.execute("SET LOCAL enable_indexscan = off")
            rows = connection.execute(
                _exact_sql(source), _exact_params(query, k, source, collection)
            ).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
        results.append([int(r[0]) for r in rows])
    return results, percentiles(samples)


def hnsw_top(
    connection: psycopg.Connection[Any],
    queries: np.ndarray,
    sources: Sequence[str | None],
    k: int,
    ef_search: int,
) -> tuple[list[list[int]], dict[str, float]]:
    """The backend's query shape with another ef_search (its own: max(ef_search_for(size), k))."""
    results, samples = [], []
    for query, source in zip(queries, sources, strict=True):
        *settings, select = _hnsw_sql(ef_search, source)
        started = time.perf_counter()
        with connection.transaction():
            for setting in settings:
                connection.execute(setting)
            rows = connection.execute(select, _hnsw_params(query, k, source)).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
        ranked = sorted(((int(i), float(s)) for i, s in rows), key=lambda r: (-r[1], r[0]))
        results.append([i for i, _ in ranked])
    return results, percentiles(samples)


def backend_top(
    backend: PostgresBackend,
    queries: np.ndarray,
    sources: Sequence[str | None],
    k: int,
    collection: str = DEFAULT_COLLECTION,
) -> tuple[list[list[int]], dict[str, float]]:
    """What a search pays for its dense half: a pooled connection, a read-only snapshot, the
    backend's settings and query."""
    results, samples = [], []
    for query, source in zip(queries, sources, strict=True):
        filters = SearchFilters(sources=[source]) if source else SearchFilters()
        started = time.perf_counter()
        with backend.searching(collection) as snapshot:
            hits = snapshot.dense(query, k, filters)
        samples.append((time.perf_counter() - started) * 1000)
        results.append([i for i, _ in hits])
    return results, percentiles(samples)


def recall_at(n: int, results: Sequence[list[int]], truth: Sequence[list[int]]) -> float:
    hits = [len(set(r[:n]) & set(t[:n])) / n for r, t in zip(results, truth, strict=True)]
    return round(float(np.mean(hits)), 4)


def cases_of(queries: np.ndarray) -> dict[str, list[str | None]]:
    return {
        "all": [None] * len(queries),
        "source filter": [SOURCES[i % len(SOURCES)] for i in range(len(queries))],
    }


def search(url: str, queries: np.ndarray) -> tuple[dict[str, Any], dict[str, list[list[int]]]]:
    """Exact truth first (its sequential scans go through a small ring of buffers and leave the
    cache alone), one untimed warm-up pass, then the timed passes; the figures and the truth."""
    cases = cases_of(queries)
    top = max(KS)
    out: dict[str, Any] = {"exact": {}, "hnsw": [], "other_ef_search": [], "plans": {}}
    with psycopg.connect(url, autocommit=True) as connection:
        register_vector(connection)
        row = connection.execute("SELECT count(*) FROM chunks").fetchone()
        assert row is not None
        own = ef_search_for(int(row[0]))  # the backend's, at this size
        out["backend_ef_search"] = own
        truth = {}
        for name, sources in cases.items():
            exact_plan = plan(
                connection,
                ["SET LOCAL enable_indexscan = off", _exact_sql(sources[0])],
                _exact_params(queries[0], top, sources[0]),
            )
            assert "chunks_embedding" not in exact_plan, exact_plan
            out["plans"][f"exact, {name}"] = exact_plan
            out["plans"][f"hnsw, {name}"] = plan(
                connection, _hnsw_sql(40, sources[0]), _hnsw_params(queries[0], 10, sources[0])
            )
            truth[name], latency = exact_top(connection, queries, sources, top)
            out["exact"][name] = {"k": top, **latency}
            print(f"  exact top {top} ({name}): p50 {latency['p50_ms']} ms")
        for sources in cases.values():
            hnsw_top(connection, queries, sources, top, max(EF_SEARCH))  # warm-up
        ef_results = {}
        for name, sources in cases.items():
            for ef_search in sorted({*EF_SEARCH, own}):
                results, latency = hnsw_top(connection, queries, sources, 10, ef_search)
                ef_results[name, ef_search] = results
                out["other_ef_search"].append(
                    {
                        "filter": name,
                        "ef_search": ef_search,
                        "k": 10,
                        "p50_ms": latency["p50_ms"],
                        "recall_at_10": recall_at(10, results, truth[name]),
                    }
                )
    backend = PostgresConfig(url).open(queries.shape[1])
    try:
        for k in KS:
            for name, sources in cases.items():
                results, latency = backend_top(backend, queries, sources, k)
                case = {
                    "k": k,
                    "filter": name,
                    "ef_search": min(max(own, k), MAX_EF_SEARCH),
                    **latency,
                    "recall_at_10": recall_at(10, results, truth[name]),
                    "short_answers": sum(len(r) < k for r in results),
                }
                if k != 10:
                    case[f"recall_at_{k}"] = recall_at(k, results, truth[name])
                if k == 10:  # the bench's copy of the query gives the backend's answers
                    case["same_as_bench_query"] = results == ef_results[name, own]
                out["hnsw"].append(case)
    finally:
        backend.close()
    return out, truth


def small_tenant(server: Any, data: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    """A collection of ``data`` (1,000 chunks) beside the large one, searched through the
    backend: p50 and recall@10 against the exact top 10 of its own chunks, and its plan."""
    with psycopg.connect(server.url) as connection:
        register_vector(connection)
        row = connection.execute("SELECT max(id) FROM chunks").fetchone()
        assert row is not None
        copy_chunks(connection, data, SMALL_TENANT, int(row[0]))
    with psycopg.connect(server.url, autocommit=True) as connection:
        register_vector(connection)
        connection.execute("ANALYZE documents, chunks")
        truth, _ = exact_top(connection, queries, [None] * len(queries), 10, SMALL_TENANT)
        shown = plan(
            connection,
            _hnsw_sql(ef_search_for(SMALL_CHUNKS), None),
            _hnsw_params(queries[0], 10, None, SMALL_TENANT),
        )
    backend = PostgresConfig(server.url).open(queries.shape[1])
    try:
        backend_top(backend, queries, [None] * len(queries), 10, SMALL_TENANT)  # warm-up
        results, latency = backend_top(backend, queries, [None] * len(queries), 10, SMALL_TENANT)
    finally:
        backend.close()
    out = {
        "chunks": len(data),
        "k": 10,
        **latency,
        "recall_at_10": recall_at(10, results, truth),
        "plan": shown,
    }
    print(
        f"  a {len(data):,}-chunk collection beside it: p50 {out['p50_ms']} ms, recall@10 "
        f"{out['recall_at_10']}; plan: " + " / ".join(x.strip() for x in shown.splitlines())
    )
    return out


def sweep(
    server: Any, queries: np.ndarray, truth: dict[str, list[list[int]]], parameters: tuple[int, int]
) -> dict[str, Any]:
    """The index rebuilt with ``parameters`` (m, ef_construction): its build, and recall@10
    against ef_search (after a warm-up pass), with the lowest ef_search reaching the target."""
    built = build(server, parameters)
    out: dict[str, Any] = {"m": parameters[0], "ef_construction": parameters[1], **built}
    out["ef_search"], out["lowest_ef_search_for_target"] = [], {}
    with psycopg.connect(server.url, autocommit=True) as connection:
        register_vector(connection)
        for name, sources in cases_of(queries).items():
            hnsw_top(connection, queries, sources, 10, max(SWEEP_EF_SEARCH))  # warm-up
            lowest = None
            for ef_search in SWEEP_EF_SEARCH:
                results, latency = hnsw_top(connection, queries, sources, 10, ef_search)
                recall = recall_at(10, results, truth[name])
                out["ef_search"].append(
                    {
                        "filter": name,
                        "ef_search": ef_search,
                        "p50_ms": latency["p50_ms"],
                        "recall_at_10": recall,
                    }
                )
                if lowest is None and recall >= TARGET_RECALL:
                    lowest = {
                        "ef_search": ef_search,
                        "p50_ms": latency["p50_ms"],
                        "recall_at_10": recall,
                    }
            out["lowest_ef_search_for_target"][name] = lowest
    print(sweep_summary(out))
    return out


def sweep_summary(r: dict[str, Any]) -> str:
    lines = [
        f"  m {r['m']}, ef_construction {r['ef_construction']}: built in {r['build_s']} s, index "
        f"{r['index_mb']} MB, build peak PSS {r['server_peak_pss_mb']} MB"
    ]
    for name, lowest in r["lowest_ef_search_for_target"].items():
        curve = ", ".join(
            f"{c['ef_search']}: {c['recall_at_10']} ({c['p50_ms']} ms)"
            for c in r["ef_search"]
            if c["filter"] == name
        )
        reached = (
            f"recall@10 {TARGET_RECALL} from ef_search {lowest['ef_search']} "
            f"(p50 {lowest['p50_ms']} ms)"
            if lowest
            else f"recall@10 {TARGET_RECALL} never reached"
        )
        lines.append(f"    {name}: {reached}; {curve}")
    return "\n".join(lines)


def server_settings(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)"
            " UNION ALL SELECT 'pgvector', extversion FROM pg_extension WHERE extname = 'vector'",
            [["server_version", "shared_buffers", "max_parallel_workers_per_gather"]],
        ).fetchall()
    return {str(name): str(value) for name, value in rows}


def measure(
    name: str,
    make: Callable[[], np.ndarray],
    queries: np.ndarray,
    shared_buffers: str,
    make_small: Callable[[], np.ndarray],
    builds: Sequence[tuple[int, int]] = (),
) -> dict[str, Any]:
    helpers = postgres_helpers()
    server = helpers.start_postgres()
    try:
        if shared_buffers:
            server.set_shared_buffers(shared_buffers)
        schema.upgrade(server.url)
        settings = server_settings(server.url)
        data = make()
        vectors = len(data)
        print(f"{name}: loading {vectors:,} chunks")
        loaded = load(server.url, data)
        del data
        print(f"  loaded in {loaded['load_s']} s, VACUUM ANALYZE {loaded['vacuum_s']} s; building")
        built = build(server)
        print(f"  built in {built['build_s']} s; searching")
        with ServerMemory(postmaster_pid(server), server.url, report_s=float("inf")) as memory:
            searched, truth = search(server.url, queries)
        tenant = small_tenant(server, make_small(), queries)
        swept = [sweep(server, queries, truth, parameters) for parameters in builds]
        return {
            "dataset": name,
            "vectors": vectors,
            "server": settings,
            "maintenance_work_mem": MAINTENANCE_WORK_MEM,
            "max_parallel_maintenance_workers": 1,
            **loaded,
            **built,
            "server_peak_pss_searching_mb": memory.pss_mb,
            **searched,
            "small_collection_beside": tenant,
            **({"builds": swept} if swept else {}),
        }
    finally:
        server.stop()


def summary(r: dict[str, Any]) -> str:
    lines = [
        f"{r['dataset']}: {r['vectors']:,} chunks in {r['documents']:,} documents "
        f"(PostgreSQL {r['server']['server_version']}, pgvector {r['server']['pgvector']}, "
        f"shared_buffers {r['server']['shared_buffers']})",
        f"  load (binary COPY, no HNSW index): {r['load_s']} s, VACUUM ANALYZE {r['vacuum_s']} s",
        f"  HNSW build (maintenance_work_mem {r['maintenance_work_mem']}, 1 parallel worker): "
        f"{r['build_s']} s; index {r['index_mb']} MB ({r['index_bytes_per_vector']} bytes/vector)"
        f", chunks table {r['chunks_table_mb']} MB ({r['chunks_total_mb']} MB with its other "
        f"indexes), documents {r['documents_total_mb']} MB",
        f"  server memory: build peak PSS {r['server_peak_pss_mb']} MB (RSS sum "
        f"{r['server_peak_rss_sum_mb']} MB), searching peak PSS "
        f"{r['server_peak_pss_searching_mb']} MB",
    ]
    if r["build_notices"]:
        lines.append(f"  build notices: {r['build_notices']}")
    for name, exact in r["exact"].items():
        lines.append(
            f"  exact scan (k={exact['k']}, {name}): p50/p95/p99 {exact['p50_ms']}/"
            f"{exact['p95_ms']}/{exact['p99_ms']} ms"
        )
    lines.append("  backend dense search (HNSW)       p50 ms   p95 ms   p99 ms  recall@10  @k")
    for c in r["hnsw"]:
        label = f"k={c['k']}, {c['filter']}, ef_search {c['ef_search']}"
        at_k = c[f"recall_at_{c['k']}"]
        lines.append(
            f"    {label:<32}{c['p50_ms']:>7}  {c['p95_ms']:>7}  {c['p99_ms']:>7}  "
            f"{c['recall_at_10']:>9}  {at_k}"
            + (f"  ({c['short_answers']} short)" if c["short_answers"] else "")
            + ("" if c.get("same_as_bench_query", True) else "  (differs from the bench query)")
        )
    for c in r["other_ef_search"]:
        lines.append(
            f"    k=10, {c['filter']}, ef_search {c['ef_search']:<4} (bench query): "
            f"p50 {c['p50_ms']} ms, recall@10 {c['recall_at_10']}"
        )
    for name, text in r["plans"].items():
        lines.append(f"  plan, {name}: " + " / ".join(s.strip() for s in text.splitlines()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--uniform", action="store_true", help="uniform random vectors too")
    parser.add_argument(
        "--shared-buffers", default="6GB", help="the server's shared_buffers ('' keeps 128MB)"
    )
    parser.add_argument(
        "--builds",
        default="",
        help="other HNSW parameters to rebuild with and measure, as m:ef_construction,...",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    builds = [(int(m), int(ef)) for m, ef in (b.split(":") for b in args.builds.split(",") if b)]
    started = time.perf_counter()
    anchors, queries = anchors_and_queries(args.queries)
    rng = np.random.default_rng(0)
    datasets: dict[str, Callable[[], np.ndarray]] = {
        "text-like": lambda: text_like(anchors, args.vectors, rng)
    }

    def small() -> np.ndarray:
        return text_like(anchors, SMALL_CHUNKS, np.random.default_rng(1))

    if args.uniform:
        datasets["uniform"] = lambda: uniform(args.vectors, anchors.shape[1], rng)
    meminfo = Path("/proc/meminfo").read_text().split()
    report: dict[str, Any] = {
        "machine": {
            "cpu": cpu_model(),
            "cpus": os.cpu_count(),
            "memory_gb": round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1),
            "platform": sys.platform,
        },
        "queries": len(queries),
        "results": [],
    }
    for name, make in datasets.items():
        report["results"].append(measure(name, make, queries, args.shared_buffers, small, builds))
        print(summary(report["results"][-1]))
    report["wall_s"] = round(time.perf_counter() - started)
    machine = report["machine"]
    print(
        f"{machine['cpu']}, {machine['cpus']} CPUs, {machine['memory_gb']} GB; "
        f"{len(queries)} queries; wall time {report['wall_s']} s"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
