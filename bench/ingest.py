"""Bulk ingest on SciFact: in process on the local cores against a Ray cluster of one and of two
1-CPU nodes (Ray Data actors, chunks and vectors written here), and over HTTP as one ingest job
against synchronous batches, each on a fresh store, with ratios against the local run.

    .venv/bin/python bench/ingest.py [--docs N] [--json bench/ingest.json]

On one machine the Ray nodes share its cores with the writing process, so the figures measure
Ray's overhead and the pipeline, not a cluster's speed-up (that needs nodes with cores of their
own); the vectors are the same in every mode (tests/test_ray.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
from live_server import live_server
from speed import SCIFACT, _cpu_model, _memory_gb

from index.backends import backend_config
from index.bulk import Item, ingest
from index.distributed import RayPreparation
from index.engine import EngineConfig, SearchEngine
from index.evaluation import corpus_documents
from index.models import DocumentInput

BATCH = 64  # documents per transaction, as `semsearch ingest` and ingest jobs write them
NODE_IP = "127.0.0.2"  # Ray rewrites 127.0.0.1 to the routed interface; this one it keeps


def _record(document: DocumentInput) -> dict[str, Any]:
    return {"id": document.id, "title": document.title, "text": document.text}


def in_process(
    documents: Sequence[DocumentInput], scratch: Path, ray_address: str | None = None
) -> dict[str, Any]:
    """Ingest into a fresh store as `semsearch ingest` does (with ``ray_address``, chunking and
    embedding there); seconds from connecting to the last commit, and documents per second."""
    engine = SearchEngine(EngineConfig(storage=backend_config(scratch / "data")))
    items = [Item(n, document) for n, document in enumerate(documents)]
    started = time.perf_counter()
    preparation = RayPreparation(ray_address, engine.config) if ray_address else None
    with closing(engine):
        written = sum(
            len(report.written)
            for report in ingest(engine, items, batch_size=BATCH, preparation=preparation)
        )
        seconds = time.perf_counter() - started
        chunks = engine.stats().chunks
    if preparation is not None:
        preparation.close()
    return {
        "seconds": round(seconds, 1),
        "documents": written,
        "chunks": chunks,
        "documents_per_s": round(written / seconds, 1),
    }


@contextmanager
def ray_cluster(nodes: int) -> Iterator[str]:
    """``nodes`` Ray nodes of one CPU each on loopback; their address."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    os.environ["RAY_TMPDIR"] = temp
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "node_ip_address": NODE_IP, "include_dashboard": False},
    )
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=1, node_ip_address=NODE_IP)
        cluster.wait_for_nodes()
        yield str(cluster.address)
    finally:
        cluster.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def on_ray(documents: Sequence[DocumentInput], scratch: Path, nodes: int) -> dict[str, Any]:
    with ray_cluster(nodes) as address:
        return in_process(documents, scratch, address) | {"nodes": nodes}


def over_http_job(documents: Sequence[DocumentInput], scratch: Path) -> dict[str, Any]:
    body = "".join(json.dumps(_record(d)) + "\n" for d in documents).encode()
    with live_server(scratch / "data") as server, httpx.Client(timeout=600) as http:
        started = time.perf_counter()
        response = http.post(
            f"{server.url}/v1/ingest-jobs",
            content=body,
            headers={"content-type": "application/x-ndjson"},
        )
        accepted = time.perf_counter() - started
        location = server.url + response.headers["location"]
        while (job := http.get(location).json())["status"] in ("queued", "running"):
            time.sleep(0.5)
        seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 1),
        "accepted_s": round(accepted, 2),
        "body_mb": round(len(body) / 2**20, 1),
        "status": job["status"],
        "documents": job["done"],
        "documents_per_s": round(job["done"] / seconds, 1),
    }


def over_http_batches(documents: Sequence[DocumentInput], scratch: Path) -> dict[str, Any]:
    with live_server(scratch / "data") as server, httpx.Client(timeout=600) as http:
        started = time.perf_counter()
        for start in range(0, len(documents), BATCH):
            batch = [_record(d) for d in documents[start : start + BATCH]]
            response = http.post(f"{server.url}/v1/documents", json={"documents": batch})
            response.raise_for_status()
        seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 1),
        "documents": len(documents),
        "documents_per_s": round(len(documents) / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SCIFACT)
    parser.add_argument("--docs", type=int, help="only the first N abstracts (default: all)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    documents = list(corpus_documents(args.corpus / "corpus.jsonl"))[: args.docs]
    report: dict[str, Any] = {
        "machine": f"{os.cpu_count()} CPUs, {_memory_gb()} GiB",
        "cpu": _cpu_model(),
        "corpus": f"{args.corpus.name}: {len(documents)} documents",
    }
    runs = {
        "local": lambda scratch: in_process(documents, scratch),
        "ray_1_node": lambda scratch: on_ray(documents, scratch, 1),
        "ray_2_nodes": lambda scratch: on_ray(documents, scratch, 2),
        "http_job": lambda scratch: over_http_job(documents, scratch),
        "http_batches": lambda scratch: over_http_batches(documents, scratch),
    }
    for name, run in runs.items():
        with tempfile.TemporaryDirectory() as scratch:
            report[name] = run(Path(scratch))
        print(name, report[name], flush=True)
    local = report["local"]["seconds"]
    report["time_against_local"] = {
        name: round(report[name]["seconds"] / local, 2) for name in runs if name != "local"
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
