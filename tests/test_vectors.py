"""index/vectors.py: a real FAISS index and its atomic file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.vectors import VectorIndex


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
