"""One of two replicas SIGKILLed under load, seen by clients that retry on the other replica.

Shared by tests/test_replica_kill.py (which asserts on the report) and bench/capacity.py (which
prints it). The replicas are any `semsearch serve` processes on one PostgreSQL; the caller
starts them and passes their URLs and a function that kills one of them.

Each client takes the replicas in turn (round-robin, as a load balancer would), and when an
attempt fails with a transport error (connection refused or reset) or a 5xx it tries the next
replica, going round them at most ``ROUNDS`` times before it gives up: only a request that
failed on every attempt is a failure the client sees. Its requests mix hybrid searches with
upserts of new documents (a unique id each); an upsert answered 2xx is acknowledged, and every
acknowledged document must read back, with its text, from the surviving replica afterwards.
Retrying an upsert is safe: it is idempotent by id (the same text answers `unchanged`).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

# Queries of the seed corpus (news about the Islamabad bombing): on another corpus they still
# make the replica embed, rank lexically and densely, fuse and hydrate.
SEED_QUERIES = [
    "suicide bombing outside the Islamabad district courts",
    "counter-terrorism cooperation between Pakistan and China",
    "security of Chinese workers on CPEC projects",
    "attacks claimed by militant groups in Balochistan",
]
WRITE_EVERY = 3  # each client's every third request is an upsert of a new document
ROUNDS = 3  # times a request goes round all replicas before the client gives up
BACKOFF_S = 0.05  # pause after a full round of failed attempts
TIMEOUT_S = 30.0
KILL_GRACE_S = 0.5  # after the kill, answers the victim had already sent may still arrive


@dataclass(frozen=True)
class Attempt:
    """One try of a request on one replica: when it ended (seconds since the scenario
    started) and whether it succeeded (2xx)."""

    replica: int
    ended_s: float
    ok: bool


@dataclass
class Ledger:
    """What every client saw, merged under a lock."""

    attempts: list[Attempt] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)  # document id -> text
    searches: int = 0
    writes: int = 0
    retries: int = 0
    failures: list[str] = field(default_factory=list)  # requests no replica answered 2xx
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class KillReport:
    """The outcome of one kill: what the clients saw, and what the survivor holds."""

    clients: int
    seconds: float
    killed_at_s: float
    requests: int  # as the clients see them: searches and writes, each however many attempts
    searches: int
    writes: int
    writes_acknowledged: int
    failures: int  # requests that failed on every replica (the clients saw an error)
    failure_examples: list[str]
    retries: int  # attempts that failed and were tried again on the next replica
    survivor_attempts: int
    survivor_failures: int  # attempts on the survivor that failed, at any time
    survivor_ok_after_kill: int
    victim_ok_after_kill: int  # 0 once it is dead (KILL_GRACE_S after the kill)
    victim_failed_after_kill: int  # > 0: the kill happened and the clients went round it
    lost_writes: list[str]  # acknowledged ids the survivor does not return with their text
    p50_ms: float
    p99_ms: float
    max_ms: float

    def summary(self) -> dict[str, Any]:
        """The figures for a report (the failure examples and lost ids only when present)."""
        figures = {k: v for k, v in self.__dict__.items() if not isinstance(v, list)}
        figures["lost_writes"] = len(self.lost_writes)
        if self.failure_examples:
            figures["failure_examples"] = self.failure_examples
        if self.lost_writes:
            figures["lost_write_ids"] = self.lost_writes[:20]
        return figures


class RetryingClient:
    """Round-robin over replicas with a keep-alive connection to each; a failed attempt moves
    on to the next replica."""

    def __init__(self, urls: Sequence[str], first: int, started: float, ledger: Ledger) -> None:
        self._http = [httpx.Client(base_url=url, timeout=TIMEOUT_S) for url in urls]
        self._next = first
        self._started = started
        self._ledger = ledger
        self.attempts: list[Attempt] = []
        self.retries = 0  # failed attempts followed by another

    def close(self) -> None:
        for http in self._http:
            http.close()

    def request(self, method: str, path: str, body: object) -> httpx.Response | str:
        """The first 2xx answer, or what the last attempt ended with (a 4xx is final: the
        request itself is wrong, another replica would refuse it too)."""
        outcome: httpx.Response | str = "no attempt"
        for attempt in range(ROUNDS * len(self._http)):
            replica = self._next
            self._next = (self._next + 1) % len(self._http)
            try:
                response = self._http[replica].request(method, path, json=body)
                outcome = response
                ok, retry = response.is_success, response.status_code >= 500
            except httpx.TransportError as error:
                outcome = f"{type(error).__name__}: {error}"
                ok, retry = False, True
            self.attempts.append(Attempt(replica, time.monotonic() - self._started, ok))
            if not retry:
                return outcome
            if attempt + 1 < ROUNDS * len(self._http):
                self.retries += 1
            if (attempt + 1) % len(self._http) == 0:
                time.sleep(BACKOFF_S)
        return outcome


def _client(
    number: int,
    urls: Sequence[str],
    queries: Sequence[str],
    ledger: Ledger,
    stop: threading.Event,
    started: float,
    prefix: str,
) -> None:
    client = RetryingClient(urls, number % len(urls), started, ledger)
    latencies: list[float] = []
    acknowledged: dict[str, str] = {}
    failures: list[str] = []
    searches = writes = 0
    i = 0
    try:
        while not stop.is_set():
            i += 1
            began = time.perf_counter()
            if i % WRITE_EVERY == 0:
                doc_id = f"{prefix}-{number}-{i}"
                text = (
                    f"Replica kill drill note {number} {i}. Client {number} wrote this "
                    f"document as its request {i}, while one replica was about to die."
                )
                body: object = {"documents": [{"id": doc_id, "title": doc_id, "text": text}]}
                outcome = client.request("POST", "/v1/documents", body)
                writes += 1
            else:
                doc_id, text = "", ""
                query = queries[(number + i) % len(queries)]
                body = {"query": query, "k": 10, "mode": "hybrid"}
                outcome = client.request("POST", "/v1/search", body)
                searches += 1
            latencies.append((time.perf_counter() - began) * 1000)
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                if doc_id:
                    acknowledged[doc_id] = text
            else:
                what = outcome if isinstance(outcome, str) else f"{outcome.status_code}"
                failures.append(f"{'upsert' if doc_id else 'search'}: {what}")
    finally:
        client.close()
        with ledger.lock:
            ledger.attempts.extend(client.attempts)
            ledger.latencies_ms.extend(latencies)
            ledger.acknowledged.update(acknowledged)
            ledger.failures.extend(failures)
            ledger.searches += searches
            ledger.writes += writes
            ledger.retries += client.retries


def lost_writes(survivor_url: str, acknowledged: dict[str, str]) -> list[str]:
    """The acknowledged documents the survivor does not return with the text written."""
    lost = []
    with httpx.Client(base_url=survivor_url, timeout=TIMEOUT_S) as http:
        for doc_id, text in sorted(acknowledged.items()):
            response = http.get(f"/v1/documents/{doc_id}")
            if response.status_code != 200 or response.json().get("text") != text:
                lost.append(doc_id)
    return lost


def run_kill_scenario(
    urls: Sequence[str],
    kill: Callable[[], None],
    victim: int,
    *,
    clients: int = 4,
    before_s: float = 4.0,
    after_s: float = 6.0,
    queries: Sequence[str] = SEED_QUERIES,
    prefix: str = "kill",
) -> KillReport:
    """``clients`` retrying clients over the replicas at ``urls`` for ``before_s`` seconds,
    then ``kill()`` (which must SIGKILL the replica at index ``victim``), then ``after_s``
    seconds more; then every acknowledged write is read back from a survivor."""
    ledger = Ledger()
    stop = threading.Event()
    started = time.monotonic()
    threads = [
        threading.Thread(
            target=_client, args=(n, urls, queries, ledger, stop, started, prefix), daemon=True
        )
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(before_s)
    kill()
    killed_at = time.monotonic() - started
    time.sleep(after_s)
    stop.set()
    for thread in threads:
        thread.join(timeout=TIMEOUT_S * ROUNDS * len(urls))
    seconds = time.monotonic() - started
    survivor = next(n for n in range(len(urls)) if n != victim)
    on_survivor = [a for a in ledger.attempts if a.replica != victim]
    # an answer the victim sent just before it died may be read a moment after
    late = killed_at + KILL_GRACE_S
    on_victim_after = [a for a in ledger.attempts if a.replica == victim and a.ended_s > late]
    latencies = sorted(ledger.latencies_ms) or [0.0]
    return KillReport(
        clients=clients,
        seconds=round(seconds, 1),
        killed_at_s=round(killed_at, 2),
        requests=ledger.searches + ledger.writes,
        searches=ledger.searches,
        writes=ledger.writes,
        writes_acknowledged=len(ledger.acknowledged),
        failures=len(ledger.failures),
        failure_examples=ledger.failures[:5],
        retries=ledger.retries,
        survivor_attempts=len(on_survivor),
        survivor_failures=sum(not a.ok for a in on_survivor),
        survivor_ok_after_kill=sum(a.ok and a.ended_s > killed_at for a in on_survivor),
        victim_ok_after_kill=sum(a.ok for a in on_victim_after),
        victim_failed_after_kill=sum(not a.ok for a in on_victim_after),
        lost_writes=lost_writes(urls[survivor], ledger.acknowledged),
        p50_ms=round(statistics.median(latencies), 1),
        p99_ms=round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
        max_ms=round(latencies[-1], 1),
    )
