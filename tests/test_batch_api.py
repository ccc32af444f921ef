"""POST /v1/search/batch and /v1/passages/support/batch (service/routes, service/answers.py)
in process: answers in input order equal to the single requests', per-item errors, limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import SEEDS, assert_problem

CLAIM = "A suicide bombing near the Islamabad district courts killed 12 people."


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data: Path = tmp_path_factory.mktemp("batch") / "data"
    settings = Settings(data_dir=data, seed_dir=SEEDS, max_k=20, max_batch_queries=4)
    with TestClient(create_app(settings)) as http:
        yield http


def test_a_search_batch_answers_each_query_as_a_single_search_would(client: TestClient) -> None:
    requests = [
        {"id": "a", "query": "suicide bombing in Islamabad", "k": 2},
        {"query": "Gwadar port", "k": 1, "mode": "lexical", "highlights": 0},
        {"id": "c", "query": "counter-terrorism", "k": 3, "group_by": "document"},
    ]
    answer = client.post("/v1/search/batch", json={"requests": requests})
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["id"] for r in results] == ["a", None, "c"]
    for request, result in zip(requests, results, strict=True):
        single = {key: value for key, value in request.items() if key != "id"}
        assert result["error"] is None
        assert result["response"] == client.post("/v1/search", json=single).json()


def test_a_request_the_engine_refuses_fails_alone(client: TestClient) -> None:
    requests = [
        {"id": "good", "query": "Islamabad", "k": 1},
        {"id": "refused", "query": "Islamabad", "group_size": 2},  # needs group_by
        {"id": "over", "query": "Islamabad", "k": 30},  # over SEMSEARCH_MAX_K here
    ]
    results = client.post("/v1/search/batch", json={"requests": requests}).json()["results"]
    assert results[0]["response"]["hits"] and results[0]["error"] is None
    for result, field in zip(results[1:], ["group_size", "k"], strict=True):
        assert result["response"] is None
        assert result["error"]["status"] == 422
        assert [e["field"] for e in result["error"]["errors"]] == [field]
        single = (
            {"query": "Islamabad", "group_size": 2}
            if field == "group_size"
            else {
                "query": "Islamabad",
                "k": 30,
            }
        )
        assert client.post("/v1/search", json=single).json() == result["error"]


def test_a_support_batch_answers_each_claim_as_a_single_request_would(
    client: TestClient,
) -> None:
    requests = [
        {"id": "c1", "claim": CLAIM, "k": 2},
        {"id": "c2", "claim": "The moon is made of cheese.", "k": 1, "offset_encoding": "utf-16"},
        {"id": "c3", "claim": CLAIM, "k": 25},
    ]
    results = client.post("/v1/passages/support/batch", json={"requests": requests}).json()
    results = results["results"]
    for request, result in zip(requests[:2], results[:2], strict=True):
        single = {key: value for key, value in request.items() if key != "id"}
        assert result["response"] == client.post("/v1/passages/support", json=single).json()
    assert results[2]["error"]["errors"][0]["field"] == "k"


def test_a_batch_over_the_limit_is_413_naming_requests(client: TestClient) -> None:
    body = {"requests": [{"query": f"query {n}"} for n in range(5)]}
    assert_problem(client.post("/v1/search/batch", json=body), 413, "requests")
    claims = {"requests": [{"claim": f"claim {n}"} for n in range(5)]}
    assert_problem(client.post("/v1/passages/support/batch", json=claims), 413, "requests")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"requests": []}, "requests"),
        ({"requests": [{"query": "x"}, {"query": "x", "k": 0}]}, "requests[1].k"),
        ({"requests": [{"query": "x", "id": 5}]}, "requests[0].id"),
        ({"queries": [{"query": "x"}]}, "queries"),
    ],
)
def test_a_batch_that_breaks_the_schema_is_refused_whole(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    assert_problem(client.post("/v1/search/batch", json=body), 422, field)


def test_a_batch_in_a_missing_collection_is_404(client: TestClient) -> None:
    body = {"requests": [{"query": "x"}]}
    assert client.post("/v1/collections/nope/search/batch", json=body).status_code == 404
