"""CORS against live servers: no origin is allowed by default; configured ones are."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import running_server

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

APP = "https://app.example.org"
PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


def test_no_origin_is_allowed_by_default(client: httpx.Client) -> None:
    response = client.post("/v1/search", json={"query": "bombing"}, headers={"Origin": APP})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert (
        "access-control-allow-origin" not in client.options("/v1/search", headers=PREFLIGHT).headers
    )


def test_configured_origins_may_call_and_others_may_not(tmp_path: Path) -> None:
    with (
        running_server(
            tmp_path / "data", {"SEMSEARCH_CORS_ORIGINS": f"{APP}, https://other.example.org"}
        ) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        preflight = http.options("/v1/search", headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == APP
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        actual = http.post("/v1/search", json={"query": "bombing"}, headers={"Origin": APP})
        assert actual.headers["access-control-allow-origin"] == APP
        assert "x-request-id" in actual.headers["access-control-expose-headers"].lower()
        stranger = {**PREFLIGHT, "Origin": "https://evil.example.com"}
        refused = http.options("/v1/search", headers=stranger)
        assert "access-control-allow-origin" not in refused.headers
