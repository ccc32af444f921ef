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
def live_server(data_dir: Path | None = None) -> Iterator[LiveServer]:
    """A ready server on ``data_dir`` (default: a throw-away directory seeded with the seed
    corpus); stopped afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "SEMSEARCH_DATA_DIR": str(data_dir or scratch),
            "SEMSEARCH_PORT": str(port),
            "SEMSEARCH_SEED_DIR": "" if data_dir else str(SEEDS),
            "SEMSEARCH_LOG_LEVEL": "warning",
        }
        server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], env=env)
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
