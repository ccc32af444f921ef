"""A `semsearch serve` process on a free loopback port, for benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@dataclass(frozen=True)
class LiveServer:
    url: str
    pid: int


@contextmanager
def live_server(
    data_dir: Path | None = None, env: dict[str, str] | None = None, source: Path | None = None
) -> Iterator[LiveServer]:
    """A ready server on ``data_dir`` (default: a throw-away directory seeded with the seed
    corpus), with extra SEMSEARCH_* settings in ``env``, running the code of the checkout at
    ``source`` (default: this one); stopped afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as scratch:
        settings = {
            **os.environ,
            "SEMSEARCH_DATA_DIR": str(data_dir or scratch),
            "SEMSEARCH_PORT": str(port),
            "SEMSEARCH_SEED_DIR": "" if data_dir else str(SEEDS),
            "SEMSEARCH_LOG_LEVEL": "warning",
            **(env or {}),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve"], env=settings, cwd=source
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(1200):
                try:
                    if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield LiveServer(url, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")
