"""The HTTP API against a real `semsearch serve` process on a loopback port."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, assert_problem, free_port

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

EXAMPLE_QUERY = "suicide bombing outside the Islamabad district courts"
BOMBING_ARTICLE = "003_997123c907f1ca25"


def test_health_readiness_and_stats(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] >= 5
    stats = client.get("/v1/stats").json()
    assert stats["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert stats["chunks"] == stats["vectors"] > 0


def test_example_search_cites_the_bombing_article(client: httpx.Client) -> None:
    response = client.post("/v1/search", json={"query": EXAMPLE_QUERY, "k": 5})
    assert response.status_code == 200
    hits = response.json()["hits"]
    assert len(hits) == 5
    first = hits[0]["citation"]
    assert first["document_id"] == BOMBING_ARTICLE
    assert (
        first["title"] == "Pakistan, China Boost Counter-Terrorism Cooperation After Blast Kills 12"
    )
    assert first["source"] == "SouthAsianDesk" and first["published_at"] == "2025-11-18"
    for hit in hits:
        citation = hit["citation"]
        text = client.get(f"/v1/documents/{citation['document_id']}").json()["text"]
        assert text[citation["char_start"] : citation["char_end"]] == hit["text"]


def test_grouped_search_answers_documents_with_their_passages(client: httpx.Client) -> None:
    body = {"query": "China Pakistan counter-terrorism cooperation", "k": 3}
    grouped = client.post("/v1/search", json=body | {"group_by": "document", "group_size": 2})
    assert grouped.status_code == 200, grouped.text
    answer = grouped.json()
    groups = answer["groups"]
    assert len(groups) == 3 and len({g["document_id"] for g in groups}) == 3
    assert [g["score"] for g in groups] == sorted((g["score"] for g in groups), reverse=True)
    assert answer["hits"] == [hit for group in groups for hit in group["hits"]]
    for group in groups:
        assert 1 <= len(group["hits"]) <= 2 and group["score"] == group["hits"][0]["score"]
        assert {h["citation"]["document_id"] for h in group["hits"]} == {group["document_id"]}
    plain = client.post("/v1/search", json=body).json()
    assert plain["groups"] is None and all(len(h["highlights"]) == 1 for h in plain["hits"])


def test_search_filters(client: httpx.Client) -> None:
    body = {"query": EXAMPLE_QUERY, "k": 4, "filters": {"sources": ["South China Morning Post"]}}
    hits = client.post("/v1/search", json=body).json()["hits"]
    assert len(hits) == 4
    assert {h["citation"]["source"] for h in hits} == {"South China Morning Post"}


def test_document_lifecycle(client: httpx.Client) -> None:
    document = {
        "id": "api-panda",
        "title": "Panda born",
        "text": "A giant panda cub was born at the Chengdu breeding centre.\u00a0 Staff cheered.",
        "source": "Zoo News",
        "url": "https://example.org/panda",
        "published_at": "2025-05-01",
        "metadata": {"lang": "en"},
    }
    created = client.post("/v1/documents", json={"documents": [document]})
    assert created.status_code == 200
    assert created.json()["results"] == [{"id": "api-panda", "status": "created", "chunk_count": 1}]
    again = client.post("/v1/documents", json={"documents": [document]}).json()
    assert again["results"][0]["status"] == "unchanged"

    stored = client.get("/v1/documents/api-panda").json()
    assert (
        stored["text"]
        == "A giant panda cub was born at the Chengdu breeding centre. Staff cheered."
    )
    assert stored["metadata"] == {"lang": "en"} and stored["url"] == document["url"]

    hits = client.post("/v1/search", json={"query": "panda cub Chengdu", "k": 1}).json()["hits"]
    assert hits[0]["citation"]["document_id"] == "api-panda"
    assert hits[0]["citation"]["url"] == "https://example.org/panda"

    page = client.get("/v1/documents", params={"source": "Zoo News"}).json()
    assert [d["id"] for d in page["items"]] == ["api-panda"] and page["next_offset"] is None

    assert client.delete("/v1/documents/api-panda").status_code == 204
    assert_problem(client.get("/v1/documents/api-panda"), 404)
    assert_problem(client.delete("/v1/documents/api-panda"), 404)
    hits = client.post("/v1/search", json={"query": "panda cub Chengdu", "k": 50}).json()["hits"]
    assert all(h["citation"]["document_id"] != "api-panda" for h in hits)


def test_generated_ids_and_pagination(client: httpx.Client) -> None:
    response = client.post("/v1/documents", json={"documents": [{"text": "Generated id text."}]})
    generated = response.json()["results"][0]["id"]
    assert len(generated) == 32
    total = client.get("/v1/documents").json()["total"]
    first = client.get("/v1/documents", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2 and first["total"] == total
    client.delete(f"/v1/documents/{generated}")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": "   "}, "query"),
        ({"query": ""}, "query"),
        ({"query": "x", "k": 0}, "k"),
        ({"query": "x", "k": 101}, "k"),
        ({"query": "x", "k": "many"}, "k"),
        ({"k": 3}, "query"),
        ({"query": "x", "filters": {"sources": "one"}}, "filters.sources"),
        ({"query": "x", "filters": {"published_after": "yesterday"}}, "filters.published_after"),
        (
            {
                "query": "x",
                "filters": {"published_after": "2025-02-01", "published_before": "2025-01-01"},
            },
            "filters.published_after",
        ),
        ({"query": "x", "colour": "red"}, "colour"),
        ({"query": "x", "highlights": -1}, "highlights"),
        ({"query": "x", "highlights": 6}, "highlights"),
        ({"query": "x", "group_by": "source"}, "group_by"),
        ({"query": "x", "group_size": 2}, "group_size"),
        ({"query": "x", "group_by": "document", "group_size": 0}, "group_size"),
        ({"query": "x", "group_by": "document", "group_size": 11}, "group_size"),
        ({"query": "x", "diversity": 1.01}, "diversity"),
        ({"query": "x", "diversity": -1}, "diversity"),
    ],
)
def test_bad_search_requests_get_problem_json_naming_the_field(
    client: httpx.Client, body: dict[str, object], field: str
) -> None:
    assert_problem(client.post("/v1/search", json=body), 422, field)


def test_malformed_json_is_a_400(client: httpx.Client) -> None:
    response = client.post(
        "/v1/search", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400)


def test_a_bad_batch_is_rejected_whole(client: httpx.Client) -> None:
    before = client.get("/v1/stats").json()
    batch = {"documents": [{"id": "ok-doc", "text": "fine"}, {"id": "ok-doc", "text": "again"}]}
    assert_problem(client.post("/v1/documents", json=batch), 422, "documents[1].id")
    bad_id = {"documents": [{"id": "ok-doc2", "text": "fine"}, {"id": "../etc", "text": "x"}]}
    assert_problem(client.post("/v1/documents", json=bad_id), 422, "documents[1].id")
    blank = {"documents": [{"id": "ok-doc3", "text": "fine"}, {"text": " \n "}]}
    assert_problem(client.post("/v1/documents", json=blank), 422, "documents[1].text")
    assert client.get("/v1/stats").json() == before
    assert_problem(client.get("/v1/documents/ok-doc"), 404)


def test_restart_keeps_every_document(tmp_path: Path) -> None:
    server = Server(data_dir=tmp_path / "data", port=free_port())
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            http.post("/v1/documents", json={"documents": [{"id": "kept", "text": "Kept text."}]})
            before = http.get("/v1/documents", params={"limit": 500}).json()
    finally:
        server.stop()
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            assert http.get("/v1/documents", params={"limit": 500}).json() == before
            assert http.get("/v1/documents/kept").json()["text"] == "Kept text."
            hit = http.post("/v1/search", json={"query": "kept text", "k": 1}).json()["hits"][0]
            assert hit["citation"]["document_id"] == "kept"
    finally:
        server.stop()


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_search_modes_and_min_score(client: httpx.Client, mode: str) -> None:
    body = {"query": EXAMPLE_QUERY, "k": 10, "mode": mode}
    hits = client.post("/v1/search", json=body).json()["hits"]
    assert hits[0]["citation"]["document_id"] == BOMBING_ARTICLE
    assert all(0.0 <= h["score"] <= 1.0 for h in hits)
    # halfway between the best and the worst score: lexical scores can tie (tantivy stores a
    # chunk's length to one byte's precision), so a hit's own score may not split the list
    cut = (hits[0]["score"] + hits[-1]["score"]) / 2
    kept = client.post("/v1/search", json={**body, "min_score": cut}).json()["hits"]
    assert kept == [h for h in hits if h["score"] >= cut]
    assert 0 < len(kept) < len(hits)


def test_find_supporting_passages(client: httpx.Client) -> None:
    claim = "A suicide bombing near the Islamabad district courts killed 12 people."
    response = client.post("/v1/passages/support", json={"claim": claim, "k": 3})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["verdict"] == "supported" and result["claim"] == claim
    first = result["passages"][0]
    assert first["citation"]["document_id"] == BOMBING_ARTICLE
    assert result["support"] == first["support"]
    text = client.get(f"/v1/documents/{BOMBING_ARTICLE}").json()["text"]
    assert text[first["citation"]["char_start"] : first["citation"]["char_end"]] == first["text"]
    for evidence in first["evidence"]:
        assert text[evidence["char_start"] : evidence["char_end"]] == evidence["text"]
    assert any("killed 12 people" in e["text"] for p in result["passages"] for e in p["evidence"])

    off_topic = {"claim": "Apple launched a new iPhone with a titanium frame.", "k": 3}
    result = client.post("/v1/passages/support", json=off_topic).json()
    assert result["verdict"] == "insufficient_evidence"


def test_a_contradicted_claim_leads_with_the_sentence_that_says_otherwise(
    client: httpx.Client,
) -> None:
    claim = "The suicide bombing near the Islamabad district courts killed nobody."
    result = client.post("/v1/passages/support", json={"claim": claim, "k": 3}).json()
    assert result["verdict"] == "contradicted"
    assert result["contradiction"] == result["passages"][0]["contradiction"] > result["support"]
    first = result["passages"][0]["evidence"][0]
    assert first["stance"] == "contradicts" and 0.0 < first["stance_probability"] <= 1.0
    stances = {e["stance"] for p in result["passages"] for e in p["evidence"]}
    assert stances <= {"supports", "contradicts", "neutral"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"claim": " "}, "claim"),
        ({"claim": "x", "k": 51}, "k"),
        ({"claim": "x", "min_support": 1.5}, "min_support"),
        ({"claim": "x", "min_contradiction": -0.1}, "min_contradiction"),
        ({"claim": "x", "mode": "fuzzy"}, "mode"),
        ({"claim": "x", "query": "y"}, "query"),
    ],
)
def test_bad_support_requests_name_the_field(
    client: httpx.Client, body: dict[str, object], field: str
) -> None:
    assert_problem(client.post("/v1/passages/support", json=body), 422, field)
