"""Write cost: what one write costs as the corpus grows, and bulk loads against the model alone.

Usage: python bench/writes.py [--corpus DIR] [--docs N] [--upserts N] [--before REV]
       [--large [--chunks N]] [--json FILE]

Everything runs through `semsearch` processes of this checkout and, with --before, of the
commit REV (a temporary git worktree of it) in the same run, on the same machine:

- One-document upsert over HTTP, embedding included: one client adds a new article (a seed
  article's text with a line of its own, so each is embedded) --upserts times; p50/p95 on the
  seed store and on SciFact (every abstract, about 18,000 chunks), and with --large on a store
  of --chunks (1M) chunks built for the purpose through the embedded backend (synthetic text;
  vectors shaped like text embeddings, as bench/scale.py makes them; nothing embedded).
- Bulk loads of SciFact through the paths users take: `semsearch ingest` of a JSONL file, an
  NDJSON ingest job (POST /v1/ingest-jobs, until it succeeds), and synchronous batches of 64
  over HTTP from one client and from two; each against the model alone on every chunk input of
  the same corpus in a tight loop on every core (the limit: ingest cannot embed faster).
- With --large (instead of the above): the same upserts on the 1M-chunk store, and the time
  from start to ready on it, cleanly and after SIGKILL of a server that had written the
  upserts (its vector index file then lags the store).

Prints a table and writes every figure as JSON (--json).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from live_server import SEEDS
from load import percentiles
from scale import anchors_and_queries, text_like
from speed import SCIFACT, _cpu_model

from index.backends import backend_config
from index.backends.embedded.config import STORE_FILE
from index.backends.embedded.database import SqliteDatabase
from index.backends.records import NewChunk, PreparedDocument
from index.embedding import Embedder
from index.evaluation import corpus_documents
from index.models import DEFAULT_COLLECTION

ROOT = Path(__file__).resolve().parent.parent
BATCH = 64  # documents per synchronous request, as `semsearch ingest` writes them
DIMENSION = 384
CHUNKS_PER_DOCUMENT = 10
WORDS_PER_CHUNK = 60
BUILD_DOCUMENTS = 2_000  # documents per write while building the large store (20,000 chunks)


@dataclass
class Code:
    """A checkout whose `semsearch` the figures are taken with."""

    name: str  # "after" (this checkout) or "before"
    source: Path


# -- servers and commands --------------------------------------------------------------------


def _env(data_dir: Path, port: int | None = None, seeds: bool = False) -> dict[str, str]:
    return {
        **os.environ,
        "SEMSEARCH_DATA_DIR": str(data_dir),
        "SEMSEARCH_SEED_DIR": str(SEEDS) if seeds else "",
        "SEMSEARCH_LOG_LEVEL": "warning",
        "SEMSEARCH_SNAPSHOT_DIR": str(data_dir.parent / f"{data_dir.name}-snapshots"),
        **({"SEMSEARCH_PORT": str(port)} if port else {}),
    }


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    ready_s: float


def start(code: Code, data_dir: Path, seeds: bool = False) -> Server:
    """A `semsearch serve` of ``code`` on ``data_dir``, once ready; with the seconds that took."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"],
        env=_env(data_dir, port, seeds),
        cwd=code.source,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the {code.name} server exited with {process.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return Server(process, url, round(time.perf_counter() - started, 2))


def stop(server: Server, kill: bool = False) -> None:
    server.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    server.process.wait(timeout=600)


@contextmanager
def serving(code: Code, data_dir: Path, seeds: bool = False) -> Iterator[Server]:
    server = start(code, data_dir, seeds)
    try:
        yield server
    finally:
        stop(server)


def cli_ingest(code: Code, data_dir: Path, jsonl: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "service.cli", "ingest", str(jsonl)],
        env=_env(data_dir),
        cwd=code.source,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return round(time.perf_counter() - started, 1)


# -- the figures -----------------------------------------------------------------------------


def article(document_id: str, number: int) -> dict[str, Any]:
    """A document to upsert: the first seed article with a line of its own (so it is embedded
    every time)."""
    seed = sorted(SEEDS.glob("*.txt"))[0].read_text().strip().split("\n", 1)
    text = f"{seed[-1]}\n\nUpdate {number}: the desk added this line at {time.time():.6f}."
    return {"id": document_id, "title": seed[0], "text": text}


def upserts(url: str, count: int) -> dict[str, dict[str, float]]:
    """One-document upserts over HTTP, one client, timed from request to answer: ``count``
    new documents, then ``count`` updates of one document (its old chunks removed)."""
    found: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=url, timeout=600) as http:
        for kind in ("new", "update"):
            samples = []
            for number in range(count + 3):
                document_id = f"bench-{kind}-{number if kind == 'new' else 0}"
                body = {"documents": [article(document_id, number)]}
                started = time.perf_counter()
                http.post("/v1/documents", json=body).raise_for_status()
                if number >= 3:  # the first three warm up
                    samples.append((time.perf_counter() - started) * 1000)
            found[kind] = percentiles(samples)
    return found


def http_batches(url: str, documents: list[dict[str, Any]], clients: int) -> float:
    """Synchronous batches of BATCH documents over HTTP, ``clients`` at once; seconds."""
    batches = [documents[i : i + BATCH] for i in range(0, len(documents), BATCH)]
    started = time.perf_counter()

    def send(part: Sequence[list[dict[str, Any]]]) -> None:
        with httpx.Client(base_url=url, timeout=600) as http:
            for batch in part:
                http.post("/v1/documents", json={"documents": batch}).raise_for_status()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, [batches[n::clients] for n in range(clients)]))
    return round(time.perf_counter() - started, 1)


def ingest_job(url: str, jsonl: Path) -> float:
    """An NDJSON ingest job from POST to succeeded; seconds."""
    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=600) as http:
        answer = http.post(
            "/v1/ingest-jobs",
            content=jsonl.read_bytes(),
            headers={"Content-Type": "application/x-ndjson"},
        )
        answer.raise_for_status()
        location = answer.headers["location"]
        while True:
            job = http.get(location).json()
            if job["status"] not in {"queued", "running"}:
                break
            time.sleep(0.2)
    if job["status"] != "succeeded" or job["failed"]:
        raise RuntimeError(f"the ingest job ended {job['status']}: {job}")
    return round(time.perf_counter() - started, 1)


def model_alone(data_dir: Path) -> dict[str, Any]:
    """The model alone on every chunk input of the store (title heading the chunk text, as
    ingest makes them), in one call: every core, no chunking, no store."""
    store = SqliteDatabase(data_dir / STORE_FILE, DIMENSION)
    texts = [f"{t}\n{x}" if t else x for rows in store.iter_lexical_rows() for _, t, x in rows]
    store.close()
    embedder = Embedder()
    embedder.embed(texts[:8])
    started = time.perf_counter()
    embedder.embed(texts)
    seconds = time.perf_counter() - started
    return {"chunks": len(texts), "seconds": round(seconds, 1)}


# -- a large store, built through the backend ----------------------------------------------------


def build_large(data_dir: Path, chunks: int, shapes: np.ndarray) -> dict[str, Any]:
    """``chunks`` chunks written through the embedded backend in writes of BUILD_DOCUMENTS
    documents (CHUNKS_PER_DOCUMENT each): synthetic words, vectors shaped like ``shapes``."""
    rng = np.random.default_rng(7)
    vocabulary = [f"w{n:05d}" for n in range(20_000)]
    backend = backend_config(data_dir).open(DIMENSION)
    started = time.perf_counter()
    written = 0
    try:
        while written < chunks:
            count = min(BUILD_DOCUMENTS * CHUNKS_PER_DOCUMENT, chunks - written)
            vectors = text_like(shapes, count, rng)
            words = rng.integers(0, len(vocabulary), (count, WORDS_PER_CHUNK))
            documents = []
            for first in range(0, count, CHUNKS_PER_DOCUMENT):
                rows = range(first, min(first + CHUNKS_PER_DOCUMENT, count))
                documents.append(_synthetic(written + first, rows, words, vocabulary, vectors))
            with backend.collection(DEFAULT_COLLECTION) as collection:
                collection.write(documents, ())
            written += count
            print(f"  built {written:,} chunks, {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        backend.close()
    return {"chunks": written, "build_s": round(time.perf_counter() - started, 1)}


def _synthetic(
    number: int, rows: range, words: np.ndarray, vocabulary: list[str], vectors: np.ndarray
) -> PreparedDocument:
    texts = [" ".join(vocabulary[w] for w in words[row]) + "." for row in rows]
    text = " ".join(texts)
    chunks, start = [], 0
    for index, chunk in enumerate(texts):
        end = start + len(chunk)
        chunks.append(NewChunk(index, start, end, WORDS_PER_CHUNK, ((start, end),)))
        start = end + 1
    own = vectors[rows.start : rows.stop]
    return PreparedDocument(
        id=f"synthetic-{number}",
        title=None,
        source="bench",
        url=None,
        published_at=None,
        metadata={},
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        chunks=chunks,
        vectors=own,
        sentence_vectors=[v.reshape(1, -1) for v in own],
    )


# -- the run ---------------------------------------------------------------------------------


@contextmanager
def checkout(rev: str | None) -> Iterator[list[Code]]:
    """This checkout, and REV's in a temporary worktree (removed afterwards)."""
    codes = [Code("after", ROOT)]
    if rev is None:
        yield codes
        return
    with tempfile.TemporaryDirectory(prefix="semsearch-before-") as scratch:
        where = Path(scratch) / "checkout"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev],
            check=True,
            capture_output=True,
        )
        try:
            yield [Code("before", where), *codes]
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)],
                check=False,
                capture_output=True,
            )


def corpus_file(corpus: Path, docs: int | None, where: Path) -> list[dict[str, Any]]:
    documents = [
        {"id": d.id, "title": d.title, "text": d.text}
        for d in list(corpus_documents(corpus / "corpus.jsonl"))[:docs]
    ]
    where.write_text("".join(json.dumps(d) + "\n" for d in documents))
    return documents


def run(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "machine": f"{os.cpu_count()} CPUs, {platform.system().lower()}",
        "cpu": _cpu_model(),
        "upserts": args.upserts,
    }
    with checkout(args.before) as codes:
        report["codes"] = [c.name for c in codes]
        if args.large:
            report["large"] = large_figures(args, codes, scratch)
        else:
            report.update(bulk_figures(args, codes, scratch))
    return report


def bulk_figures(args: argparse.Namespace, codes: list[Code], scratch: Path) -> dict[str, Any]:
    jsonl = scratch / "corpus.jsonl"
    documents = corpus_file(args.corpus, args.docs, jsonl)
    report: dict[str, Any] = {"corpus": f"{args.corpus.name}: {len(documents)} documents"}
    for code in codes:
        figures: dict[str, Any] = report.setdefault(code.name, {})
        store = scratch / f"{code.name}-scifact"
        print(f"{code.name}: semsearch ingest", flush=True)
        figures["cli_ingest_s"] = cli_ingest(code, store, jsonl)
        if code.name == "after" and not args.upserts_only:
            print("the model alone on every chunk input", flush=True)
            report["model_alone"] = model_alone(store)  # the corpus's chunks, nothing else
        if not args.upserts_only:
            with serving(code, scratch / f"{code.name}-job") as server:
                print(f"{code.name}: NDJSON ingest job", flush=True)
                figures["job_ingest_s"] = ingest_job(server.url, jsonl)
        for clients in () if args.upserts_only else (1, 2):
            with serving(code, scratch / f"{code.name}-http-{clients}") as server:
                print(f"{code.name}: HTTP batches, {clients} client(s)", flush=True)
                figures[f"http_ingest_{clients}_client_s"] = http_batches(
                    server.url, documents, clients
                )
        with serving(code, scratch / f"{code.name}-seeds", seeds=True) as server:
            print(f"{code.name}: one-document upserts on the seed store", flush=True)
            figures["upsert_seeds"] = upserts(server.url, args.upserts)
        with serving(code, store) as server:
            print(f"{code.name}: one-document upserts on SciFact", flush=True)
            figures["upsert_scifact"] = upserts(server.url, args.upserts)
    for code in codes:
        figures = report[code.name]
        figures["ratios"] = {
            "upsert_scifact_to_seeds": round(
                figures["upsert_scifact"]["new"]["p50_ms"]
                / figures["upsert_seeds"]["new"]["p50_ms"],
                2,
            )
        }
    if args.upserts_only:
        return report
    limit = report["model_alone"]
    for code in codes:
        figures = report[code.name]
        figures["ratios"] |= {
            "cli_ingest_to_model": round(figures["cli_ingest_s"] / limit["seconds"], 2),
            "job_ingest_to_model": round(figures["job_ingest_s"] / limit["seconds"], 2),
            "http_ingest_1_client_to_model": round(
                figures["http_ingest_1_client_s"] / limit["seconds"], 2
            ),
            "http_ingest_2_clients_to_model": round(
                figures["http_ingest_2_client_s"] / limit["seconds"], 2
            ),
        }
    return report


def large_figures(args: argparse.Namespace, codes: list[Code], scratch: Path) -> dict[str, Any]:
    store = scratch / "large"
    shapes, _ = anchors_and_queries(0)  # SciFact abstracts embedded: what vectors look like
    print(f"building a store of {args.chunks:,} chunks through the backend", flush=True)
    figures: dict[str, Any] = build_large(store, args.chunks, shapes)
    for code in codes:
        own = scratch / f"large-{code.name}"
        shutil.copytree(store, own)
        os.sync()  # no writeback of the copy (or of the code before's saves) in the timings
        server = start(code, own)
        print(f"{code.name}: one-document upserts on {args.chunks:,} chunks", flush=True)
        result: dict[str, Any] = {"ready_s": server.ready_s}
        result["upsert"] = upserts(server.url, args.upserts if code.name == "after" else 5)
        stop(server, kill=True)
        os.sync()
        restarted = start(code, own)
        result["ready_after_sigkill_s"] = restarted.ready_s
        stop(restarted)
        figures[code.name] = result
        shutil.rmtree(own)
    return figures


def table(report: dict[str, Any]) -> str:
    codes = report["codes"]

    def row(label: str, get: Any, where: dict[str, Any] = report) -> str:
        return f"{label:44}" + "".join(f"{get(where[c])!s:>12}" for c in codes)

    lines = [
        f"{report['cpu']}, {report['machine']}",
        f"{'':44}" + "".join(f"{c:>12}" for c in codes),
    ]
    if "corpus" in report:
        lines[0] = f"{report['corpus']}; {lines[0]}"
        for store, name in (("seeds", "seed store"), ("scifact", "SciFact")):
            lines.append(
                row(
                    f"new document p50, {name} (ms)",
                    lambda f, s=store: f[f"upsert_{s}"]["new"]["p50_ms"],
                )
            )
            lines.append(
                row(
                    f"document update p50, {name} (ms)",
                    lambda f, s=store: f[f"upsert_{s}"]["update"]["p50_ms"],
                )
            )
        lines.append(
            row(
                "  new document, SciFact / seed store",
                lambda f: f["ratios"]["upsert_scifact_to_seeds"],
            )
        )
    if "model_alone" in report:
        for label, key in (
            ("semsearch ingest", "cli"),
            ("NDJSON ingest job", "job"),
            ("HTTP batches of 64, 1 client", "http_ingest_1_client"),
            ("HTTP batches of 64, 2 clients", "http_ingest_2_client"),
        ):
            seconds = f"{key}_ingest_s" if key in {"cli", "job"} else f"{key}_s"
            lines.append(row(f"{label} (s)", lambda f, k=seconds: f[k]))
        for label, key in (
            ("semsearch ingest", "cli_ingest_to_model"),
            ("NDJSON ingest job", "job_ingest_to_model"),
            ("HTTP batches of 64, 1 client", "http_ingest_1_client_to_model"),
            ("HTTP batches of 64, 2 clients", "http_ingest_2_clients_to_model"),
        ):
            lines.append(row(f"  {label} / model alone", lambda f, k=key: f["ratios"][k]))
        limit = report["model_alone"]
        lines.append(f"model alone: {limit['chunks']} chunks in {limit['seconds']} s (every core)")
    large = report.get("large")
    if large:
        lines.append(
            f"{large['chunks']:,} chunks (built through the backend in {large['build_s']} s):"
        )
        for label, get in [
            ("  ready after a clean stop (s)", lambda f: f["ready_s"]),
            ("  new document p50 (ms)", lambda f: f["upsert"]["new"]["p50_ms"]),
            ("  new document p95 (ms)", lambda f: f["upsert"]["new"]["p95_ms"]),
            ("  document update p50 (ms)", lambda f: f["upsert"]["update"]["p50_ms"]),
            ("  ready after SIGKILL (s)", lambda f: f["ready_after_sigkill_s"]),
        ]:
            lines.append(row(label, get, large))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SCIFACT)
    parser.add_argument("--docs", type=int, help="only the first N abstracts (default: all)")
    parser.add_argument("--upserts", type=int, default=30, help="one-document upserts timed")
    parser.add_argument("--before", metavar="REV", help="also measure this commit's code")
    parser.add_argument(
        "--upserts-only", action="store_true", help="skip the bulk loads but the CLI's"
    )
    parser.add_argument(
        "--large", action="store_true", help="only the figures on a store of --chunks chunks"
    )
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="semsearch-writes-") as scratch:
        report = run(args, Path(scratch))
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
