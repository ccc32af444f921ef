"""Hostile requests against a live server: what one request costs the service.

Usage: python bench/hostile.py [--source CHECKOUT] [--json FILE]
Runs a keyed `semsearch serve` from ``--source`` (default: this checkout; point it at a
worktree of an older commit to measure "before") and prints, per finding of issue 13, what it
did: seconds, stalls, memory, status codes, series. Each line reads the same on any version.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from live_server import LiveServer, live_server, rss_mb

KEY = "bench-hostile-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    content = json.dumps(body, ensure_ascii=True, allow_nan=True).encode()
    headers = {"content-type": "application/json", **AUTH, **(headers or {})}
    return httpx.post(url, content=content, headers=headers, timeout=600)


def _stall_during(server: LiveServer, work: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``work``; meanwhile poll /healthz. Returns its result, its seconds and the longest
    /healthz answer seen while it ran."""
    done = threading.Event()
    worst = 0.0

    def poll() -> None:
        nonlocal worst
        while not done.is_set():
            started = time.monotonic()
            httpx.get(server.url + "/healthz", timeout=600)
            worst = max(worst, time.monotonic() - started)
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    started = time.monotonic()
    poller.start()
    try:
        result = work()
    finally:
        seconds = time.monotonic() - started
        done.set()
        poller.join()
    return result, round(seconds, 2), round(worst, 3)


def pathological_texts(server: LiveServer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, text in [
        ("dots_40k", "." * 40_000),
        ("initials_100k", "A. " * 100_000),
        ("newlines_1m", "x" + "\n" * 999_999),
    ]:
        document = {"documents": [{"id": f"bench-{name.replace('_', '-')}", "text": text}]}
        response, seconds, stall = _stall_during(
            server, lambda document=document: _post(server.url + "/v1/documents", document)
        )
        out[name] = {"status": response.status_code, "seconds": seconds, "healthz_max_s": stall}
    return out


def anonymous_bodies(server: LiveServer, clients: int = 20) -> dict[str, Any]:
    """20 clients at once, each a 16 MiB JSON array of empty objects without a key."""
    body = b"[" + b"{}," * (16 * 1024 * 1024 // 3 - 2) + b"{}]"
    before = rss_mb(server.pid)
    statuses: list[int] = []
    peak = before

    def send() -> None:
        response = httpx.post(
            server.url + "/v1/documents",
            content=body,
            headers={"content-type": "application/json"},
            timeout=600,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_mb(server.pid))
        time.sleep(0.02)
    return {
        "clients": clients,
        "statuses": sorted(set(statuses)),
        "seconds": round(time.monotonic() - started, 2),
        "rss_before_mb": before,
        "rss_peak_mb": peak,
    }


def held_connections(server: LiveServer, wait: float = 35.0) -> dict[str, Any]:
    """An idle connection, one with half its headers, one with half its body: open after?"""
    port = int(server.url.rsplit(":", 1)[1])
    sends = {
        "idle": b"",
        "partial_headers": b"POST /v1/search HTTP/1.1\r\nHost: x\r\n",
        "partial_body": b"POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + KEY.encode()
        + b"\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    }
    sockets = {}
    for name, data in sends.items():
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(data)
        sockets[name] = sock
    time.sleep(wait)
    out: dict[str, Any] = {"after_s": wait}
    for name, sock in sockets.items():
        sock.setblocking(False)
        try:
            data = sock.recv(65536)
            out[name] = f"closed ({data[:12].decode(errors='replace') or 'no answer'})"
        except BlockingIOError:
            out[name] = "still open"
        sock.close()
    return out


def connection_flood(server: LiveServer, count: int = 400) -> dict[str, Any]:
    """``count`` idle connections at once: how many the server accepts and keeps."""
    port = int(server.url.rsplit(":", 1)[1])
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    time.sleep(1)
    refused = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            if sock.recv(64).startswith(b"HTTP/1.1 503"):
                refused += 1
        except BlockingIOError:
            pass
        sock.close()
    return {"opened": count, "answered_503": refused}


def poisoned_metadata(server: LiveServer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in [("nan", math.nan), ("lone_surrogate", "v\ud800"), ("int_65_bit", 2**64)]:
        document = {
            "documents": [{"id": f"poison-{name}", "text": "A text.", "metadata": {"v": value}}]
        }
        upsert = _post(server.url + "/v1/documents", document)
        search = _post(
            server.url + "/v1/search", {"query": "text", "filters": {"metadata": {"k": 1}}}
        )
        read = httpx.get(f"{server.url}/v1/documents/poison-{name}", headers=AUTH, timeout=60)
        out[name] = {
            "upsert": upsert.status_code,
            "filtered_search_after": search.status_code,
            "get_after": read.status_code,
        }
        httpx.delete(f"{server.url}/v1/documents/poison-{name}", headers=AUTH, timeout=60)
    wide = {f"k{n}": n for n in range(300)}
    out["filter_300_keys"] = _post(
        server.url + "/v1/search", {"query": "x", "filters": {"metadata": wide}}
    ).status_code
    out["published_at_0"] = _post(
        server.url + "/v1/documents",
        {"documents": [{"id": "date-0", "text": "A text.", "published_at": "0"}]},
    ).status_code
    return out


def normalisation_bomb(server: LiveServer) -> dict[str, Any]:
    """60,000 U+FDFA (one character, eighteen once NFKC): 1.08 M characters once normalised,
    past the default 1,000,000-character limit."""
    document = {"documents": [{"id": "nfkc-bomb", "text": "\ufdfa" * 60_000}]}
    response, seconds, stall = _stall_during(
        server, lambda: _post(server.url + "/v1/documents", document)
    )
    stored = httpx.get(server.url + "/v1/documents/nfkc-bomb", headers=AUTH, timeout=60)
    chars = stored.json()["char_count"] if stored.status_code == 200 else 0
    return {
        "status": response.status_code,
        "seconds": seconds,
        "healthz_max_s": stall,
        "stored_chars": chars,
    }


def writers_and_readers(server: LiveServer) -> dict[str, Any]:
    """One long upsert and three tiny ones in flight: how long a search and /readyz wait."""
    long_batch = {
        "documents": [
            {"id": f"long-{n}", "text": f"Report {n} on river levels and rainfall. " * 60}
            for n in range(200)
        ]
    }
    small = [{"documents": [{"id": f"small-{n}", "text": "A note."}]} for n in range(3)]
    threads = [
        threading.Thread(target=_post, args=(server.url + "/v1/documents", batch))
        for batch in [long_batch, *small]
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.1)
    time.sleep(0.5)
    started = time.monotonic()
    search = _post(server.url + "/v1/search", {"query": "rainfall"})
    search_s = time.monotonic() - started
    started = time.monotonic()
    ready = httpx.get(server.url + "/readyz", timeout=600)
    ready_s = time.monotonic() - started
    for thread in threads:
        thread.join()
    return {
        "search": search.status_code,
        "search_s": round(search_s, 3),
        "readyz": ready.status_code,
        "readyz_s": round(ready_s, 3),
    }


def invented_methods(server: LiveServer, count: int = 1500) -> dict[str, Any]:
    def metrics() -> tuple[int, int]:
        text = httpx.get(server.url + "/metrics", timeout=60).text
        return len(text), sum(1 for line in text.splitlines() if not line.startswith("#"))

    before = metrics()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for n in range(count):
            http.request(f"M{n:06d}", "/nope")
    after = metrics()
    return {
        "requests": count,
        "bytes_before": before[0],
        "bytes_after": after[0],
        "series_before": before[1],
        "series_after": after[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="checkout whose server to run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    env = {"SEMSEARCH_API_KEYS": f"{KEY}:write"}
    report: dict[str, Any] = {}
    with live_server(env=env, source=args.source) as server:
        for name, measure in [
            ("pathological_texts", pathological_texts),
            ("normalisation_bomb", normalisation_bomb),
            ("poisoned_metadata", poisoned_metadata),
            ("writers_and_readers", writers_and_readers),
            ("invented_methods", invented_methods),
            ("anonymous_16mib_bodies", anonymous_bodies),
            ("held_connections", held_connections),
            ("connection_flood", connection_flood),
        ]:
            report[name] = measure(server)
            print(f"{name}: {json.dumps(report[name])}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
