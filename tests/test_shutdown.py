"""SIGTERM shuts down gracefully: writes in flight finish and are kept, new ones are refused."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, free_port

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

SENTENCE = "The night shift on pier {n} logged crane {b} lifting containers of timber and grain."
BATCHES = [
    [{"id": f"term-{b}-{n}", "text": " ".join([SENTENCE.format(b=b, n=n)] * 6)} for n in range(100)]
    for b in range(4)
]


def test_sigterm_finishes_writes_in_flight_and_refuses_new_ones(tmp_path: Path) -> None:
    server = Server(
        data_dir=tmp_path / "data", port=free_port(), env={"SEMSEARCH_LOG_LEVEL": "info"}
    )
    server.start()
    assert server.process is not None and server.log_path is not None
    outcomes: dict[int, int | str] = {}

    def send(number: int) -> None:
        try:
            response = httpx.post(
                f"{server.url}/v1/documents", json={"documents": BATCHES[number]}, timeout=300
            )
            outcomes[number] = response.status_code
        except httpx.TransportError as error:
            outcomes[number] = type(error).__name__

    writers = [threading.Thread(target=send, args=(n,)) for n in range(len(BATCHES))]
    for writer in writers:
        writer.start()
    # Two writes run at once (one embedding while the other writes): once the first batch is in
    # the store, the second is at most being written and the other two wait. SIGTERM then.
    with httpx.Client(base_url=server.url, timeout=60) as http:
        while http.get("/v1/stats").json()["documents"] == 5:
            time.sleep(0.05)
    server.process.send_signal(signal.SIGTERM)
    assert len(outcomes) <= 2, f"nothing left in flight at SIGTERM: {outcomes}"
    time.sleep(0.5)
    try:
        late = httpx.post(
            f"{server.url}/v1/documents",
            json={"documents": [{"id": "term-late", "text": "Sent after SIGTERM."}]},
            timeout=30,
        )
        raise AssertionError(f"a request after SIGTERM was served: {late.status_code}")
    except httpx.ConnectError:
        pass  # the listening socket is closed: refused before anything is read
    for writer in writers:
        writer.join(timeout=300)
    # uvicorn re-raises the signal once shut down, so the exit status says SIGTERM.
    assert server.process.wait(timeout=300) in {0, -signal.SIGTERM}
    assert outcomes == {n: 200 for n in range(len(BATCHES))}, outcomes
    assert "Application shutdown complete" in server.log_path.read_text()

    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for batch in BATCHES:
                for document in batch:
                    stored = http.get(f"/v1/documents/{document['id']}")
                    assert stored.json()["text"] == document["text"], document["id"]
            assert http.get("/v1/documents/term-late").status_code == 404
            stats = http.get("/v1/stats").json()
            assert stats["documents"] == 5 + sum(map(len, BATCHES))
            assert stats["chunks"] == stats["vectors"]
    finally:
        server.stop()
