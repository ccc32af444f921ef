"""Capacity on PostgreSQL: CPU per hybrid search on a replica and on the database, what N
replicas on one PostgreSQL carry, bytes per chunk projected to 10M and 100M chunks, and one
replica SIGKILLed under load.

Usage: python bench/capacity.py [--docs N] [--clients 4 8 16] [--seconds 20]
       [--split-seconds 8] [--replica-cores 2] [--json FILE]

A private PostgreSQL 18 + pgvector (tests/postgres.py; shared_buffers set to SHARED_BUFFERS so
the store stays in the server's cache) gets a migrated database. SciFact (../shared/eval/scifact,
read in place; --docs N for the first N abstracts) is ingested through the engine in process,
64 documents per upsert as `semsearch ingest` sends them, in two steps: a quarter first, then
the rest, each followed by VACUUM (ANALYZE), what autovacuum would do next. After each step two
`semsearch serve` replicas on the database (SEMSEARCH_DATABASE_URL, default pool and settings)
answer SPLIT_CLIENTS clients for --split-seconds each in dense, lexical and hybrid mode: what a
search costs PostgreSQL by mode and how it grows with the corpus. Then, on the whole corpus,
hybrid searches (k=10, SciFact's claims as queries, clients taking the replicas in turn) at
each --clients count for --seconds each: latency, requests/s and CPU per request.

CPU per request, the method. CPU time is read from /proc/<pid>/stat: utime + stime of a process
(all its threads) plus cutime + cstime, the times of its children it has reaped (the kernel adds
a child's times, and its own reaped children's, to its parent's when the parent waits for it).
The cumulative time of a process tree is that sum over the root and every live descendant
found by scanning /proc for parent links at the moment of the sample. A descendant is counted
once: while it lives by its own times, after it is reaped inside its parent's c-times, so a
backend that starts or ends between two samples is neither lost nor counted twice (its time
before the first sample is in both samples and cancels). PostgreSQL's tree is the postmaster
(its pid from postmaster.pid) with every backend, parallel worker and auxiliary process
(checkpointer, WAL writer, autovacuum); the postmaster reaps them all. A replica's tree is the
`semsearch serve` process with any children (file readers). The figures of a phase are the
differences between a sample before and one after it (taken SETTLE_S after the last answer, so
idle backends have flushed their statistics), less the idle rate of each tree (measured over
IDLE_S before the phases: pool checks, job polling, background writers) times the phase's
length; divided by the requests answered. The times count in clock ticks (10 ms), so idle
rates are coarse and a phase needs seconds of CPU to be exact to a percent. pg_stat_database
gives the transactions per request. The load generator's own CPU (this process: os.times) and
the whole machine's busy cores (/proc/stat, other tenants included) are reported beside them.
CPU time is what a request costs whatever else runs; latency and requests/s on a shared 2-core
machine are not capacity figures (everything here, PostgreSQL, two replicas and the clients,
shares the same two cores).

How PostgreSQL's cost grows: BM25 reads every posting of each query term, so the lexical cost is
set against the postings a query reads (counted per query with the schema's text search
configuration) at the two sizes, and projected along that line and proportionally.

The model: N replicas of R cores each on one PostgreSQL of C cores carry
min(N * R / replica_cpu_s_per_request, C / postgres_cpu_s_per_request) hybrid searches per
second, using the largest per-phase CPU cost measured (contention included). Sizes come from
pg_relation_size / pg_table_size / pg_total_relation_size per relation, divided by chunks;
server memory is the sum of PSS (proportional set size: shared buffers counted once) over the
postmaster's tree, RSS sums beside it. The HNSW build is timed by REINDEX INDEX chunks_embedding
(maintenance_work_mem MAINTENANCE_WORK_MEM, one parallel worker, as bench/scale_postgres.py
builds at 1M) and projected by n log n from this size and, when bench/scale_postgres.json holds
one, from its 1M-vector build. A build is fast only while the whole graph fits in
maintenance_work_mem: pgvector#300 (10M 768-d vectors, 4 CPUs, maintenance_work_mem 1GB: over
24 hours at about 10% CPU; the maintainer's answer: raise maintenance_work_mem for the session,
a NOTICE says when the graph no longer fits) and pgvector#969 (pgvector 0.8.2, m 16,
ef_construction 64: for full-precision `vector` indexes whose graph did not fit, raising
maintenance_work_mem from 1 GB to 30 GB brought no significant speed-up, where halfvec and bit
indexes did gain). pgvector#745 / #844 give the rule of thumb for the graph's memory,
vectors * (8 + 4 * dimensions) * 1.3 bytes.

Finally the replica kill of tests/test_replica_kill.py, short: KILL_CLIENTS retrying clients
mix searches and upserts over the two replicas, one is SIGKILLed after KILL_BEFORE_S seconds,
and every acknowledged write is read back from the survivor.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import load
import psycopg
from live_server import LiveServer, live_server, rss_mb
from load import run_load
from scale_postgres import (
    ServerMemory,
    cpu_model,
    postgres_helpers,
    postmaster_pid,
    server_memory_mb,
)

from index.backends import backend_config
from index.backends.postgres import backend as postgres_backend
from index.backends.postgres import ef_search_for
from index.engine import EngineConfig, SearchEngine
from index.evaluation import corpus_documents, read_queries
from index.models import DocumentInput

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"
INGEST_BATCH = 64  # documents per upsert, as `semsearch ingest` sends them
FIRST_PART = 4  # the first ingest step is a quarter of the corpus
SHARED_BUFFERS = "1GB"
MAINTENANCE_WORK_MEM = "1GB"
DIMENSION = 384
MODES = ("dense", "lexical", "hybrid")
SPLIT_CLIENTS = 8
WARM_UP = 20  # searches each replica answers before anything is timed
IDLE_S = 4.0
SETTLE_S = 1.5
KILL_CLIENTS, KILL_BEFORE_S, KILL_AFTER_S = 4, 3.0, 5.0
MODEL_REPLICAS = (1, 2, 4, 8, 16)
MODEL_CORES = (2, 4, 8, 16)
PROJECTED_CHUNKS = (10_000_000, 100_000_000)
GRAPH_OVERHEAD = 1.3  # pgvector#745: vectors * (8 + 4 * dims) * 1.3 for the build's graph
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CPU_COUNT = os.cpu_count() or 1


def replica_kill() -> ModuleType:
    """tests/replica_kill.py (postgres_helpers puts the repository root on the path)."""
    postgres_helpers()
    return importlib.import_module("tests.replica_kill")


# --- CPU time of process trees --------------------------------------------------------------


def _processes() -> dict[int, tuple[int, float]]:
    """Every process: pid -> (parent pid, its own CPU s + its reaped children's CPU s)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:  # gone since the listing
            continue
        fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        found[int(entry.name)] = (int(fields[1]), ticks / CLOCK_TICKS)
    return found


def tree_cpu_s(roots: dict[str, int]) -> dict[str, float]:
    """Cumulative CPU seconds of each named process tree, from one scan of /proc."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    totals = {}
    for name, root in roots.items():
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            if pid in table:
                total += table[pid][1]
                stack.extend(children.get(pid, []))
        totals[name] = total
    return totals


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot (busy: all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # guest times are already inside user and nice
    return total - values[3] - values[4], total


@dataclass(frozen=True)
class Sample:
    at: float
    trees: dict[str, float]
    client_s: float
    machine: tuple[int, int]
    transactions: int


class Meter:
    """Samples of the replicas', PostgreSQL's and this process's CPU time."""

    def __init__(self, roots: dict[str, int], database_url: str) -> None:
        self.roots = roots
        self.url = database_url
        self.idle_per_s: dict[str, float] = dict.fromkeys(roots, 0.0)

    def sample(self) -> Sample:
        with psycopg.connect(self.url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database"
                " WHERE datname = current_database()"
            ).fetchone()
        assert row is not None
        times = os.times()
        return Sample(
            time.monotonic(),
            tree_cpu_s(self.roots),
            times.user + times.system,
            _machine_jiffies(),
            int(row[0]),
        )

    def measure_idle(self, seconds: float = IDLE_S) -> dict[str, float]:
        """CPU ms per second of each tree while nothing is asked of it."""
        before = self.sample()
        time.sleep(seconds)
        after = self.sample()
        elapsed = after.at - before.at
        self.idle_per_s = {n: (after.trees[n] - before.trees[n]) / elapsed for n in self.roots}
        return {n: round(v * 1000, 2) for n, v in self.idle_per_s.items()}

    def spent(self, before: Sample, after: Sample, requests: int) -> dict[str, Any]:
        """CPU between two samples, less idle, per request (ms) and in all (s)."""
        elapsed = after.at - before.at
        cpu = {
            n: max(0.0, after.trees[n] - before.trees[n] - self.idle_per_s[n] * elapsed)
            for n in self.roots
        }
        replicas = sum(v for n, v in cpu.items() if n.startswith("replica"))
        busy = after.machine[0] - before.machine[0]
        total = after.machine[1] - before.machine[1]
        per = max(requests, 1)
        return {
            "cpu_s": {n: round(v, 2) for n, v in cpu.items()},
            "cpu_ms_per_request": {
                "replicas": round(replicas * 1000 / per, 3),
                "postgres": round(cpu["postgres"] * 1000 / per, 3),
                "load_generator": round((after.client_s - before.client_s) * 1000 / per, 3),
            },
            "transactions_per_request": round((after.transactions - before.transactions) / per, 2),
            "machine_busy_cores": round(busy / max(total, 1) * CPU_COUNT, 2),
        }


# --- PostgreSQL ------------------------------------------------------------------------------


def ef_search(chunks: int) -> int:
    """hnsw.ef_search the backend's dense query uses at k=10 on a collection of ``chunks``
    chunks (SEMSEARCH_DATABASE_EF_SEARCH, where set, overrides the size's)."""
    if os.environ.get("SEMSEARCH_DATABASE_EF_SEARCH"):
        return int(os.environ["SEMSEARCH_DATABASE_EF_SEARCH"])
    return ef_search_for(chunks)


def server_settings(url: str) -> dict[str, str]:
    names = ["server_version", "shared_buffers", "max_connections", "maintenance_work_mem"]
    with psycopg.connect(url, autocommit=True) as connection:
        found = {n: str(connection.execute(f"SHOW {n}").fetchone()[0]) for n in names}  # type: ignore[index]
        row = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        found["pgvector"] = str(row.fetchone()[0])  # type: ignore[index]
    return found


RELATION_SIZES = """
SELECT (SELECT count(*) FROM chunks), (SELECT count(*) FROM documents),
       (SELECT count(*) FROM chunk_terms),
       pg_table_size('chunks'), pg_relation_size('chunks_embedding'),
       pg_indexes_size('chunks') - pg_relation_size('chunks_embedding'),
       pg_total_relation_size('chunk_terms'), pg_total_relation_size('documents'),
       pg_database_size(current_database())
"""


def database_bytes(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
    assert row is not None
    return int(row[0])


def sizes(url: str, empty: int) -> dict[str, Any]:
    """Bytes of the search tables, in all and per chunk; ``empty``: the migrated database's
    size before any document (catalogs and empty relations), left out of `database`."""
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(RELATION_SIZES).fetchone()
        assert row is not None
        chunks, documents, postings, *relations = (int(v) for v in row)
    relations[-1] -= empty
    names = [
        "chunks_table",  # heap and TOAST: text offsets, sentences, the vector, lexical length
        "hnsw_index",  # chunks_embedding
        "chunks_other_indexes",
        "chunk_terms_total",  # the BM25 postings with their indexes
        "documents_total",  # the document text and metadata with their indexes
        "database",  # its growth since it was empty: the above, WAL-free, plus the rest
    ]
    found = dict(zip(names, relations, strict=True))
    return {
        "chunks": chunks,
        "documents": documents,
        "postings": postings,
        "bytes": found,
        "bytes_per_chunk": {n: round(v / max(chunks, 1)) for n, v in found.items()},
    }


def vacuum_analyze(url: str) -> float:
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")
    return round(time.perf_counter() - started, 1)


def reindex(url: str, postmaster: int) -> dict[str, Any]:
    """REINDEX INDEX chunks_embedding: wall time, PostgreSQL's CPU, peak memory, notices."""
    notices: list[str] = []
    with psycopg.connect(url, autocommit=True) as connection:
        connection.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
        connection.execute(f"SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
        connection.execute("SET max_parallel_maintenance_workers = 1")
        count = connection.execute("SELECT count(*) FROM chunks").fetchone()
        assert count is not None
        before = tree_cpu_s({"postgres": postmaster})["postgres"]
        with ServerMemory(postmaster, url, report_s=float("inf")) as memory:
            started = time.perf_counter()
            connection.execute("REINDEX INDEX chunks_embedding")
            build_s = time.perf_counter() - started
        cpu_s = tree_cpu_s({"postgres": postmaster})["postgres"] - before
        index = connection.execute("SELECT pg_relation_size('chunks_embedding')").fetchone()
        assert index is not None
    return {
        "vectors": int(count[0]),
        "maintenance_work_mem": MAINTENANCE_WORK_MEM,
        "max_parallel_maintenance_workers": 1,
        "build_s": round(build_s, 2),
        "postgres_cpu_s": round(cpu_s, 2),
        "index_bytes": int(index[0]),
        "index_bytes_per_vector": round(index[0] / max(count[0], 1)),
        "server_peak": {"pss_mb": memory.pss_mb, "rss_sum_mb": memory.rss_mb},
        "notices": notices,
    }


# --- load ------------------------------------------------------------------------------------


def register_queries(queries: Sequence[str]) -> None:
    """SciFact claims as load.py endpoints, one per search mode."""

    def body(mode: str) -> Callable[[int], object]:
        return lambda i: {"query": queries[i % len(queries)], "k": 10, "mode": mode}

    for mode in MODES:
        load.ENDPOINTS[f"scifact_{mode}"] = ("POST", "/v1/search", body(mode))


def warm_up(replicas: Sequence[LiveServer], queries: Sequence[str]) -> None:
    for replica in replicas:
        with httpx.Client(base_url=replica.url, timeout=60) as http:
            for query in queries[:WARM_UP]:
                http.post("/v1/search", json={"query": query, "k": 10}).raise_for_status()


def phase(
    meter: Meter, urls: Sequence[str], mode: str, clients: int, seconds: float
) -> dict[str, Any]:
    """One load phase: latency and throughput (load.py), and the CPU it cost."""
    before = meter.sample()
    result = run_load(list(urls), f"scifact_{mode}", clients, seconds)
    time.sleep(SETTLE_S)
    after = meter.sample()
    figures = {k: v for k, v in asdict(result).items() if k != "endpoint"}
    figures["mode"] = mode
    figures.update(meter.spent(before, after, result.requests - result.errors))
    print(
        f"  {mode:<8} {clients:>2} clients: {result.requests_per_s:>6} req/s, p50 "
        f"{result.p50_ms} ms, errors {result.errors}; CPU ms/request replicas "
        f"{figures['cpu_ms_per_request']['replicas']}, postgres "
        f"{figures['cpu_ms_per_request']['postgres']}; machine busy "
        f"{figures['machine_busy_cores']} cores",
        file=sys.stderr,
        flush=True,
    )
    return figures


@contextmanager
def replicas_on(url: str, count: int = 2) -> Iterator[list[LiveServer]]:
    """``count`` `semsearch serve` processes on the database, stopped afterwards."""
    env = {"SEMSEARCH_DATABASE_URL": url, "SEMSEARCH_SEED_DIR": ""}
    with ExitStack() as stack:
        servers = []
        for _ in range(count):
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            servers.append(stack.enter_context(live_server(data_dir, env)))
        yield servers


def ingest(engine: SearchEngine, documents: Sequence[DocumentInput]) -> None:
    for first in range(0, len(documents), INGEST_BATCH):
        engine.upsert(list(documents[first : first + INGEST_BATCH]))


def sigkill(pid: int) -> None:
    """SIGKILL a child and wait until it is dead (a zombie, reaped later by its Popen)."""
    os.kill(pid, signal.SIGKILL)
    for _ in range(300):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.01)


# --- the model and the projection ------------------------------------------------------------


def model(per_request: dict[str, float], replica_cores: int) -> dict[str, Any]:
    """req/s of N replicas (R cores each) on one PostgreSQL of C cores."""
    replica_s = per_request["replicas"] / 1000
    postgres_s = per_request["postgres"] / 1000
    rows = []
    for n in MODEL_REPLICAS:
        row: dict[str, Any] = {"replicas": n}
        for c in MODEL_CORES:
            replicas_carry = n * replica_cores / replica_s
            postgres_carries = c / postgres_s
            row[f"postgres_{c}_cores"] = round(min(replicas_carry, postgres_carries))
            row[f"postgres_{c}_cores_bound"] = (
                "postgres" if postgres_carries < replicas_carry else "replicas"
            )
        rows.append(row)
    return {
        "formula": "min(N * R / replica_cpu_s_per_request, C / postgres_cpu_s_per_request)",
        "replica_cores_R": replica_cores,
        "replica_cpu_ms_per_request": per_request["replicas"],
        "postgres_cpu_ms_per_request": per_request["postgres"],
        "requests_per_s_per_replica_core": round(1 / replica_s, 1),
        "requests_per_s_per_postgres_core": round(1 / postgres_s, 1),
        "table": rows,
        # PostgreSQL is the limit from this many replicas on (N * R / r >= C / p)
        "postgres_saturates_at_replicas": {
            f"{c}_cores": round(c * replica_s / (replica_cores * postgres_s), 2)
            for c in MODEL_CORES
        },
    }


def gib(size: float) -> float:
    """Bytes in GB of 2^30 bytes, as PostgreSQL counts them (its '20GB' setting)."""
    return round(size / 2**30, 1)


def n_log_n(n: float, n0: float) -> float:
    return (n * math.log(n)) / (n0 * math.log(n0))


def projection(
    measured: dict[str, Any], build: dict[str, Any], anchor: dict[str, Any] | None
) -> dict[str, Any]:
    """Disk, the HNSW index and its build at PROJECTED_CHUNKS, linear in chunks (sizes) and
    n log n (build time) from what was measured."""
    per_chunk = measured["bytes_per_chunk"]
    vector_bytes = 8 + 4 * DIMENSION
    out: dict[str, Any] = {}
    for n in PROJECTED_CHUNKS:
        graph = n * vector_bytes * GRAPH_OVERHEAD
        index = n * build["index_bytes_per_vector"]
        cpu_s = build["postgres_cpu_s"] * n_log_n(n, build["vectors"])
        figures: dict[str, Any] = {
            "database_gib": gib(n * per_chunk["database"]),
            "by_relation_gib": {k: gib(n * v) for k, v in per_chunk.items() if k != "database"},
            "hnsw_index_gib": gib(index),
            "hnsw_build_memory_gib": {
                "rule_of_thumb_graph": gib(graph),  # pgvector#745, #844
                "index_size": gib(index),
                "maintenance_work_mem_at_least": f"{math.ceil(max(graph, index) / 2**30)}GB",
            },
            "hnsw_build_from_bench_size": {
                "cpu_hours": round(cpu_s / 3600, 1),
                "wall_hours_on_cores": {str(c): round(cpu_s / c / 3600, 2) for c in (2, 8, 16)},
            },
            # what must stay cached for searches without disk reads: the HNSW index at least
            # (dense), and the postings of the query terms, the chunks and documents hydrated
            # (lexical, results): at most the whole database
            "cache_for_no_disk_reads_gib": {
                "dense_at_least": gib(index),
                "everything": gib(n * per_chunk["database"]),
            },
        }
        if anchor is not None:
            scale = n_log_n(n, anchor["vectors"])
            figures["hnsw_build_from_1m_build"] = {
                "wall_hours_like_anchor": round(anchor["build_s"] * scale / 3600, 1),
                "wall_hours_on_cores": {
                    str(c): round(anchor["build_s"] * scale * anchor["processes"] / c / 3600, 2)
                    for c in (8, 16)
                },
            }
        out[f"{n // 1_000_000}M"] = figures
    return out


def scale_postgres_anchor() -> dict[str, Any] | None:
    """The 1M-vector HNSW build of bench/scale_postgres.json, if there is one."""
    path = ROOT / "bench" / "scale_postgres.json"
    try:
        report = json.loads(path.read_text())
        result = next(r for r in report["results"] if r.get("build_s"))
    except (OSError, ValueError, StopIteration, KeyError):
        return None
    workers = int(result.get("max_parallel_maintenance_workers", 0))
    dense = next(
        (
            h["p50_ms"]
            for h in result.get("hnsw", [])
            if h.get("k") == 10 and h.get("filter") == "all" and h.get("ef_search") == 800
        ),
        None,
    )
    return {
        "source": "bench/scale_postgres.json",
        "cpu": report.get("machine", {}).get("cpu"),
        "vectors": int(result["vectors"]),
        "build_s": float(result["build_s"]),
        "maintenance_work_mem": result.get("maintenance_work_mem"),
        "processes": 1 + workers,  # the leader and its parallel workers
        "index_bytes_per_vector": result.get("index_bytes_per_vector"),
        "server_peak_pss_mb": result.get("server_peak_pss_mb"),
        # one query at a time, so about the CPU a dense search costs PostgreSQL at 1M
        "dense_search_p50_ms_at_1m_ef_search_800": dense,
    }


# --- the run ---------------------------------------------------------------------------------


def by_mode(meter: Meter, urls: Sequence[str], seconds: float) -> dict[str, Any]:
    return {mode: phase(meter, urls, mode, SPLIT_CLIENTS, seconds) for mode in MODES}


def run(args: argparse.Namespace) -> dict[str, Any]:
    documents = list(corpus_documents(args.corpus / "corpus.jsonl"))[: args.docs]
    queries = list(read_queries(args.corpus / "queries.jsonl").values())
    register_queries(queries)
    report: dict[str, Any] = {
        "machine": {
            "cpu": cpu_model(),
            "cpus": CPU_COUNT,
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
        "corpus": f"{args.corpus.name}: {len(documents)} documents, {len(queries)} queries",
        "code": code_version(),
    }
    server = postgres_helpers().start_postgres()
    try:
        server.set_shared_buffers(SHARED_BUFFERS)  # the store stays in its cache
        url = server.fresh_database()
        postmaster = postmaster_pid(server)
        report["postgres"] = {
            **server_settings(url),
            "pool_size_per_replica": int(os.environ.get("SEMSEARCH_DATABASE_POOL_SIZE", "8")),
        }
        report.update(measure(args, url, postmaster, documents, queries))
    finally:
        server.stop()
    report["code_at_end"] = code_version()  # replicas start late: the code may change meanwhile
    return report


def measure(
    args: argparse.Namespace,
    url: str,
    postmaster: int,
    documents: list[DocumentInput],
    queries: list[str],
) -> dict[str, Any]:
    out: dict[str, Any] = {"ingest": [], "by_size": []}
    empty = database_bytes(url)
    engine = SearchEngine(EngineConfig(storage=backend_config(url)))
    cut = max(1, len(documents) // FIRST_PART)
    try:
        chunks_before = 0
        for step, part in enumerate((documents[:cut], documents[cut:])):
            print(f"ingesting {len(part)} documents", file=sys.stderr, flush=True)
            before = tree_cpu_s({"postgres": postmaster})["postgres"]
            started = time.perf_counter()
            ingest(engine, part)
            ingest_s = time.perf_counter() - started
            cpu_s = tree_cpu_s({"postgres": postmaster})["postgres"] - before
            stored = sizes(url, empty)
            idle_memory = server_memory_mb(postmaster)
            out["ingest"].append(
                {
                    "documents": len(part),
                    "s": round(ingest_s, 1),
                    "postgres_cpu_s": round(cpu_s, 1),
                    "postgres_cpu_ms_per_document": round(cpu_s * 1000 / len(part), 2),
                    "postgres_cpu_ms_per_chunk": round(
                        cpu_s * 1000 / max(stored["chunks"] - chunks_before, 1), 2
                    ),
                    "vacuum_analyze_s": vacuum_analyze(url),
                }
            )
            with replicas_on(url) as replicas:
                meter = Meter(_roots(replicas, postmaster), url)
                warm_up(replicas, queries)
                meter.measure_idle()
                print(f"{stored['chunks']} chunks: by mode", file=sys.stderr, flush=True)
                urls = [r.url for r in replicas]
                out["by_size"].append(
                    {
                        "chunks": stored["chunks"],
                        "ef_search": ef_search(stored["chunks"]),
                        "postings_per_query": postings_per_query(url, queries[: WARM_UP * 10]),
                        **by_mode(meter, urls, args.split_seconds),
                    }
                )
                chunks_before = stored["chunks"]
                if step == 0:
                    continue
                out.update(full_size(args, meter, replicas, postmaster, queries))
                out["sizes"] = stored
                out["memory"]["postgres_before_replicas"] = idle_memory
    finally:
        engine.close()
    out["lexical_growth"] = lexical_growth(out["by_size"])
    build = reindex(url, postmaster)
    out["hnsw_build"] = build
    anchor = scale_postgres_anchor()
    out["hnsw_build_anchor"] = anchor
    out["model"] = model(out["per_request"], args.replica_cores)
    out["projection"] = projection(out["sizes"], build, anchor)
    out["assumptions"] = assumptions(args, out["by_size"][-1], anchor)
    out["notes"] = NOTES
    return out


def _roots(replicas: Sequence[LiveServer], postmaster: int) -> dict[str, int]:
    return {**{f"replica_{i}": r.pid for i, r in enumerate(replicas)}, "postgres": postmaster}


def full_size(
    args: argparse.Namespace,
    meter: Meter,
    replicas: list[LiveServer],
    postmaster: int,
    queries: list[str],
) -> dict[str, Any]:
    """Hybrid at each client count on the whole corpus; memory; then the kill."""
    out: dict[str, Any] = {"idle_cpu_ms_per_s": meter.measure_idle()}
    urls = [r.url for r in replicas]
    print("hybrid phases", file=sys.stderr, flush=True)
    out["phases"] = [phase(meter, urls, "hybrid", c, args.seconds) for c in args.clients]
    costs = [p["cpu_ms_per_request"] for p in out["phases"]]
    served = [p["requests"] - p["errors"] for p in out["phases"]]
    out["per_request"] = {
        # the model's figures: the largest of the phases (contention included)
        "replicas": max(c["replicas"] for c in costs),
        "postgres": max(c["postgres"] for c in costs),
        "mean_replicas": round(
            sum(c["replicas"] * s for c, s in zip(costs, served, strict=True)) / sum(served), 3
        ),
        "mean_postgres": round(
            sum(c["postgres"] * s for c, s in zip(costs, served, strict=True)) / sum(served), 3
        ),
    }
    out["memory"] = {
        "postgres_after_load": server_memory_mb(postmaster),
        "replica_rss_mb": [rss_mb(r.pid) for r in replicas],
    }
    if args.kill:
        print("replica kill", file=sys.stderr, flush=True)
        report = replica_kill().run_kill_scenario(
            urls,
            lambda: sigkill(replicas[1].pid),
            1,
            clients=KILL_CLIENTS,
            before_s=KILL_BEFORE_S,
            after_s=KILL_AFTER_S,
            queries=queries,
            prefix="capacity-kill",
        )
        out["replica_kill"] = report.summary()
    return out


def lexical_growth(by_size: list[dict[str, Any]]) -> dict[str, Any] | None:
    """PostgreSQL's CPU per lexical search against the postings it reads: BM25 reads (and
    counts) every posting of each query term, and a term's postings grow with the corpus.
    Projected two ways: along the line through the two sizes (CPU per extra posting read), and
    proportionally (all of the cost taken as the postings', an upper bound). Dense search is
    left out: at ef_search 800 on a few thousand chunks HNSW visits most of the graph (and
    small collections may be searched exactly), so its cost here says nothing of its growth
    beyond (about log n)."""
    if len(by_size) < 2 or by_size[0]["chunks"] == by_size[-1]["chunks"]:
        return None
    small, large = by_size[0], by_size[-1]
    a = small["lexical"]["cpu_ms_per_request"]["postgres"]
    b = large["lexical"]["cpu_ms_per_request"]["postgres"]
    chunks, postings = large["chunks"], large["postings_per_query"]
    per_posting = (b - a) / max(postings - small["postings_per_query"], 1.0)  # ms
    projected = {}
    for n in (1_000_000, *PROJECTED_CHUNKS):
        read = postings * n / chunks  # postings per query grow with chunks
        projected[f"{n // 1_000_000}M"] = {
            "postings_per_query": round(read),
            "postgres_cpu_ms_line": round(b + per_posting * (read - postings))
            if per_posting > 0
            else None,
            "postgres_cpu_ms_proportional": round(b * read / postings),
        }
    return {
        "chunks": [small["chunks"], chunks],
        "postings_per_query": [small["postings_per_query"], postings],
        "postgres_cpu_ms": [a, b],
        "postgres_cpu_us_per_posting_line": round(per_posting * 1000, 3),
        "projected": projected,
    }


def lexical_text(query: str) -> str:
    """The words of a query the backend looks up (without function words, where this version
    of the backend drops them)."""
    words = getattr(postgres_backend, "query_words", None)
    return " ".join(words(query)) if words is not None else query


def postings_per_query(url: str, queries: Sequence[str]) -> float:
    """Postings BM25 reads for a query, on average: those of each of its distinct terms."""
    with psycopg.connect(url, autocommit=True) as connection:
        own = connection.execute(  # the schema's own configuration, where it has one
            "SELECT cfgname FROM pg_ts_config WHERE cfgname = 'semsearch_english'"
        ).fetchone()
        row = connection.execute(
            "SELECT avg(n) FROM (SELECT (SELECT coalesce(sum(c.n), 0) FROM"
            " (SELECT DISTINCT lexeme FROM unnest(to_tsvector(%s::regconfig, q))) t"
            " JOIN (SELECT term, count(*) AS n FROM chunk_terms GROUP BY term) c"
            " ON c.term = t.lexeme) AS n FROM unnest(%s::text[]) AS q) per_query",
            [own[0] if own else "english", [lexical_text(q) for q in queries]],
        ).fetchone()
    assert row is not None
    return round(float(row[0]), 1)


def assumptions(
    args: argparse.Namespace, whole: dict[str, Any], anchor: dict[str, Any] | None
) -> list[str]:
    dense = whole["dense"]["cpu_ms_per_request"]["postgres"]
    lexical = whole["lexical"]["cpu_ms_per_request"]["postgres"]
    exact = getattr(postgres_backend, "EXACT_BELOW", None)
    at_1m = ef_search(1_000_000)
    grows = at_1m is not None and at_1m != ef_search(whole["chunks"])
    bare = (anchor or {}).get("dense_search_p50_ms_at_1m_ef_search_800")
    return [
        f"PostgreSQL's cost per hybrid search is its dense query ({dense} ms alone at "
        f"{whole['chunks']} chunks, ef_search {ef_search(whole['chunks'])}) and its lexical "
        f"one ({lexical} ms). A larger ef_search costs more and finds more (docs/scaling.md)"
        + (
            f"; the backend raises it with the collection's size, to {at_1m} at 1M chunks"
            + (
                f", where the bare dense query took {bare} ms p50 at 800 "
                "(bench/scale_postgres.json)"
                if bare
                else ""
            )
            if grows
            else ""
        )
        + "."
        + (
            f" Collections of at most {exact} chunks are searched exactly (a scan of their "
            "chunks), not through HNSW."
            if exact
            else ""
        ),
        "CPU is the only limit: the database and its indexes are in memory (shared_buffers "
        f"{SHARED_BUFFERS} holds this store; at 10M+ chunks see cache_for_no_disk_reads_gib), "
        "no disk reads, no network between replicas and PostgreSQL (loopback here).",
        "CPU per request is the same on every core count (it scales linearly with cores); "
        "the model takes the largest per-phase cost measured, contention on this 2-core "
        "machine included.",
        f"Each replica has R = {args.replica_cores} cores it can keep busy. One `semsearch serve` "
        "is one Python process: the model's ONNX calls run outside the GIL, the rest of a "
        "search holds it, and SEMSEARCH_MAX_CONCURRENCY (4) reads run at once; run a replica "
        "per 1-2 cores rather than one large one.",
        "The workload is hybrid search only (k=10, SciFact claims as queries, ef_search "
        f"{ef_search(whole['chunks'])}); writes are not in the model (their PostgreSQL cost "
        "per document is under ingest).",
        "The per-request costs are at this corpus size: the HNSW search grows about with "
        "log(chunks), BM25 reads every posting of each query term and grows about linearly "
        "with the corpus (lexical_growth: a line through two sizes, a rough guide), so at "
        "10M+ chunks PostgreSQL's cost per hybrid search is far above this run's.",
        "Sizes per chunk are SciFact's (abstracts of about 220 words, 3.5 chunks each, "
        "384-dimensional float32 vectors) and grow linearly; the projection keeps them.",
        "HNSW build time grows as n log n from the measured build (at this size the graph "
        "fits in CPU caches, so the projection from it is optimistic; the 1M-vector anchor "
        "is on another CPU); wall time on C cores assumes the parallel build scales "
        "(pgvector#500: no gain past about 10 workers on 0.6.1) and that maintenance_work_mem "
        "holds the whole graph.",
    ]


NOTES = [
    "pgvector#300: a 10M-vector (768-d) HNSW build with maintenance_work_mem 1GB on 4 CPUs / "
    "16 GB ran over 24 hours at about 10% CPU; the maintainer advised raising "
    "maintenance_work_mem for the session (a NOTICE says when the graph no longer fits and the "
    "build becomes slow), or creating the index on an empty table and inserting in parallel; "
    "for queries, memory for the whole index.",
    "pgvector#969 (pgvector 0.8.2, m 16, ef_construction 64, 16 workers): for full-precision "
    "vector indexes too large to fit, raising maintenance_work_mem from 1 GB to 30 GB did not "
    "significantly cut build time; halfvec and bit indexes did get faster. A partial fit "
    "buys little: size maintenance_work_mem for the whole graph, or build smaller graphs "
    "(halfvec halves it; one index per collection or partition).",
    "pgvector#745 / #844: graph memory during the build is about vectors * (8 + 4 * dims) * "
    "1.3 bytes; the final index size is pg_relation_size of the index.",
]


def code_version() -> dict[str, Any]:
    """The commit measured, and the files of the engine and service changed beside it."""

    def git(*command: str) -> str:
        done = subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.rstrip("\n")  # porcelain lines start with a space

    changed = git("status", "--porcelain", "--", "index", "service").splitlines()
    return {"commit": git("rev-parse", "HEAD"), "uncommitted": [c[3:] for c in changed]}


# --- output ----------------------------------------------------------------------------------


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['machine']['cpu']}, {report['machine']['cpus']} CPUs; {report['corpus']}; "
        f"PostgreSQL {report['postgres']['server_version']}, pgvector "
        f"{report['postgres']['pgvector']}, shared_buffers {report['postgres']['shared_buffers']}",
        "",
        "hybrid search over 2 replicas, CPU ms per request (idle subtracted):",
        f"{'clients':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'replicas':>8} {'postgres':>8} {'loadgen':>8} {'xact/req':>8} {'busy':>5}",
    ]
    for p in report["phases"]:
        cost = p["cpu_ms_per_request"]
        lines.append(
            f"{p['clients']:>7} {p['requests_per_s']:>7} {p['p50_ms']:>7} {p['p99_ms']:>7} "
            f"{p['errors']:>6} {cost['replicas']:>8} {cost['postgres']:>8} "
            f"{cost['load_generator']:>8} {p['transactions_per_request']:>8} "
            f"{p['machine_busy_cores']:>5}"
        )
    lines += ["", f"PostgreSQL CPU ms per search by mode ({SPLIT_CLIENTS} clients):"]
    for size in report["by_size"]:
        costs = ", ".join(
            f"{m} {size[m]['cpu_ms_per_request']['postgres']}"
            f" (replicas {size[m]['cpu_ms_per_request']['replicas']})"
            for m in MODES
        )
        lines.append(f"  {size['chunks']:>6} chunks (ef_search {size.get('ef_search')}): {costs}")
    m = report["model"]
    lines += [
        "",
        f"model: req/s = {m['formula']}, R = {m['replica_cores_R']}, replica "
        f"{m['replica_cpu_ms_per_request']} ms, postgres {m['postgres_cpu_ms_per_request']} ms"
        " (* = PostgreSQL-bound)",
        f"{'replicas':>8} " + " ".join(f"{f'C={c}':>8}" for c in MODEL_CORES),
    ]
    for row in m["table"]:
        cells = []
        for c in MODEL_CORES:
            mark = "*" if row[f"postgres_{c}_cores_bound"] == "postgres" else " "
            cells.append(f"{row[f'postgres_{c}_cores']:>7}{mark}")
        lines.append(f"{row['replicas']:>8} " + " ".join(cells))
    lines.append(
        "PostgreSQL saturates from N = "
        + ", ".join(
            f"{v} replicas at C={k.split('_')[0]}"
            for k, v in m["postgres_saturates_at_replicas"].items()
        )
    )
    s = report["sizes"]
    lines += [
        "",
        f"sizes at {s['chunks']} chunks ({s['documents']} documents), bytes per chunk: "
        + ", ".join(f"{k} {v}" for k, v in s["bytes_per_chunk"].items()),
        f"memory: PostgreSQL {report['memory']['postgres_after_load']}, replicas RSS "
        f"{report['memory']['replica_rss_mb']} MB",
    ]
    b = report["hnsw_build"]
    lines.append(
        f"HNSW REINDEX of {b['vectors']} vectors: {b['build_s']} s, {b['postgres_cpu_s']} CPU s "
        f"(maintenance_work_mem {b['maintenance_work_mem']}), {b['index_bytes_per_vector']} B "
        f"per vector, peak {b['server_peak']}, notices {b['notices'] or 'none'}"
    )
    for name, p in report["projection"].items():
        line = (
            f"{name} chunks (GB of 2^30 bytes): database {p['database_gib']}, HNSW "
            f"{p['hnsw_index_gib']}, build maintenance_work_mem "
            f"{p['hnsw_build_memory_gib']['maintenance_work_mem_at_least']}, "
            f"build (from this size) {p['hnsw_build_from_bench_size']['cpu_hours']} CPU h"
        )
        if "hnsw_build_from_1m_build" in p:
            anchor = p["hnsw_build_from_1m_build"]["wall_hours_like_anchor"]
            line += f", (from the 1M build) {anchor} h wall"
        lines.append(line)
    growth = report.get("lexical_growth")
    if growth:
        lines.append(
            f"PostgreSQL CPU per lexical search at {growth['chunks']} chunks: "
            f"{growth['postgres_cpu_ms']} ms for {growth['postings_per_query']} postings read "
            f"per query ({growth['postgres_cpu_us_per_posting_line']} us per extra posting); "
            "projected (line / proportional): "
            + ", ".join(
                f"{k} {v['postgres_cpu_ms_line']} / {v['postgres_cpu_ms_proportional']} ms"
                for k, v in growth["projected"].items()
            )
        )
    if "replica_kill" in report:
        k = report["replica_kill"]
        lines.append(
            f"replica kill: {k['requests']} requests, {k['failures']} failures, {k['retries']} "
            f"retries, {k['writes_acknowledged']} acknowledged writes, {k['lost_writes']} lost; "
            f"survivor failures {k['survivor_failures']}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SCIFACT)
    parser.add_argument("--docs", type=int, help="only the first N abstracts (default: all)")
    parser.add_argument("--clients", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--seconds", type=float, default=20.0, help="per hybrid phase")
    parser.add_argument("--split-seconds", type=float, default=8.0, help="per mode and size")
    parser.add_argument("--replica-cores", type=int, default=2, help="R in the model")
    parser.add_argument("--no-kill", dest="kill", action="store_false", help="skip the kill")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    started = time.perf_counter()
    report = run(args)
    report["wall_s"] = round(time.perf_counter() - started)
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
