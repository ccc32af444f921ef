"""Diversity: maximal marginal relevance (Carbonell and Goldstein, 1998) over the candidates'
stored vectors, so near-identical passages do not crowd out the rest of a result list.

Each next pick maximises ``(1 - diversity) * relevance - diversity * similarity``, where
similarity is the candidate's highest cosine with a passage already picked. ``diversity`` 0 is
relevance order; 1 picks the most relevant passage, then always the one least like those
picked.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from index.embedding import Vectors


def mmr_picks(relevance: Sequence[float], vectors: Vectors, diversity: float) -> Iterator[int]:
    """Positions of the candidates in the order MMR picks them, lazily (a caller wanting k
    stops after k).

    ``relevance`` comes best first, one score per row of ``vectors``; ties keep that order.
    """
    count = len(relevance)
    if diversity <= 0.0 or count < 2:
        yield from range(count)
        return
    gain = (1.0 - diversity) * np.asarray(relevance, dtype=np.float64)
    closest = np.full(count, -1.0)  # highest cosine with any pick so far
    picked = np.zeros(count, dtype=bool)
    value = gain.copy()  # nothing picked yet: relevance alone
    for _ in range(count):
        best = int(np.argmax(value))  # the first of equals: the more relevant
        yield best
        picked[best] = True
        closest = np.maximum(closest, vectors @ vectors[best])
        value = np.where(picked, -np.inf, gain - diversity * closest)
