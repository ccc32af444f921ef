"""Hostile requests against a live server: what one request costs the service.

Usage: python bench/hostile.py [--source CHECKOUT] [--json FILE]
Runs a keyed `semsearch serve` from ``--source`` (default: this checkout; point it at a
worktree of an older commit to measure "before") and prints, per finding of issues 13 and 29,
what it did: seconds, stalls, memory, status codes, series, rows kept. Each line reads the same
on any version; ``--only NAME`` runs some of them.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from live_server import SEEDS, LiveServer, live_server, rss_mb

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


def _job(server: LiveServer, body: bytes, kind: str) -> httpx.Response:
    headers = {"content-type": kind, **AUTH}
    return httpx.post(server.url + "/v1/ingest-jobs", content=body, headers=headers, timeout=900)


def _finished(server: LiveServer, location: str) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = httpx.get(server.url + location, headers=AUTH, timeout=60).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.5)


def _peak_rss_during(server: LiveServer, work: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``work`` while sampling the server's resident memory; its result and the peak."""
    done = threading.Event()
    peak = rss_mb(server.pid)

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(server.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        return work(), peak
    finally:
        done.set()
        sampler.join()


def job_bodies(server: LiveServer, json_mb: int = 200, line_mb: int = 100) -> dict[str, Any]:
    """Issue 29, 3: server memory around a 200 MB JSON job body (its last document invalid,
    so all of it is read and nothing is kept) and an NDJSON body with one 100 MB line."""
    document = json.dumps({"text": "word " * 200, "title": "A title"}).encode()
    count = json_mb * 1024 * 1024 // (len(document) + 1)
    body = b'{"documents": [' + b",".join([document] * count) + b', {"text": 5}]}'
    before = rss_mb(server.pid)
    response, peak = _peak_rss_during(server, lambda: _job(server, body, "application/json"))
    figures: dict[str, Any] = {
        "json_body_mb": json_mb,
        "json_status": response.status_code,
        "json_rss_before_mb": before,
        "json_rss_peak_mb": peak,
        "json_rss_after_mb": rss_mb(server.pid),
    }
    line = b'{"text": "' + b"a" * (line_mb * 1024 * 1024) + b'"}\n{"text": "A short line."}\n'
    before = rss_mb(server.pid)

    def line_job() -> dict[str, Any]:
        accepted = _job(server, line, "application/x-ndjson")
        return _finished(server, accepted.headers["location"])

    job, peak = _peak_rss_during(server, line_job)
    return figures | {
        "line_mb": line_mb,
        "line_job": {k: job[k] for k in ("status", "done", "failed")},
        "line_error": job["errors"][0]["message"] if job["errors"] else None,
        "line_rss_before_mb": before,
        "line_rss_peak_mb": peak,
        "line_rss_after_mb": rss_mb(server.pid),
    }


def job_store_growth(server: LiveServer, data_dir: Path, lines: int = 1_000_000) -> dict[str, Any]:
    """Issue 29, 2: a 3 MB body of a million `{}` lines (each refused): error rows kept and
    the size of jobs.sqlite3; then jobs posted back to back, accepted against refused."""
    store = data_dir / "jobs.sqlite3"

    def size_mb() -> float:
        parts = [store, store.with_name("jobs.sqlite3-wal")]
        return round(sum(p.stat().st_size for p in parts if p.exists()) / 1e6, 1)

    before = size_mb()
    started = time.monotonic()
    accepted = _job(server, b"{}\n" * lines, "application/x-ndjson")
    job = _finished(server, accepted.headers["location"])
    figures: dict[str, Any] = {
        "lines": lines,
        "seconds": round(time.monotonic() - started, 1),
        "failed": job["failed"],
        "errors_shown": len(job["errors"]),
        "jobs_sqlite_before_mb": before,
        "jobs_sqlite_after_mb": size_mb(),
    }
    with sqlite3.connect(store) as connection:
        figures["error_rows_stored"] = connection.execute(
            "SELECT count(*) FROM ingest_job_errors"
        ).fetchone()[0]
    body = b'{"text": "One document about harbours."}\n' * 20
    statuses = [_job(server, body, "application/x-ndjson").status_code for _ in range(300)]
    return figures | {"back_to_back": {str(s): statuses.count(s) for s in sorted(set(statuses))}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="checkout whose server to run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", action="append", help="run only this measure (repeatable)")
    args = parser.parse_args()
    env = {"SEMSEARCH_API_KEYS": f"{KEY}:write"}
    report: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory() as scratch,
        live_server(
            Path(scratch), env=env | {"SEMSEARCH_SEED_DIR": str(SEEDS)}, source=args.source
        ) as server,
    ):
        measures: list[tuple[str, Callable[[LiveServer], dict[str, Any]]]] = [
            ("pathological_texts", pathological_texts),
            ("normalisation_bomb", normalisation_bomb),
            ("poisoned_metadata", poisoned_metadata),
            ("writers_and_readers", writers_and_readers),
            ("invented_methods", invented_methods),
            ("anonymous_16mib_bodies", anonymous_bodies),
            ("held_connections", held_connections),
            ("connection_flood", connection_flood),
            ("job_bodies", job_bodies),
            ("job_store_growth", lambda server: job_store_growth(server, Path(scratch))),
        ]
        for name, measure in measures:
            if args.only and name not in args.only:
                continue
            report[name] = measure(server)
            print(f"{name}: {json.dumps(report[name])}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
