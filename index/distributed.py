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
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.embedding import Embedder
from index.model_export import Precision
from index.preparation import ChunkingConfig, Preparer
from index.store import PreparedDocument

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
    """Connects to the Ray cluster at ``address`` ("auto": the one this machine belongs to)."""

    def __init__(
        self,
        address: str,
        config: ChunkingConfig,
        precision: Precision = Precision.INT8,
        cache_dir: Path | None = None,
    ) -> None:
        import ray  # an optional extra: semsearch[ray]
        import ray.data

        self._ray = ray
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        self._arguments = {"config": config, "precision": precision, "cache_dir": cache_dir}
        resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
        self.actors = max(1, int(resources.get("CPU", 1)))
        log.info("embedding on the Ray cluster at %s with %d actors", address, self.actors)

    def prepared(self, documents: Sequence[PreparedDocument]) -> Iterator[PreparedDocument]:
        """Each document with its chunks and vectors (none without a token), by content hash."""
        if not documents:
            return
        ray = self._ray
        by_key = {d.content_hash: d for d in documents}
        rows = [{"key": d.content_hash, "title": d.title or "", "text": d.text} for d in documents]
        dataset = ray.data.from_items(rows).map_batches(
            _PrepareOnNode,
            fn_constructor_kwargs=self._arguments,
            compute=ray.data.ActorPoolStrategy(size=min(self.actors, len(rows))),
            batch_size=_ROWS_PER_CALL,
            num_cpus=1,
        )
        for row in dataset.iter_rows():
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


def ray_available() -> bool:
    """Whether the optional Ray extra is installed."""
    try:
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True
