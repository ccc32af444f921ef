"""32 concurrent clients mix search, support, upsert and delete against one live server, and
against two replicas sharing one PostgreSQL (clients spread over both, as a load balancer would).

For a bounded time (SEMSEARCH_CONCURRENCY_SECONDS, 15 s by default) 22 clients search, 4 ask
for supporting passages and 6 write, each writer owning its own document ids so the order of
writes to an id is known. Every request must succeed (no error, no 5xx), and every hit and
passage must cite a version of its document that the store could have held while the request
ran: the one acknowledged before it was sent (by whichever replica), or one written while it
was in flight.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import assert_consistent, running_server, start_replicas

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

SECONDS = float(os.environ.get("SEMSEARCH_CONCURRENCY_SECONDS", "15"))
SEARCHERS, SUPPORTERS, WRITERS = 22, 4, 6
SLOTS = 5  # document ids per writer
QUERIES = [
    "floods in Pakistan",
    "tugboat towed barges past the lighthouse",
    "monsoon rains and casualties",
    "harbour ledger entry",
    "government response to the disaster",
]
CLAIMS = ["Floods killed people in Pakistan", "A tugboat towed barges past the lighthouse"]


@dataclass
class Write:
    sent: float
    text: str | None  # None: a delete
    acked: float | None = None


@dataclass
class History:
    """Every write to every writer-owned id, in order, with when it was sent and acknowledged."""

    writes: dict[str, list[Write]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, document_id: str, write: Write) -> None:
        with self.lock:
            self.writes.setdefault(document_id, []).append(write)

    def possible(self, document_id: str, sent: float, received: float) -> list[str | None]:
        """The texts (None: absent) the store could hold for an id during [sent, received]."""
        with self.lock:
            writes = list(self.writes.get(document_id, []))
        acked_before = [w for w in writes if w.acked is not None and w.acked < sent]
        states = [acked_before[-1].text if acked_before else None]
        states += [
            w.text for w in writes if w.sent < received and (w.acked is None or w.acked >= sent)
        ]
        return states

    def last(self, document_id: str) -> str | None:
        return self.writes[document_id][-1].text


@dataclass
class Run:
    urls: list[str]
    seeds: dict[str, str]
    history: History = field(default_factory=History)
    deadline: float = 0.0
    failures: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def client(self, work: Callable[[httpx.Client, random.Random], None], seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=self.urls[seed % len(self.urls)], timeout=120) as http:
            while time.monotonic() < self.deadline and not self.failures:
                try:
                    work(http, rng)
                except (httpx.HTTPError, AssertionError) as error:
                    self.failures.append(f"{type(error).__name__}: {error}")

    def check_cited(
        self,
        citation: dict[str, Any],
        spans: list[tuple[str, int, int]],
        sent: float,
        received: float,
    ) -> None:
        """Each (text, start, end) is text[start:end] of one version the document could have."""
        document_id = citation["document_id"]
        if document_id in self.seeds:
            versions: list[str | None] = [self.seeds[document_id]]
        else:
            versions = self.history.possible(document_id, sent, received)
        assert any(
            version is not None and all(version[a:b] == text for text, a, b in spans)
            for version in versions
        ), f"{document_id} cited text no version of it had: {spans[0][0][:80]!r}"

    def search(self, http: httpx.Client, rng: random.Random) -> None:
        body = {
            "query": rng.choice(QUERIES),
            "k": rng.randint(1, 20),
            "mode": rng.choice(["hybrid", "dense", "lexical"]),
        }
        sent = time.monotonic()
        response = http.post("/v1/search", json=body)
        received = time.monotonic()
        assert response.status_code == 200, response.text
        for hit in response.json()["hits"]:
            c = hit["citation"]
            self.check_cited(c, [(hit["text"], c["char_start"], c["char_end"])], sent, received)
        self.counts["search"] += 1

    def support(self, http: httpx.Client, rng: random.Random) -> None:
        sent = time.monotonic()
        response = http.post("/v1/passages/support", json={"claim": rng.choice(CLAIMS), "k": 3})
        received = time.monotonic()
        assert response.status_code == 200, response.text
        for passage in response.json()["passages"]:
            c = passage["citation"]
            spans = [(passage["text"], c["char_start"], c["char_end"])]
            spans += [(e["text"], e["char_start"], e["char_end"]) for e in passage["evidence"]]
            self.check_cited(c, spans, sent, received)
        self.counts["support"] += 1

    def writer(self, number: int) -> Callable[[httpx.Client, random.Random], None]:
        ids = [f"w{number}-{slot}" for slot in range(SLOTS)]
        present: set[str] = set()

        def write(http: httpx.Client, rng: random.Random) -> None:
            if present and rng.random() < 0.3:
                document_id = rng.choice(sorted(present))
                done = Write(time.monotonic(), None)
                self.history.record(document_id, done)
                response = http.delete(f"/v1/documents/{document_id}")
                assert response.status_code == 204, response.text
                done.acked = time.monotonic()
                present.discard(document_id)
                self.counts["delete"] += 1
                return
            batch = {i: _text(i, rng) for i in rng.sample(ids, rng.randint(1, 3))}
            writes = {i: Write(time.monotonic(), text) for i, text in batch.items()}
            for document_id, done in writes.items():
                self.history.record(document_id, done)
            body = {"documents": [{"id": i, "text": t} for i, t in batch.items()]}
            response = http.post("/v1/documents", json=body)
            assert response.status_code == 200, response.text
            acked = time.monotonic()
            for done in writes.values():
                done.acked = acked
            present.update(batch)
            self.counts["upsert"] += 1

        return write


def _text(document_id: str, rng: random.Random) -> str:
    """Already clean text (cleaning leaves it as is), unique per version."""
    return (
        f"Harbour ledger entry {document_id} version {rng.randrange(10**9)}. "
        f"The tugboat towed {rng.randint(2, 40)} barges past the lighthouse at dawn. "
        f"Crews logged {rng.randint(1, 9)} inspections before the tide turned."
    )


def test_32_clients_mixing_reads_and_writes_see_only_consistent_results(
    tmp_path: Path, database_url: str | None
) -> None:
    servers = start_replicas(tmp_path, database_url)
    server = servers[-1]
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            listing = http.get("/v1/documents").json()["items"]
            seeds = {d["id"]: http.get(f"/v1/documents/{d['id']}").json()["text"] for d in listing}
        run = Run([s.url for s in servers], seeds, deadline=time.monotonic() + SECONDS)
        work = [run.search] * SEARCHERS + [run.support] * SUPPORTERS
        work += [run.writer(n) for n in range(WRITERS)]
        threads = [threading.Thread(target=run.client, args=(w, n)) for n, w in enumerate(work)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 300)
        assert not run.failures, run.failures[:5]
        assert all(run.counts[kind] > 0 for kind in ("search", "support", "upsert", "delete"))

        with httpx.Client(base_url=server.url, timeout=60) as http:
            for document_id in run.history.writes:
                response = http.get(f"/v1/documents/{document_id}")
                last = run.history.last(document_id)
                if last is None:
                    assert response.status_code == 404, document_id
                else:
                    assert response.json()["text"] == last, document_id
            stats = http.get("/v1/stats").json()
            present = sum(run.history.last(i) is not None for i in run.history.writes)
            assert stats["documents"] == len(seeds) + present
            assert stats["chunks"] == stats["vectors"]
    finally:
        for replica in servers:
            replica.stop()
    assert_consistent(server.data_dir, database_url)
    print(
        f"{len(work)} clients for {SECONDS:.0f} s on {len(servers)} server(s):"
        f" {dict(run.counts)}, no errors"
    )


def test_a_collection_created_and_deleted_in_a_loop_never_leaks_into_searches(
    tmp_path: Path,
) -> None:
    """Searches in the default collection, in a stable one and in one being created, filled
    and deleted over and over: no 5xx, a missing collection is a 404, and no hit ever comes
    from another collection."""
    data_dir = tmp_path / "data"
    with running_server(data_dir, {"SEMSEARCH_MAX_QUEUED": "256"}) as server:
        url = server.url
        with httpx.Client(base_url=url, timeout=60) as admin:
            admin.post("/v1/collections", json={"name": "stable"})
            stable = {"documents": [{"id": "s1", "text": "Stable harbour notes on tides."}]}
            assert admin.post("/v1/collections/stable/documents", json=stable).status_code == 200
        problems: list[str] = []
        answered: Counter[tuple[str, int]] = Counter()
        stop = threading.Event()
        belongs: dict[str, Callable[[str], bool]] = {
            "/v1/search": lambda text: "Stable" not in text and "Churn" not in text,
            "/v1/collections/stable/search": lambda text: text.startswith("Stable"),
            "/v1/collections/churn/search": lambda text: text.startswith("Churn"),
        }

        def search(path: str) -> None:
            with httpx.Client(base_url=url, timeout=60) as http:
                while not stop.is_set():
                    response = http.post(path, json={"query": "harbour tides churn", "k": 5})
                    answered[path, response.status_code] += 1
                    if response.status_code == 200:
                        for hit in response.json()["hits"]:
                            if not belongs[path](hit["text"]):
                                problems.append(f"{path}: {hit['text'][:60]!r}")
                    elif not (response.status_code == 404 and "churn" in path):
                        problems.append(f"{path}: {response.status_code} {response.text[:200]}")

        threads = [threading.Thread(target=search, args=(path,)) for path in belongs for _ in "ab"]
        for thread in threads:
            thread.start()
        rounds = 0
        try:
            with httpx.Client(base_url=url, timeout=60) as admin:
                deadline = time.monotonic() + min(SECONDS, 10)
                while time.monotonic() < deadline:
                    assert admin.post("/v1/collections", json={"name": "churn"}).status_code == 201
                    churn = {"documents": [{"id": "c1", "text": f"Churn {rounds} harbour."}]}
                    written = admin.post("/v1/collections/churn/documents", json=churn)
                    assert written.status_code == 200, written.text
                    assert admin.delete("/v1/collections/churn").status_code == 204
                    rounds += 1
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        assert problems == [], problems[:5]
        assert rounds >= 3 and answered["/v1/collections/churn/search", 200] > 0
        assert answered["/v1/collections/churn/search", 404] > 0
    assert_consistent(data_dir)
