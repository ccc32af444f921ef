"""The FAISS index: a derived, rebuildable cache of the chunk vectors kept in SQLite.

Exact inner-product search over unit vectors (= cosine similarity), keyed by chunk id. The file
holds the store generation it reflects, so a stale, missing or damaged file is detected on load.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

from index.embedding import Vectors

log = logging.getLogger(__name__)

# Searches run one query at a time, where FAISS's OpenMP threads add nothing, and their
# busy-waiting after each search takes the cores from the model: dense search p50 went from
# 16.5 ms to 7.7 ms with one thread (1,000 SciFact abstracts, 2 cores).
faiss.omp_set_num_threads(1)

_MAGIC = b"SEMSFAI1"
_HEADER = struct.Struct("<8sQ")  # magic, store generation


class VectorIndex:
    """Chunk-id-keyed exact cosine search (FAISS IndexIDMap2 over IndexFlatIP)."""

    index_type = "flat-ip"

    def __init__(self, dimension: int, index: faiss.Index | None = None) -> None:
        self.dimension = dimension
        self._index = (
            index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        )

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> set[int]:
        """Every chunk id in the index (for consistency checks)."""
        id_map = self._index.id_map  # type: ignore[attr-defined]  # IndexIDMap2 has it
        return {int(i) for i in faiss.vector_to_array(id_map)}

    def add(self, ids: Sequence[int], vectors: Vectors) -> None:
        if len(ids):
            self._index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: Sequence[int]) -> None:
        if len(ids):
            # faiss's stubs miss its Python wrapper, which accepts an id array here.
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def search(
        self, query: Vectors, k: int, allowed_ids: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """The k nearest chunks as (chunk id, cosine); only ``allowed_ids`` when given.

        The restriction is applied inside the search, so k results come back whenever k
        allowed chunks exist.
        """
        if allowed_ids is not None:
            if not allowed_ids:
                return []
            selector = faiss.IDSelectorBatch(np.asarray(allowed_ids, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            scores, ids = self._index.search(query.reshape(1, -1), k, params=params)
        else:
            scores, ids = self._index.search(query.reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def cosines(self, query: Vectors, ids: Sequence[int]) -> list[float]:
        """Exact cosine of the query with each given chunk's stored vector."""
        if not len(ids):
            return []
        vectors = np.vstack([self._index.reconstruct(int(i)) for i in ids])
        return [float(x) for x in vectors @ query.reshape(-1)]

    def save(self, path: Path, generation: int) -> None:
        """Write atomically: a temporary file, fsync, rename; a crash leaves the old file."""
        data = faiss.serialize_index(self._index).tobytes()
        temporary = temporary_path(path)
        try:
            with open(temporary, "wb") as handle:
                handle.write(_HEADER.pack(_MAGIC, generation))
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except OSError:
            temporary.unlink(missing_ok=True)  # don't leave a partial file on a full disk
            raise
        _fsync_directory(path.parent)

    @classmethod
    def load(cls, path: Path, dimension: int) -> tuple[VectorIndex, int] | None:
        """The saved index and its generation, or None if missing, damaged or the wrong shape."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            magic, generation = _HEADER.unpack_from(raw)
            if magic != _MAGIC:
                raise ValueError("not a semsearch vector index file")
            index = faiss.deserialize_index(np.frombuffer(raw, dtype=np.uint8, offset=_HEADER.size))
            if index.d != dimension:
                raise ValueError(f"dimension {index.d}, expected {dimension}")
        except (ValueError, RuntimeError, struct.error) as error:
            log.warning("vector index %s is unusable (%s); it will be rebuilt", path, error)
            return None
        return cls(dimension, index), int(generation)


def temporary_path(path: Path) -> Path:
    """Where ``save`` writes before its rename; a file left here was cut off by a crash."""
    return path.with_name(path.name + ".tmp")


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
