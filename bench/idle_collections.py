"""What idle collections cost a live server (embedded store): open file descriptors and threads
of the server process (/proc/PID/fd, /proc/PID/task) before and after creating N collections,
after writing and searching in a few, and how long GET /v1/collections takes at N.

    .venv/bin/python bench/idle_collections.py [--collections N] [--used M] [--env KEY=VALUE ...]

The server starts on a fresh data directory without seeds; extra SEMSEARCH_* settings go in
--env (e.g. --env SEMSEARCH_MAX_OPEN_COLLECTIONS=8).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _resources(pid: int) -> dict[str, int]:
    return {
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": len(os.listdir(f"/proc/{pid}/task")),
    }


def _listing_seconds(http: httpx.Client) -> dict[str, float]:
    """The first page as a client asks for it, and every page walked (the whole listing)."""
    started = time.perf_counter()
    page = http.get("/v1/collections").raise_for_status().json()
    first = time.perf_counter() - started
    started = time.perf_counter()
    offset: int | None = 0
    listed = 0
    while offset is not None:
        page = http.get("/v1/collections", params={"offset": offset, "limit": 500}).json()
        listed += len(page["items"])
        offset = page.get("next_offset")  # absent before paging: one page held everything
    return {"first_page_s": round(first, 3), "all_pages_s": round(time.perf_counter() - started, 3)}


def measure(collections: int, used: int, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="semsearch-idle-") as scratch:
        port = _free_port()
        environment = {
            **os.environ,
            "SEMSEARCH_DATA_DIR": str(Path(scratch) / "data"),
            "SEMSEARCH_PORT": str(port),
            "SEMSEARCH_SEED_DIR": "",
            "SEMSEARCH_LOG_LEVEL": "warning",
            "SEMSEARCH_MAX_COLLECTIONS": str(collections + 10),
            **env,
        }
        with open(Path(scratch) / "server.log", "wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve"],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if http.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the server did not start")
                    time.sleep(0.2)
                figures: dict[str, Any] = {"settings": env, "collections": collections}
                figures["started"] = _resources(server.pid)
                started = time.perf_counter()
                for n in range(collections):
                    http.post("/v1/collections", json={"name": f"c{n:05d}"}).raise_for_status()
                figures["create_s"] = round(time.perf_counter() - started, 1)
                figures["created"] = _resources(server.pid)
                document = {"id": "a", "text": "The harbour flooded after three days of rain."}
                for n in range(used):
                    place = f"/v1/collections/c{n:05d}"
                    http.post(f"{place}/documents", json={"documents": [document]})
                    http.post(f"{place}/search", json={"query": "harbour"}).raise_for_status()
                figures["used"] = used
                figures["after_use"] = _resources(server.pid)
                figures["listing"] = _listing_seconds(http)
                for point in ("created", "after_use"):
                    for what in ("fds", "threads"):
                        grown = figures[point][what] - figures["started"][what]
                        figures[f"{what}_per_collection_{point}"] = round(grown / collections, 3)
                return figures
        finally:
            server.terminate()
            server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collections", type=int, default=200)
    parser.add_argument("--used", type=int, default=20, help="collections written and searched")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    print(json.dumps(measure(args.collections, args.used, env), indent=2))


if __name__ == "__main__":
    main()
