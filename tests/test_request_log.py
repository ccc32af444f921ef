"""Request ids and JSON logs against a live server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Server, free_port

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        data_dir=tmp_path_factory.mktemp("logs") / "data",
        port=free_port(),
        env={"SEMSEARCH_LOG_LEVEL": "info"},
    )
    server.start()
    yield server
    server.stop()


def _log_lines(server: Server) -> list[dict[str, object]]:
    assert server.log_path is not None
    lines = server.log_path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]  # every line is JSON


def _request_entries(server: Server, request_id: str) -> list[dict[str, object]]:
    """The access line is written just after the response is sent: wait for it."""
    deadline = time.monotonic() + 10
    while True:
        entries = [e for e in _log_lines(server) if e.get("request_id") == request_id]
        if any(e["logger"] == "semsearch.access" for e in entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def test_a_given_request_id_is_echoed_and_logged_with_the_request(logged: Server) -> None:
    with httpx.Client(base_url=logged.url, timeout=60) as http:
        response = http.post(
            "/v1/search", json={"query": "bombing"}, headers={"X-Request-ID": "pipeline-7:a.b"}
        )
    assert response.status_code == 200 and response.headers["x-request-id"] == "pipeline-7:a.b"
    entries = _request_entries(logged, "pipeline-7:a.b")
    access = [e for e in entries if e["logger"] == "semsearch.access"]
    assert len(access) == 1
    entry = access[0]
    assert entry["method"] == "POST" and entry["path"] == "/v1/search" and entry["status"] == 200
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] > 0
    assert entry["level"] == "info" and "time" in entry


def test_a_missing_or_unsafe_request_id_is_replaced(logged: Server) -> None:
    with httpx.Client(base_url=logged.url, timeout=60) as http:
        generated = http.get("/healthz").headers["x-request-id"]
        unsafe = http.get("/healthz", headers={"X-Request-ID": "x" * 200}).headers["x-request-id"]
        rejected = http.get("/v1/documents/nope")
    assert re.fullmatch(r"[0-9a-f]{32}", generated) and re.fullmatch(r"[0-9a-f]{32}", unsafe)
    assert generated != unsafe
    # Error answers carry the id too, and their line logs the status.
    request_id = rejected.headers["x-request-id"]
    entries = _request_entries(logged, request_id)
    assert [e["status"] for e in entries if e["logger"] == "semsearch.access"] == [404], entries


def test_server_messages_are_json_lines_too(logged: Server) -> None:
    entries = _log_lines(logged)
    assert any(
        e["logger"].startswith("uvicorn") and "started" in str(e["message"]).lower()
        for e in entries
    )


def test_the_level_setting_filters_lines(server: Server, client: httpx.Client) -> None:
    """The shared test server runs at SEMSEARCH_LOG_LEVEL=warning: no per-request lines."""
    assert client.get("/healthz").status_code == 200
    time.sleep(0.3)  # long enough for an access line to have been written
    assert all(e["logger"] != "semsearch.access" for e in _log_lines(server))
