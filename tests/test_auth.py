"""API keys against a live server: 401 without or with an unknown key, 403 for a read key
that writes, both header forms accepted, open health endpoints, keys never logged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, assert_problem, free_port

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

READ_KEY = "r3ad-Key-Only"
WRITE_KEY = "wr1te-Key-Both"
DOCUMENT = {"documents": [{"id": "auth-doc", "text": "Keys guard the floodgates of the dam."}]}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    keys_file = tmp_path_factory.mktemp("keys") / "keys.txt"
    keys_file.write_text(f"# operators\n{WRITE_KEY}:write\n", encoding="utf-8")
    server = Server(
        data_dir=tmp_path_factory.mktemp("auth") / "data",
        port=free_port(),
        env={
            "SEMSEARCH_API_KEYS": f"{READ_KEY}:read",
            "SEMSEARCH_API_KEYS_FILE": str(keys_file),
            "SEMSEARCH_LOG_LEVEL": "debug",
        },
    )
    server.start()
    yield server
    server.stop()


def test_no_key_or_an_unknown_key_is_401(keyed: Server) -> None:
    with httpx.Client(base_url=keyed.url, timeout=60) as http:
        missing = http.post("/v1/search", json={"query": "dam"})
        assert_problem(missing, 401, "Authorization")
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = http.get("/v1/documents", headers={"Authorization": "Bearer not-a-key"})
        assert_problem(wrong, 401, "Authorization")
        wrong_header = http.get("/v1/stats", headers={"X-API-Key": READ_KEY + "x"})
        assert_problem(wrong_header, 401, "X-API-Key")


def test_a_read_key_reads_but_cannot_write(keyed: Server) -> None:
    for headers in ({"Authorization": f"Bearer {READ_KEY}"}, {"X-API-Key": READ_KEY}):
        with httpx.Client(base_url=keyed.url, timeout=60, headers=headers) as http:
            assert http.post("/v1/search", json={"query": "bombing"}).status_code == 200
            support = http.post("/v1/passages/support", json={"claim": "A bomb exploded."})
            assert support.status_code == 200
            assert http.get("/v1/documents").status_code == 200
            assert http.get("/v1/stats").status_code == 200
            assert_problem(http.post("/v1/documents", json=DOCUMENT), 403, next(iter(headers)))
            assert_problem(http.delete("/v1/documents/anything"), 403, next(iter(headers)))


def test_a_write_key_from_the_keys_file_writes(keyed: Server) -> None:
    with httpx.Client(base_url=keyed.url, timeout=60, headers={"X-API-Key": WRITE_KEY}) as http:
        assert http.post("/v1/documents", json=DOCUMENT).status_code == 200
        assert http.get("/v1/documents/auth-doc").status_code == 200
        assert http.delete("/v1/documents/auth-doc").status_code == 204


def test_health_readiness_and_docs_stay_open(keyed: Server) -> None:
    with httpx.Client(base_url=keyed.url, timeout=60) as http:
        for path in (
            "/healthz",
            "/readyz",
            "/openapi.json",
            "/docs",
            "/redoc",
            "/docs-assets/swagger-ui.css",
            "/metrics",
        ):
            assert http.get(path).status_code == 200, path
            assert http.head(path).status_code == 200, path
        # Everything else needs a key, unknown paths and other methods included.
        assert_problem(http.get("/no-such-page"), 401)
        assert_problem(http.post("/healthz", json={}), 401)


def test_keys_never_reach_the_log(keyed: Server) -> None:
    with httpx.Client(base_url=keyed.url, timeout=60) as http:
        http.get("/v1/stats", headers={"Authorization": f"Bearer {READ_KEY}"})
        http.get("/v1/stats", headers={"X-API-Key": "guessed-key-123"})
    assert keyed.log_path is not None
    deadline = time.monotonic() + 10  # a request's log line follows its response
    while (log := keyed.log_path.read_text()).count('"/v1/stats"') < 2:
        assert time.monotonic() < deadline, log
        time.sleep(0.05)
    for secret in (READ_KEY, WRITE_KEY, "guessed-key-123"):
        assert secret not in log


def test_binding_beyond_loopback_without_keys_warns(tmp_path: Path) -> None:
    server = Server(
        data_dir=tmp_path / "data",
        port=free_port(),
        env={"SEMSEARCH_HOST": "0.0.0.0", "SEMSEARCH_SEED_DIR": ""},
    )
    server.start()
    server.stop()
    assert server.log_path is not None
    assert "WITHOUT API KEYS" in server.log_path.read_text()


def test_a_bad_key_setting_stops_the_server_with_one_line(tmp_path: Path) -> None:
    server = Server(
        data_dir=tmp_path / "data", port=free_port(), env={"SEMSEARCH_API_KEYS": "k:admin"}
    )
    with pytest.raises(
        RuntimeError, match=r"SEMSEARCH_API_KEYS: .*scope must be 'read' or 'write'"
    ):
        server.start()


# -- keys restricted to a collection ---------------------------------------------------------

ADMIN, NEWS_READER, NEWS_WRITER, FILE_NEWS_WRITER = "admin-k", "news-r", "news-w", "file-news-w"


@pytest.fixture(scope="module")
def tenanted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    keys_file = tmp_path_factory.mktemp("tenant-keys") / "keys.txt"
    keys_file.write_text(f"{FILE_NEWS_WRITER}:write:news\n", encoding="utf-8")
    server = Server(
        data_dir=tmp_path_factory.mktemp("tenants") / "data",
        port=free_port(),
        env={
            "SEMSEARCH_API_KEYS": f"{ADMIN}:write,{NEWS_READER}:read:news,{NEWS_WRITER}:write:news",
            "SEMSEARCH_API_KEYS_FILE": str(keys_file),
        },
    )
    server.start()
    with httpx.Client(base_url=server.url, timeout=60, headers={"X-API-Key": ADMIN}) as admin:
        for name in ("news", "papers"):
            assert admin.post("/v1/collections", json={"name": name}).status_code == 201
        papers = {"documents": [{"id": "p1", "text": "A paper on harbour sediment and tides."}]}
        assert admin.post("/v1/collections/papers/documents", json=papers).status_code == 200
    yield server
    server.stop()


def test_a_key_of_one_collection_works_there_and_nowhere_else(tenanted: Server) -> None:
    news = {"documents": [{"id": "n1", "text": "The harbour flooded after three days of rain."}]}
    for key in (NEWS_WRITER, FILE_NEWS_WRITER):
        with httpx.Client(base_url=tenanted.url, timeout=60, headers={"X-API-Key": key}) as http:
            assert http.post("/v1/collections/news/documents", json=news).status_code == 200
            found = http.post("/v1/collections/news/search", json={"query": "harbour"}).json()
            assert [h["citation"]["document_id"] for h in found["hits"]] == ["n1"]
            for refused in (
                http.post("/v1/collections/papers/search", json={"query": "harbour"}),
                http.get("/v1/collections/papers/documents/p1"),
                http.post("/v1/collections/papers/documents", json=news),
                http.post("/v1/search", json={"query": "harbour"}),  # the default collection
                http.get("/v1/documents"),
                http.get("/v1/stats"),
                http.get("/v1/collections/unknown/stats"),  # 403 before 404: nothing leaks
                http.post("/v1/collections", json={"name": "mine"}),
                http.delete("/v1/collections/news"),
                http.delete("/v1/collections/papers"),
            ):
                assert_problem(refused, 403, "X-API-Key")
            listed = http.get("/v1/collections").json()["items"]
            assert [c["name"] for c in listed] == ["news"]


def test_a_read_key_of_one_collection_only_reads_it(tenanted: Server) -> None:
    headers = {"Authorization": f"Bearer {NEWS_READER}"}
    with httpx.Client(base_url=tenanted.url, timeout=60, headers=headers) as http:
        assert http.post("/v1/collections/news/search", json={"query": "rain"}).status_code == 200
        support = http.post(
            "/v1/collections/news/passages/support", json={"claim": "The harbour flooded."}
        )
        assert support.status_code == 200
        assert all(p["citation"]["document_id"] != "p1" for p in support.json()["passages"])
        assert http.get("/v1/collections/news").json()["name"] == "news"
        write = {"documents": [{"id": "x", "text": "Not allowed."}]}
        assert_problem(http.post("/v1/collections/news/documents", json=write), 403)
        assert_problem(http.get("/v1/collections/papers"), 403, "Authorization")
        assert_problem(http.post("/v1/passages/support", json={"claim": "Tides."}), 403)


def test_only_a_key_of_every_collection_creates_and_deletes_them(tenanted: Server) -> None:
    with httpx.Client(base_url=tenanted.url, timeout=60, headers={"X-API-Key": ADMIN}) as http:
        assert http.post("/v1/collections", json={"name": "scratch"}).status_code == 201
        assert http.delete("/v1/collections/scratch").status_code == 204
        assert_problem(http.delete("/v1/collections/default"), 409)
        names = [c["name"] for c in http.get("/v1/collections").json()["items"]]
        assert names == ["default", "news", "papers"]
        hits = http.post("/v1/collections/papers/search", json={"query": "harbour"}).json()
        assert {h["citation"]["document_id"] for h in hits["hits"]} == {"p1"}  # no news there
