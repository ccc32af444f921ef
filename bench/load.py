"""Bounded HTTP load on loopback: latency percentiles and throughput at 1, 8 and 32 clients.

Usage: python bench/load.py [--seconds 10] [--clients 1 8 32] [--json]
Starts a `semsearch serve` over the seed corpus, then for search (hybrid, k=10), find
supporting passages (k=5) and the liveness probe (the floor: a request that does no work) runs
N keep-alive clients for a fixed time each, and prints
p50/p95/p99 latency (ms), requests/s and errors (transport errors and non-2xx answers).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import httpx
from live_server import live_server

QUERIES = [
    "suicide bombing outside the Islamabad district courts",
    "counter-terrorism cooperation between Pakistan and China",
    "security of Chinese workers on CPEC projects",
    "attacks claimed by militant groups in Balochistan",
]
CLAIM = "A suicide bombing near the Islamabad district courts killed 12 people."
# name: (method, path, the i-th request's JSON body); healthz is the floor: a request that
# does no work, through the same server and middleware.
ENDPOINTS: dict[str, tuple[str, str, Callable[[int], object] | None]] = {
    "search": ("POST", "/v1/search", lambda i: {"query": QUERIES[i % len(QUERIES)], "k": 10}),
    "support": ("POST", "/v1/passages/support", lambda i: {"claim": CLAIM, "k": 5}),
    "healthz": ("GET", "/healthz", None),
}


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50, p95 and p99 of latencies in ms (one sample stands for all three)."""
    cuts = statistics.quantiles(samples, n=100) if len(samples) > 1 else list(samples) * 99
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(cuts[94], 2),
        "p99_ms": round(cuts[98], 2),
    }


@dataclass
class Result:
    endpoint: str
    clients: int
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests_per_s: float


def run_load(url: str | Sequence[str], endpoint: str, clients: int, seconds: float) -> Result:
    """``clients`` keep-alive clients on one server, or on several (replicas) taken in turn:
    client n talks to the (n mod their number)-th."""
    urls = [url] if isinstance(url, str) else list(url)
    method, path, body = ENDPOINTS[endpoint]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        nonlocal errors
        own: list[float] = []
        failed = 0
        with httpx.Client(base_url=urls[number % len(urls)], timeout=60) as http:
            i = number
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    sent = None if body is None else body(i)
                    ok = http.request(method, path, json=sent).is_success
                except httpx.TransportError:
                    ok = False
                own.append((time.perf_counter() - started) * 1000)
                failed += not ok
                i += 1
        with lock:
            latencies.extend(own)
            errors += failed

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return Result(
        endpoint=endpoint,
        clients=clients,
        requests=len(latencies),
        errors=errors,
        **percentiles(latencies),
        requests_per_s=round(len(latencies) / elapsed, 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint and level")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--json", action="store_true", help="print JSON lines, not a table")
    args = parser.parse_args()
    with live_server() as server:
        url = server.url
        httpx.post(url + "/v1/search", json={"query": "warm up"}, timeout=60)
        if not args.json:
            print(
                f"{'endpoint':<8} {'clients':>7} {'requests':>8} {'errors':>6} "
                f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>7}"
            )
        for endpoint in ENDPOINTS:
            for clients in args.clients:
                result = run_load(url, endpoint, clients, args.seconds)
                if args.json:
                    print(json.dumps(asdict(result)))
                else:
                    print(
                        f"{result.endpoint:<8} {result.clients:>7} {result.requests:>8} "
                        f"{result.errors:>6} {result.p50_ms:>7} {result.p95_ms:>7} "
                        f"{result.p99_ms:>7} {result.requests_per_s:>7}"
                    )


if __name__ == "__main__":
    main()
