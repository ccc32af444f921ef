"""Dense, lexical and hybrid retrieval of chunks, with scores in [0, 1] that mean the same in
every mode so one ``min_score`` threshold works across them.

- dense: cosine similarity of query and chunk embeddings, clipped at 0.
- lexical: BM25 squashed to BM25 / (BM25 + LEXICAL_HALF): 0.5 at BM25 = LEXICAL_HALF.
- hybrid: DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * lexical over the union of both candidate
  lists; a candidate found by one side gets its exact score on the other (its stored vector's
  cosine; 0 lexical when none of the query's words occur in it).

The constants were tuned on the SciFact training split (docs/quality.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.backends.base import SearchView
from index.embedding import Vectors
from index.models import SearchFilters, SearchMode

DENSE_WEIGHT = 0.5
LEXICAL_HALF = 20.0
CANDIDATES = 100  # per side, before fusion


@dataclass(frozen=True)
class FusionParams:
    dense_weight: float = DENSE_WEIGHT
    lexical_half: float = LEXICAL_HALF
    candidates: int = CANDIDATES


def lexical_score(bm25: float, half: float) -> float:
    return bm25 / (bm25 + half) if bm25 > 0 else 0.0


def retrieve(
    view: SearchView,
    query: str,
    query_vector: Callable[[], Vectors],
    k: int,
    filters: SearchFilters,
    mode: SearchMode,
    params: FusionParams = FusionParams(),
) -> list[tuple[int, float]]:
    """The k best chunks as (chunk id, score in [0, 1]), best first.

    ``filters`` restrict every side before ranking. ``query_vector`` is called only once the
    BM25 half is done (the caller may still be embedding the query meanwhile) and never in
    lexical mode.
    """
    if mode is SearchMode.DENSE:
        hits = view.dense(query_vector(), k, filters)
        # float32 cosines of a text with itself can exceed 1 by an ulp: clip both ends
        return [(i, min(max(s, 0.0), 1.0)) for i, s in hits]
    depth = max(k, params.candidates)
    lexical = view.lexical(query, depth, filters)
    if mode is SearchMode.LEXICAL:
        return [(i, lexical_score(s, params.lexical_half)) for i, s in lexical[:k]]
    vector = query_vector()
    dense = dict(view.dense(vector, depth, filters))
    bm25 = dict(lexical)
    missing = [i for i in bm25 if i not in dense]
    dense.update(zip(missing, view.cosines(vector, missing), strict=True))
    weight = params.dense_weight
    fused = {
        chunk_id: weight * max(cosine, 0.0)
        + (1 - weight) * lexical_score(bm25.get(chunk_id, 0.0), params.lexical_half)
        for chunk_id, cosine in dense.items()
    }
    ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return [(chunk_id, float(np.clip(score, 0.0, 1.0))) for chunk_id, score in ranked[:k]]
