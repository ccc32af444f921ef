"""A `semsearch serve` process over the seed corpus on a free loopback port, for benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@contextmanager
def seeded_server() -> Iterator[str]:
    """Yield the base URL of a ready server on a throw-away data dir; stop it afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "SEMSEARCH_DATA_DIR": data_dir,
            "SEMSEARCH_PORT": str(port),
            "SEMSEARCH_SEED_DIR": str(SEEDS),
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
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)
