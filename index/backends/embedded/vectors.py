"""The FAISS index: a derived, rebuildable cache of the chunk vectors kept in SQLite.

Inner-product search over unit vectors (= cosine similarity), keyed by chunk id: exact up to
IVF_MIN_VECTORS, then an inverted-file index (IVF, clustered; searches the NPROBE lists nearest
the query), which bench/scale.py measures at 1M chunks against exact search. The file holds the
store generation it reflects, so a stale, missing or damaged file is detected on load (and the
backend brings a stale one up to date from the store).
"""

from __future__ import annotations

import logging
import math
import os
import struct
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

from index.durable import fsync_directory
from index.embedding import Vectors

log = logging.getLogger(__name__)

# Searches run one query at a time, where FAISS's OpenMP threads add nothing, and their
# busy-waiting after each search takes the cores from the model: dense search p50 went from
# 16.5 ms to 7.7 ms with one thread (1,000 SciFact abstracts, 2 cores). OpenMP keeps the
# setting per thread, and searches run on the server's worker threads, so each search sets
# it on its own thread (the main thread's setting alone left a search over HTTP burning 8.1 ms
# of CPU for 3.6 ms of work: one OpenMP thread spinning after each search).
faiss.omp_set_num_threads(1)


def _one_thread() -> None:
    faiss.omp_set_num_threads(1)  # on the calling thread; about a microsecond


# Above this many vectors an exact search costs more than the latency target (bench/scale.py):
# the index is rebuilt as IVF, with about sqrt(n) lists of which NPROBE are searched.
IVF_MIN_VECTORS = 100_000
NPROBE = 32
_TRAINING_PER_LIST = 40  # k-means sample: FAISS wants at least 39 points per list
# Filtered searches over at most this many chunks are exact even in an IVF index: a narrow
# filter's chunks may lie outside the lists probed, and k must come back whenever k exist.
_EXACT_FILTER_MAX = 20_000

_MAGIC = b"SEMSFAI1"
_HEADER = struct.Struct("<8sQ")  # magic, store generation


class VectorIndex:
    """Chunk-id-keyed cosine search: exact (IndexIDMap2 over IndexFlatIP) or IVF (IndexIVFFlat
    with a hash table from chunk id to vector, for reconstruct and remove)."""

    def __init__(self, dimension: int, index: faiss.Index | None = None) -> None:
        self.dimension = dimension
        self._index = (
            index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        )
        self._ivf = faiss.try_extract_index_ivf(self._index)
        if self._ivf is not None:
            self._ivf.nprobe = NPROBE

    @classmethod
    def clustered(cls, dimension: int, training: Vectors) -> VectorIndex:
        """An empty IVF index with about sqrt(n) lists trained on a sample of n vectors
        (``training_size`` tells how many to pass)."""
        lists = max(1, len(training) // _TRAINING_PER_LIST)
        index = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT
        )
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # k-means is batch work: use every core
        try:
            index.train(np.ascontiguousarray(training, dtype=np.float32))
        finally:
            faiss.omp_set_num_threads(threads)
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        return cls(dimension, index)

    @property
    def index_type(self) -> str:
        return "flat-ip" if self._ivf is None else f"ivf{self._ivf.nlist}-ip"

    @property
    def is_exact(self) -> bool:
        return self._ivf is None

    @property
    def trained_for(self) -> int:
        """About how many vectors an IVF index's lists suit (``training_size`` inverted; 0 for
        an exact index)."""
        lists = 0 if self._ivf is None else int(self._ivf.nlist)
        return max(lists**2, _TRAINING_PER_LIST * lists)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> set[int]:
        """Every chunk id in the index (for consistency checks)."""
        return {int(i) for i in self.id_array()}

    def id_array(self) -> np.ndarray:
        """Every chunk id in the index, as an int64 array (unordered)."""
        if self._ivf is None:
            id_map = self._index.id_map  # type: ignore[attr-defined]  # IndexIDMap2 has it
            return faiss.vector_to_array(id_map).astype(np.int64, copy=False)
        lists = self._ivf.invlists
        assert lists is not None
        parts = [np.zeros(0, dtype=np.int64)]
        for number in range(self._ivf.nlist):
            size = lists.list_size(number)
            if size:
                parts.append(np.array(faiss.rev_swig_ptr(lists.get_ids(number), size)))
        return np.concatenate(parts).astype(np.int64, copy=False)

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
        allowed chunks exist (in an IVF index, exactly so for up to _EXACT_FILTER_MAX of them).
        """
        _one_thread()
        if allowed_ids is not None:
            if not allowed_ids:
                return []
            if self._ivf is not None and len(allowed_ids) <= _EXACT_FILTER_MAX:
                return self._exact_among(query, k, allowed_ids)
            selector = faiss.IDSelectorBatch(np.asarray(allowed_ids, dtype=np.int64))
            params = (
                faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
                if self._ivf is None
                else faiss.SearchParametersIVF(sel=selector, nprobe=NPROBE)  # type: ignore[call-arg]
            )
            scores, ids = self._index.search(query.reshape(1, -1), k, params=params)
        else:
            scores, ids = self._index.search(query.reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _exact_among(self, query: Vectors, k: int, ids: Sequence[int]) -> list[tuple[int, float]]:
        found: list[int] = []
        rows: list[Vectors] = []
        for chunk_id in ids:
            try:
                rows.append(np.asarray(self._index.reconstruct(int(chunk_id)), dtype=np.float32))
            except RuntimeError:  # deleted since the filter was read
                continue
            found.append(int(chunk_id))
        if not found:
            return []
        scores = np.vstack(rows) @ query.reshape(-1)
        best = np.argsort(-scores, kind="stable")[:k]
        return [(found[i], float(scores[i])) for i in best]

    def cosines(self, query: Vectors, ids: Sequence[int]) -> list[float]:
        """Exact cosine of the query with each given chunk's stored vector."""
        if not len(ids):
            return []
        return [float(x) for x in self.vectors(ids) @ query.reshape(-1)]

    def vectors(self, ids: Sequence[int]) -> Vectors:
        """The given chunks' vectors, one row per id, in order."""
        if not len(ids):
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def save(self, path: Path, generation: int) -> None:
        """Write atomically: a temporary file, fsync, rename; a crash leaves the old file."""
        publish(self.stage(path, generation), path)

    def stage(self, path: Path, generation: int) -> Path:
        """Write the index, headed by ``generation``, to ``path``'s temporary file (streamed:
        no copy of the index in memory) and return that file; ``publish`` puts it in place.
        Reads the index as a search does: hold the lock that keeps writes out."""
        temporary = temporary_path(path)
        try:
            with open(temporary, "wb") as handle:
                handle.write(_HEADER.pack(_MAGIC, generation))
                faiss.write_index(self._index, faiss.PyCallbackIOWriter(handle.write))  # type: ignore[attr-defined]
        except (OSError, RuntimeError) as error:
            temporary.unlink(missing_ok=True)  # don't leave a partial file on a full disk
            raise OSError(f"could not write {temporary}: {error}") from error
        return temporary

    @classmethod
    def load(cls, path: Path, dimension: int) -> tuple[VectorIndex, int] | None:
        """The saved index and its generation, or None if missing, damaged or the wrong shape."""
        try:
            handle = open(path, "rb")  # noqa: SIM115 (closed below, on every path)
        except FileNotFoundError:
            return None
        with handle:
            try:
                magic, generation = _HEADER.unpack(handle.read(_HEADER.size))
                if magic != _MAGIC:
                    raise ValueError("not a semsearch vector index file")
                index = faiss.read_index(faiss.PyCallbackIOReader(handle.read))  # type: ignore[attr-defined]
                if index.d != dimension:
                    raise ValueError(f"dimension {index.d}, expected {dimension}")
            except (ValueError, RuntimeError, struct.error) as error:
                log.warning("vector index %s is unusable (%s); it will be rebuilt", path, error)
                return None
        return cls(dimension, index), int(generation)


def publish(staged: Path, path: Path) -> None:
    """Make a staged file durable and move it to ``path`` (atomic: a crash leaves the old one
    or the new one)."""
    try:
        with open(staged, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(staged, path)
    except OSError:
        staged.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def training_size(count: int) -> int:
    """How many vectors to train an IVF index for ``count`` vectors on: _TRAINING_PER_LIST per
    list, with about sqrt(count) lists."""
    return min(count, _TRAINING_PER_LIST * max(1, math.isqrt(count)))


def temporary_path(path: Path) -> Path:
    """Where ``save`` writes before its rename; a file left here was cut off by a crash."""
    return path.with_name(path.name + ".tmp")
