"""Shared fixtures: the real packaged model, engines on tmp dirs, a live uvicorn server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx
import pytest

from index.backends import backend_config
from index.embedding import Embedder
from index.engine import EngineConfig, SearchEngine
from tests.postgres import Postgres, start_postgres

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(params=["embedded", pytest.param("postgres", marks=pytest.mark.system)])
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Which store engines use: every engine test runs on both (the PostgreSQL runs start a
    server, so they belong to the system tier). A test of one backend's own machinery
    overrides it: ``@pytest.mark.parametrize("backend_kind", ["embedded"])``."""
    return str(request.param)


@pytest.fixture
def database_url(backend_kind: str, request: pytest.FixtureRequest) -> str | None:
    """A fresh, migrated database for this test on PostgreSQL; None on the embedded store."""
    if backend_kind != "postgres":
        return None
    server: Postgres = request.getfixturevalue("postgres")
    return server.fresh_database()


@pytest.fixture
def make_engine(
    tmp_path: Path, embedder: Embedder, database_url: str | None
) -> Iterator[Callable[..., SearchEngine]]:
    """Open engines on one store (reopening simulates a restart); closes them all."""
    opened: list[SearchEngine] = []

    def make(**overrides: Any) -> SearchEngine:
        """An engine on this test's store; ``overrides`` set fields of the engine's config and
        of the backend's (each kind of backend takes its own)."""
        own = {f.name for f in fields(EngineConfig)}
        storage = backend_config(
            database_url or tmp_path / "data",
            **{name: value for name, value in overrides.items() if name not in own},
        )
        config = EngineConfig(
            storage=storage, **{name: value for name, value in overrides.items() if name in own}
        )
        engine = SearchEngine(config, embedder)
        opened.append(engine)
        return engine

    yield make
    for engine in opened:
        engine.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    """An RFC 9457 problem with this status, no traceback, naming `field` if given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body


def store_snapshot(http: httpx.Client) -> dict[str, Any]:
    """Everything a write could change: counts, the listing, and every document's text."""
    listing = http.get("/v1/documents", params={"limit": 500}).json()
    texts = {d["id"]: http.get(f"/v1/documents/{d['id']}").json() for d in listing["items"]}
    return {"stats": http.get("/v1/stats").json(), "listing": listing, "documents": texts}


def assert_consistent(data_dir: Path, database_url: str | None = None) -> None:
    """`semsearch check` on a data dir no server holds (or on the database, when given):
    documents, chunks, vectors and the lexical index agree."""
    env = {**os.environ, "SEMSEARCH_DATA_DIR": str(data_dir), "SEMSEARCH_LOG_LEVEL": "warning"}
    if database_url is not None:
        env["SEMSEARCH_DATABASE_URL"] = database_url
    check = subprocess.run(
        [sys.executable, "-m", "service.cli", "check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr


@dataclass
class Server:
    """A `semsearch serve` subprocess on a loopback port."""

    data_dir: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)  # extra SEMSEARCH_* settings
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        env = {
            **os.environ,
            "SEMSEARCH_DATA_DIR": str(self.data_dir),
            # beside the data directory, never in the checkout the tests run from
            "SEMSEARCH_SNAPSHOT_DIR": str(self.data_dir.parent / f"snapshots-{self.port}"),
            "SEMSEARCH_PORT": str(self.port),
            "SEMSEARCH_SEED_DIR": str(SEEDS),
            "SEMSEARCH_LOG_LEVEL": "warning",
            **self.env,
        }
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@contextmanager
def running_server(data_dir: Path, env: dict[str, str]) -> Iterator[Server]:
    """A live server with extra SEMSEARCH_* settings, stopped however the test ends."""
    server = Server(data_dir=data_dir, port=free_port(), env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A live server over the seed corpus, shared by a test module."""
    srv = Server(data_dir=tmp_path_factory.mktemp("srv") / "data", port=free_port())
    srv.start()
    yield srv
    srv.stop()


def start_replicas(
    root: Path, database_url: str | None, env: dict[str, str] | None = None
) -> list[Server]:
    """One server on its own data dir, or two replicas sharing the database at
    ``database_url``: what a load balancer would spread clients over."""
    count = 1 if database_url is None else 2
    shared = {**(env or {}), **({"SEMSEARCH_DATABASE_URL": database_url} if database_url else {})}
    servers = [
        Server(data_dir=root / f"replica{n}" / "data", port=free_port(), env=shared)
        for n in range(count)
    ]
    try:
        for server in servers:
            server.data_dir.parent.mkdir(parents=True, exist_ok=True)
            server.start()
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A fresh PostgreSQL with pgvector for a test module (tests/postgres.py), stopped after."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


def run_cli(
    data_dir: Path, *args: str, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`semsearch ARGS` as its own process on ``data_dir`` (SEMSEARCH_* ``settings`` added)."""
    env = {
        **os.environ,
        "SEMSEARCH_DATA_DIR": str(data_dir),
        "SEMSEARCH_LOG_LEVEL": "warning",
        **(settings or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
