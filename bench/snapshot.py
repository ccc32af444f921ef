"""Snapshot and restore cost: time, peak extra memory and archive size per chunk.

Indexes the SciFact corpus (or reuses --data-dir; or, with --chunks N, builds a store of N
synthetic chunks through the embedded backend as bench/writes.py does), takes a snapshot of it
through the engine, restores it into a fresh data directory, and prints for each: seconds, the
process's peak resident memory above what it held before (sampled every 10 ms), and the
archive's bytes per chunk. Memory must not grow with the corpus: run it with --docs N for a
smaller corpus and compare (a restore's figure includes the restored vector index, which the
embedded store keeps in memory: about 1.5 KB per chunk). The CPU is printed with the figures.

    python bench/snapshot.py [--docs N | --chunks N] [--data-dir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from index.backends import backend_config
from index.engine import EngineConfig, SearchEngine
from index.models import DocumentInput

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "eval" / "scifact" / "corpus.jsonl"
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


@contextmanager
def _peak_extra() -> Iterator[dict[str, float]]:
    """Yields a dict that holds, once the block ends, the peak RSS above the start in MB."""
    before, peak, stop = _rss(), [0], threading.Event()

    def sample() -> None:
        while not stop.wait(0.01):
            peak[0] = max(peak[0], _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out: dict[str, float] = {}
    try:
        yield out
    finally:
        stop.set()
        sampler.join()
        out["peak_extra_mb"] = round(max(0, max(peak[0], _rss()) - before) / 2**20, 1)


def _timed(action: Callable[[], Any]) -> tuple[float, float]:
    with _peak_extra() as memory:
        started = time.perf_counter()
        action()
        seconds = time.perf_counter() - started
    return round(seconds, 2), memory["peak_extra_mb"]


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _build_synthetic(data_dir: Path, chunks: int) -> None:
    from scale import anchors_and_queries
    from writes import build_large

    if not (data_dir / "store.sqlite3").exists():
        build_large(data_dir, chunks, anchors_and_queries(0)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, help="only the first N abstracts (default: all)")
    parser.add_argument("--chunks", type=int, help="a synthetic store of N chunks instead")
    parser.add_argument("--data-dir", type=Path, help="index here and keep it (default: scratch)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="semsearch-bench-snapshot-") as scratch:
        root = Path(scratch)
        if args.chunks:
            _build_synthetic(args.data_dir or root / "data", args.chunks)
        engine = SearchEngine(EngineConfig(storage=backend_config(args.data_dir or root / "data")))
        try:
            if engine.stats().documents == 0:
                documents = []
                with SCIFACT.open(encoding="utf-8") as corpus:
                    for n, line in enumerate(corpus):
                        if args.docs is not None and n >= args.docs:
                            break
                        record = json.loads(line)
                        text = record["text"].strip()
                        if text:
                            documents.append(
                                DocumentInput(id=record["_id"], title=record["title"], text=text)
                            )
                for start in range(0, len(documents), 256):
                    engine.upsert(documents[start : start + 256])
            stats = engine.stats()
            archive = root / "snapshot.tar"
            snapshot_s, snapshot_mb = _timed(lambda: engine.snapshot(archive))
        finally:
            engine.close()
        restored = SearchEngine(
            EngineConfig(storage=backend_config(root / "restored")), engine.embedder
        )
        try:
            restore_s, restore_mb = _timed(lambda: restored.restore(archive))
            assert restored.stats().chunks == stats.chunks and restored.check().ok
        finally:
            restored.close()
        size = archive.stat().st_size
    figures = {
        "documents": stats.documents,
        "chunks": stats.chunks,
        "snapshot_seconds": snapshot_s,
        "snapshot_peak_extra_mb": snapshot_mb,
        "restore_seconds": restore_s,
        "restore_peak_extra_mb": restore_mb,
        "archive_bytes": size,
        "archive_bytes_per_chunk": round(size / max(1, stats.chunks)),
        "cpu": _cpu(),
        "cores": os.cpu_count(),
    }
    print(f"{stats.documents} documents, {stats.chunks} chunks")
    print(f"snapshot: {snapshot_s} s, peak extra memory {snapshot_mb} MB")
    print(f"restore (indexes rebuilt): {restore_s} s, peak extra memory {restore_mb} MB")
    print(f"archive: {size} bytes, {figures['archive_bytes_per_chunk']} bytes per chunk")
    print(f"CPU: {figures['cpu']}, {figures['cores']} cores")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
