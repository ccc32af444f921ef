"""One request must not freeze, exhaust or hold the service (live servers, raw sockets where a
client misbehaves below HTTP). Time bounds here are generous guards, far above the fixed
figures and far below the broken ones; bench/hostile.py measures the figures themselves."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, running_server

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

KEY = "bounds-write-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
REQUEST_TIMEOUT = 2.0
MAX_CONNECTIONS = 6


@pytest.fixture(scope="module")
def bounded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(
        tmp_path_factory.mktemp("bounds") / "data",
        {
            "SEMSEARCH_API_KEYS": f"{KEY}:write",
            "SEMSEARCH_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT),
            "SEMSEARCH_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        },
    ) as server:
        yield server


def _connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def _read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started, received = time.monotonic(), b""
    while chunk := sock.recv(65536):
        received += chunk
    return received, time.monotonic() - started


def _while_running(work: Callable[[], object], probe: Callable[[], None]) -> None:
    """Run ``work`` on a thread and call ``probe`` while it runs."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # surfaced below
            errors.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        time.sleep(0.3)
        probe()
    finally:
        worker.join(300)
    assert not errors, errors


@pytest.mark.parametrize(
    ("text", "within"),
    [
        # A run of sentence ends: quadratic in the old splitting regex (31 s; 1.5 s now).
        ("." * 40_000, 10),
        ("!?" * 20_000, 10),
        # A line of initials: most of the time is embedding its 200,000 tokens (7 s).
        ("A. " * 100_000, 30),
        # Lines that clean to nothing cost ftfy 14 s a million (0.3 s now).
        ("x" + "\n" * 999_999, 5),
    ],
    ids=["dots", "marks", "initials", "newlines"],
)
def test_a_pathological_text_neither_freezes_the_server_nor_takes_long(
    bounded: Server, text: str, within: float
) -> None:
    outcome: dict[str, float] = {}

    def upsert() -> None:
        started = time.monotonic()
        with httpx.Client(base_url=bounded.url, headers=AUTH, timeout=120) as http:
            document = {"id": "pathological", "text": text}
            response = http.post("/v1/documents", json={"documents": [document]})
            assert response.status_code == 200, response.text
        outcome["seconds"] = time.monotonic() - started
        httpx.delete(bounded.url + "/v1/documents/pathological", headers=AUTH, timeout=60)

    def probe() -> None:
        with httpx.Client(base_url=bounded.url, headers=AUTH, timeout=30) as http:
            for _ in range(5):
                started = time.monotonic()
                assert http.get("/healthz").status_code == 200
                assert time.monotonic() - started < 1.0  # was 25.5 s behind the dots
                time.sleep(0.1)

    _while_running(upsert, probe)
    assert outcome["seconds"] < within  # generous guards; bench/hostile.py has the figures


@pytest.mark.parametrize("path", ["/v1/documents", "/healthz", "/no-such-route"])
def test_an_anonymous_body_is_refused_before_it_is_read(bounded: Server, path: str) -> None:
    declared = 16 * 1024 * 1024
    with _connect(bounded) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode()
            + f"Content-Length: {declared}\r\n\r\n".encode()
            + b"[{}," * 1000
        )
        answer, seconds = _read_until_closed(sock)  # not one more byte sent
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b"www-authenticate: bearer" in answer.lower()
    assert seconds < 5  # answered and closed without waiting for 16 MiB


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"POST /v1/search HTTP/1.1\r\nHost: x\r\n",  # headers, never finished
        b"POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + KEY.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",  # body stalls
    ],
    ids=["idle", "partial-headers", "partial-body"],
)
def test_a_client_that_sends_too_slowly_is_cut_off(bounded: Server, sent: bytes) -> None:
    with _connect(bounded) as sock:
        sock.sendall(sent)
        answer, seconds = _read_until_closed(sock)
    assert REQUEST_TIMEOUT - 0.5 < seconds < REQUEST_TIMEOUT + 3
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"application/problem+json" in answer


def test_a_trickle_of_header_bytes_does_not_reset_the_deadline(bounded: Server) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    with _connect(bounded) as sock:
        started = time.monotonic()
        try:
            for byte in request:  # one byte every 50 ms: 6 s for the whole head
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except OSError:
            pass  # the server closed the connection mid-trickle
        answer, _ = _read_until_closed(sock)
    assert time.monotonic() - started < REQUEST_TIMEOUT + 3
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


def test_connections_beyond_the_cap_get_503_at_once(bounded: Server) -> None:
    held = [_connect(bounded) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.2)
        with _connect(bounded) as extra:
            answer, seconds = _read_until_closed(extra)
        assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
        assert seconds < 1
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(bounded.url + "/healthz", timeout=10).status_code == 200


def test_a_well_behaved_keep_alive_client_is_served_past_the_deadline(bounded: Server) -> None:
    with httpx.Client(base_url=bounded.url, headers=AUTH, timeout=30) as http:
        for _ in range(4):  # one connection, requests spread over twice the deadline
            assert http.post("/v1/search", json={"query": "Islamabad"}).status_code == 200
            time.sleep(REQUEST_TIMEOUT / 2)


def test_waiting_writers_do_not_hold_the_read_slots(tmp_path: Path) -> None:
    """One long upsert and three small ones: the small ones wait for the writer, not in the
    engine's slots, so searches and readiness answer meanwhile (they waited 8.5 and 9.9 s)."""
    long_batch = {
        "documents": [
            {"id": f"long-{n}", "text": f"Report {n} on river levels and rainfall. " * 60}
            for n in range(120)
        ]
    }
    with running_server(tmp_path / "data", {}) as server:

        def writes() -> None:
            def post(batch: dict[str, object]) -> None:
                with httpx.Client(base_url=server.url, timeout=300) as http:
                    assert http.post("/v1/documents", json=batch).status_code == 200

            small = [
                {"documents": [{"id": f"small-{n}", "text": "A short note."}]} for n in range(3)
            ]
            threads = [threading.Thread(target=post, args=(b,)) for b in [long_batch, *small]]
            for thread in threads:
                thread.start()
                time.sleep(0.05)
            for thread in threads:
                thread.join(300)

        def probe() -> None:
            time.sleep(0.5)  # every write is in by now: the long one running, three waiting
            with httpx.Client(base_url=server.url, timeout=60) as http:
                for path in ("/readyz", "/v1/stats"):
                    started = time.monotonic()
                    assert http.get(path).status_code == 200
                    assert time.monotonic() - started < 3, path
                started = time.monotonic()
                assert http.post("/v1/search", json={"query": "rainfall"}).status_code == 200
                assert time.monotonic() - started < 3

        _while_running(writes, probe)


def test_invented_methods_do_not_grow_the_metrics(bounded: Server) -> None:
    def series() -> int:
        text = httpx.get(bounded.url + "/metrics", timeout=30).text
        return sum(1 for line in text.splitlines() if not line.startswith("#"))

    with httpx.Client(base_url=bounded.url, timeout=30) as http:
        http.request("M000000", "/nope")
        series()  # the scrape's own series exist from the next scrape on
        before = series()
        for n in range(1, 200):
            assert http.request(f"M{n:06d}", "/nope").status_code in (401, 404, 405)
    assert series() == before  # the counts grow, not the series (1,500 methods: 27,000)


def test_head_requests_are_counted_by_route(bounded: Server) -> None:
    with httpx.Client(base_url=bounded.url, timeout=30) as http:
        assert http.head("/healthz").status_code == 200
        text = http.get("/metrics").text
    assert 'semsearch_requests_total{method="HEAD",route="/healthz",status="200"}' in text
