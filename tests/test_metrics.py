"""GET /metrics against live servers: Prometheus text with request, latency, embedding and
index figures; open by default, behind a read key when asked."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import running_server

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)


def _value(text: str, sample: str) -> float:
    """The value of one sample line, e.g. 'semsearch_documents' or a name with labels."""
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    assert match, f"{sample} missing from:\n{text}"
    return float(match.group(1))


def test_metrics_count_requests_latency_embedding_and_the_index(client: httpx.Client) -> None:
    before = client.get("/metrics")
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain")
    search = 'semsearch_requests_total{method="POST",route="/v1/search",status="200"}'
    searched = _value(before.text, search) if search in before.text else 0.0
    embedded = _value(before.text, "semsearch_embedded_texts_total")
    for query in ("bombing", "floods"):
        assert client.post("/v1/search", json={"query": query}).status_code == 200
    assert client.get("/v1/documents/no-such-doc").status_code == 404
    text = client.get("/metrics").text
    assert _value(text, search) == searched + 2
    assert (
        _value(
            text,
            'semsearch_requests_total{method="GET",route="/v1/documents/{document_id}",'
            'status="404"}',
        )
        >= 1
    )  # by route template: an id never becomes a label value
    assert "no-such-doc" not in text
    count = 'semsearch_request_duration_seconds_count{method="POST",route="/v1/search"}'
    assert _value(text, count) >= 2
    assert _value(text, "semsearch_embedded_texts_total") == embedded + 2
    assert _value(text, "semsearch_embedding_seconds_total") > 0
    stats = client.get("/v1/stats").json()
    assert _value(text, "semsearch_documents") == stats["documents"] == 5
    assert _value(text, "semsearch_chunks") == _value(text, "semsearch_vectors") == stats["chunks"]
    assert _value(text, "semsearch_index_build_seconds") >= 0  # built on the first start


def test_metrics_can_require_a_read_key(tmp_path: Path) -> None:
    with (
        running_server(
            tmp_path / "data",
            {
                "SEMSEARCH_API_KEYS": "scraper-key:read",
                "SEMSEARCH_METRICS_NEED_KEY": "true",
                "SEMSEARCH_SEED_DIR": "",
            },
        ) as server,
        httpx.Client(base_url=server.url, timeout=60) as http,
    ):
        assert http.get("/metrics").status_code == 401
        keyed = http.get("/metrics", headers={"Authorization": "Bearer scraper-key"})
        assert keyed.status_code == 200 and "semsearch_documents 0.0" in keyed.text
