"""index/embedding.py: the packaged model, offline."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

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


def test_embedding_and_tokenizing_from_many_threads_at_once(embedder: Embedder) -> None:
    """Requests embed queries while ingest tokenizes text for chunking, on worker threads; the
    fast tokenizer keeps padding state, so sharing one between the two raced (a 500 in the
    32-client test: "Unable to create tensor ... padding")."""
    texts = [" ".join(["word"] * n) for n in range(1, 40)]
    expected_offsets = embedder.token_offsets(texts)
    expected_vectors = embedder.embed(texts)
    errors: list[BaseException] = []

    def embed() -> None:
        for _ in range(15):
            assert np.allclose(embedder.embed(texts), expected_vectors, atol=1e-5)

    def tokenize() -> None:
        for _ in range(300):
            assert embedder.token_offsets(texts) == expected_offsets

    def guarded(work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as error:  # surfaced below, with its type
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(w,)) for w in [embed, tokenize] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
