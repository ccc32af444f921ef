"""Limits an operator lowers below the spec's, against a live server: 422 naming the field."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import assert_problem, running_server

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)


def test_lowered_k_and_query_length_limits_name_the_field(tmp_path: Path) -> None:
    with (
        running_server(
            tmp_path / "data", {"SEMSEARCH_MAX_K": "5", "SEMSEARCH_MAX_QUERY_CHARS": "40"}
        ) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        assert http.post("/v1/search", json={"query": "bombing", "k": 5}).status_code == 200
        assert_problem(http.post("/v1/search", json={"query": "bombing", "k": 6}), 422, "k")
        long_text = "bombing in the capital " * 2  # 46 characters
        assert_problem(http.post("/v1/search", json={"query": long_text}), 422, "query")
        support = http.post("/v1/passages/support", json={"claim": long_text})
        assert_problem(support, 422, "claim")
        assert_problem(
            http.post("/v1/passages/support", json={"claim": "A bomb.", "k": 6}), 422, "k"
        )
