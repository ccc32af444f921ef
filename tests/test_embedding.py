"""index/embedding.py: the packaged model, offline."""

from __future__ import annotations

import os

import numpy as np

from index.embedding import Embedder


def test_model_loads_offline_and_embeds_unit_vectors(embedder: Embedder) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    vectors = embedder.embed(["a suicide bombing in Islamabad", "a new phone launch"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.max_tokens == 254


def test_similar_texts_are_closer_than_unrelated_ones(embedder: Embedder) -> None:
    query, near, far = embedder.embed(
        ["bomb attack near a court", "an explosion outside the courthouse", "chocolate cake recipe"]
    )
    assert float(query @ near) > float(query @ far) + 0.2


def test_empty_batch(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, 384)
