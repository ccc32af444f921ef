"""Chunking and embedding on a Ray cluster: Ray Data ``map_batches`` over a pool of actors, one
per CPU of the cluster, each loading the ONNX model once and running the same Preparer as the
engine. Results come back to the caller, which writes them through its storage backend.

The vectors equal those made in process: the model runs one text per call, with one thread,
wherever it runs. Every node needs semsearch installed (``pip install 'semsearch[ray]'``); the
model is exported from the packaged weights on a node's first use, as in process.
"""

from __future__ import annotations

import logging
import pickle
import socket
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from index.backends.records import PreparedDocument
from index.embedding import Embedder
from index.engine import EngineConfig
from index.errors import ClusterUnavailableError
from index.model_export import Precision
from index.preparation import ChunkingConfig, Preparer

log = logging.getLogger(__name__)
_ROWS_PER_CALL = 4  # documents per actor call: small, so work spreads evenly over the actors


class _PrepareOnNode:
    """A Ray actor: loads the model once, then chunks and embeds batches of documents."""

    def __init__(
        self, config: ChunkingConfig, precision: Precision, cache_dir: Path | None
    ) -> None:
        # One thread: the actor holds one CPU of its node, and Ray runs one actor per CPU.
        embedder = Embedder(cache_dir=cache_dir, precision=precision, threads=1)
        self._preparer = Preparer(embedder, config)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        documents = [
            PreparedDocument(
                id="", title=title or None, source=None, url=None, published_at=None,
                metadata={}, text=text, content_hash=key,
            )
            for key, title, text in zip(batch["key"], batch["title"], batch["text"], strict=True)
        ]  # fmt: skip
        payloads = [
            pickle.dumps((d.chunks, d.vectors, d.sentence_vectors))
            for d in self._preparer.prepared(documents)
        ]
        return {"key": batch["key"], "payload": np.array(payloads, dtype=object)}


class RayPreparation:
    """Connects to the Ray cluster at ``address`` ("auto": the one this machine belongs to);
    its actors chunk and embed as an engine with ``config`` does."""

    def __init__(self, address: str, config: EngineConfig) -> None:
        try:
            import ray  # an optional extra: semsearch[ray]
            import ray.data
        except ImportError:
            raise ClusterUnavailableError(
                "embedding on Ray needs the ray extra: pip install 'semsearch[ray]'"
            ) from None
        self._ray = ray
        _check_reachable(address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except Exception as error:  # Ray raises ConnectionError, RuntimeError, ValueError...
            raise ClusterUnavailableError(
                f"cannot connect to the Ray cluster at {address}: {error}"
            ) from error
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        # What the actors need to chunk and embed as the engine does (never the whole
        # config: its database URL may hold a password).
        self._arguments = {
            "config": config.chunking,
            "precision": config.model_precision,
            "cache_dir": config.model_cache_dir,
        }
        resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
        self.actors = max(1, int(resources.get("CPU", 1)))
        log.info("embedding on the Ray cluster at %s with %d actors", address, self.actors)

    def prepared(self, documents: Sequence[PreparedDocument]) -> Iterator[PreparedDocument]:
        """Each document with its chunks and vectors (none without a token), by content hash."""
        if not documents:
            return
        ray = self._ray
        by_key = {d.content_hash: d for d in documents}
        items = [{"key": d.content_hash, "title": d.title or "", "text": d.text} for d in documents]
        dataset = ray.data.from_items(items).map_batches(
            _PrepareOnNode,
            fn_constructor_kwargs=self._arguments,
            compute=ray.data.ActorPoolStrategy(size=min(self.actors, len(items))),
            batch_size=_ROWS_PER_CALL,
            num_cpus=1,
        )
        try:
            # Collected here, so that a cluster failing mid-way is reported as such.
            rows: list[dict[str, Any]] = list(dataset.iter_rows())
        except ray.exceptions.RayError as error:
            raise ClusterUnavailableError(f"the Ray cluster failed: {error}") from error
        for row in rows:
            chunks, vectors, sentence_vectors = pickle.loads(row["payload"])
            yield replace(
                by_key[row["key"]],
                chunks=chunks,
                vectors=vectors,
                sentence_vectors=sentence_vectors,
            )

    def close(self) -> None:
        """Disconnect from the cluster (the cluster itself keeps running)."""
        self._ray.shutdown()


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a host:port nothing listens on at once: ray.init would retry it for minutes."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "auto", a ray:// client address, or another form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise ClusterUnavailableError(
            f"cannot connect to the Ray cluster at {address}: {error.strerror or error}"
        ) from error
