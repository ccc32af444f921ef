"""index/backends/embedded/vectors.py: a real FAISS index and its atomic file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.backends.embedded.vectors import VectorIndex


def _unit(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, 16)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_search_remove_and_restricted_search() -> None:
    vectors = _unit(50)
    index = VectorIndex(16)
    index.add(list(range(100, 150)), vectors)
    top = index.search(vectors[7], 3)
    assert top[0][0] == 107 and abs(top[0][1] - 1.0) < 1e-5
    index.remove([107])
    assert 107 not in [i for i, _ in index.search(vectors[7], 50)]
    assert len(index) == 49
    allowed = [120, 121, 122, 130]
    restricted = index.search(vectors[7], 4, allowed)
    assert sorted(i for i, _ in restricted) == allowed
    assert index.search(vectors[7], 4, []) == []


def test_save_load_roundtrip_and_damage_detection(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    assert VectorIndex.load(path, 16) is None
    index = VectorIndex(16)
    index.add([1, 2, 3], _unit(3))
    index.save(path, generation=42)
    assert not (tmp_path / "v.faiss.tmp").exists()
    loaded = VectorIndex.load(path, 16)
    assert loaded is not None
    restored, generation = loaded
    assert generation == 42 and len(restored) == 3
    assert VectorIndex.load(path, 32) is None  # wrong dimension
    path.write_bytes(path.read_bytes()[:40])  # truncated
    assert VectorIndex.load(path, 16) is None
    path.write_bytes(b"garbage" * 10)
    assert VectorIndex.load(path, 16) is None


def _ivf(vectors: np.ndarray, ids: list[int]) -> VectorIndex:
    index = VectorIndex.clustered(16, vectors)
    index.add(ids, vectors)
    return index


def test_ivf_index_searches_removes_and_restricts_like_the_exact_one() -> None:
    vectors = _unit(400)
    ids = list(range(1000, 1400))
    index = _ivf(vectors, ids)
    assert index.index_type.startswith("ivf") and not index.is_exact
    assert index.ids() == set(ids) and len(index) == 400
    top = index.search(vectors[7], 3)
    assert top[0][0] == 1007 and abs(top[0][1] - 1.0) < 1e-5
    index.remove([1007, 1008])
    assert index.ids() == set(ids) - {1007, 1008}
    assert {1007, 1008}.isdisjoint(i for i, _ in index.search(vectors[7], 400))
    # A filter's chunks are ranked exactly, wherever their lists lie; a removed one is skipped.
    allowed = [1020, 1150, 1390, 1008]
    restricted = [i for i, _ in index.search(vectors[150], 4, allowed)]
    assert restricted[0] == 1150 and sorted(restricted) == [1020, 1150, 1390]
    assert np.allclose(
        index.cosines(vectors[150], [1020]), [float(vectors[20] @ vectors[150])], atol=1e-5
    )


def test_ivf_index_survives_save_and_load(tmp_path: Path) -> None:
    vectors = _unit(200, seed=3)
    index = _ivf(vectors, list(range(1, 201)))
    index.remove([5])
    index.save(tmp_path / "v.faiss", generation=7)
    loaded = VectorIndex.load(tmp_path / "v.faiss", 16)
    assert loaded is not None and loaded[1] == 7
    restored = loaded[0]
    assert restored.index_type == index.index_type and restored.ids() == index.ids()
    assert restored.search(vectors[9], 5) == index.search(vectors[9], 5)
