"""Ingest on a Ray cluster: a 2-node cluster on loopback (one CPU each, so the two embedding
actors sit on different nodes) chunks and embeds exactly what a local ingest does: the same
chunks and bit-identical vectors, by `semsearch ingest --ray` and by a server's ingest job."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from index.backends.embedded.config import EmbeddedConfig
from index.backends.records import PreparedDocument
from index.embedding import model_dimension
from index.models import DEFAULT_COLLECTION
from index.sources import expand_paths, read_documents
from service.app import create_app
from service.cli import main
from service.settings import Settings
from tests.conftest import SEEDS

pytestmark = pytest.mark.system  # starts a Ray cluster

NODE_IP = "127.0.0.2"  # Ray rewrites 127.0.0.1 to the routed interface; this one it keeps


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A head and a worker node, each with one CPU, stopped by their own handles (never by
    `ray stop`, which would kill every Ray process on the machine)."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a limit
    os.environ["RAY_TMPDIR"] = temp
    from ray.cluster_utils import Cluster

    nodes = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "node_ip_address": NODE_IP, "include_dashboard": False},
    )
    try:
        nodes.add_node(num_cpus=1, node_ip_address=NODE_IP)
        nodes.wait_for_nodes()
        yield nodes
    finally:
        nodes.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed articles, whole and cut in paragraphs, as one .jsonl with one bad line."""
    lines = []
    for document in (d for path in expand_paths([SEEDS]) for d in read_documents(path)):
        paragraphs = [p for p in document.text.split("\n\n") if p.strip()][:2]
        for suffix, text in [("", document.text), *zip("ab", paragraphs, strict=False)]:
            record = {"id": document.id + suffix, "title": document.title, "text": text}
            lines.append(json.dumps(record | {"source": document.source}))
    assert len(lines) >= 10
    lines.insert(5, json.dumps({"id": "blank", "text": "   "}))
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ingest(data_dir: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch, *ray: str) -> int:
    monkeypatch.setenv("SEMSEARCH_DATA_DIR", str(data_dir))
    return main(["ingest", str(corpus), *ray])


def _stored(data_dir: Path) -> list[PreparedDocument]:
    backend = EmbeddedConfig(data_dir, ivf_min_vectors=10**9).open(model_dimension())
    try:
        with backend.exporting([DEFAULT_COLLECTION]) as views:
            return views[DEFAULT_COLLECTION].page(None, 1000)
    finally:
        backend.close()


def _assert_same(ray_made: list[PreparedDocument], local: list[PreparedDocument]) -> None:
    assert [d.id for d in ray_made] == [d.id for d in local] and len(local) >= 10
    for remote, here in zip(ray_made, local, strict=True):
        assert remote.chunks == here.chunks, remote.id
        assert remote.vectors is not None and here.vectors is not None
        assert np.array_equal(remote.vectors, here.vectors), remote.id  # bit for bit
        assert remote.sentence_vectors is not None and here.sentence_vectors is not None
        for a, b in zip(remote.sentence_vectors, here.sentence_vectors, strict=True):
            assert a is not None and b is not None and np.array_equal(a, b), remote.id


def test_a_ray_ingest_on_two_nodes_equals_a_local_one(
    cluster: Any,
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import ray

    assert _ingest(tmp_path / "local", corpus, monkeypatch) == 1  # the blank line: exit 1
    assert _ingest(tmp_path / "ray", corpus, monkeypatch, "--ray", cluster.address) == 1
    assert "on the Ray cluster at" in capsys.readouterr().err
    ray.init(address=cluster.address)
    try:
        alive = [node for node in ray.nodes() if node["Alive"]]
    finally:
        ray.shutdown()
    assert len(alive) == 2 and all(n["Resources"]["CPU"] == 1 for n in alive)
    _assert_same(_stored(tmp_path / "ray"), _stored(tmp_path / "local"))


def test_a_server_with_a_ray_address_runs_its_jobs_there(
    cluster: Any, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _ingest(tmp_path / "local", corpus, monkeypatch) == 1
    settings = Settings(data_dir=tmp_path / "server", seed_dir="", ray_address=cluster.address)
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/ingest-jobs",
            content=corpus.read_bytes(),
            headers={"content-type": "application/x-ndjson"},
        )
        location = response.headers["location"]
        deadline = time.monotonic() + 300
        while (job := client.get(location).json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        metrics = client.get("/metrics").text
    # The server's own model embedded nothing: every chunk was embedded on the cluster.
    assert "\nsemsearch_embedded_texts_total 0.0\n" in metrics
    good = len(corpus.read_text(encoding="utf-8").splitlines()) - 1
    assert (job["status"], job["done"], job["failed"]) == ("succeeded", good, 1)
    assert job["errors"][0]["line"] == 6
    _assert_same(_stored(tmp_path / "server"), _stored(tmp_path / "local"))
