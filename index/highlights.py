"""Highlights: the sentences of each search hit that best match the query.

Every chunk's sentences were embedded at ingest (from the chunk's own model pass, as support
reads them), so a highlight costs one matrix product per search: the query's vector against the
hits' stored sentence vectors. A sentence scores its cosine with the query, clipped to [0, 1],
plus a share of the query's words in it (BM25 among its own hit's sentences, so a hit's
highlights never depend on which other hits came back); the mix was chosen on half of
SciFact's training claims (docs/search.md#highlights).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from index import words
from index.embedding import Vectors
from index.models import ChunkHit, Highlight

# Weight of the query's words in a sentence (BM25 squashed to s / (s + OVERLAP_HALF)) beside
# its cosine; 0 ranks by meaning alone.
OVERLAP_WEIGHT = 0.6
OVERLAP_HALF = 5.0
# BM25 of the query's words among the sentences: in Python on whole words, a third the cost
# of FTS5's stemmed BM25 (words.bm25_among) on every search.
WORD_SCORES = words.bm25_plain


def highlights(
    hits: Sequence[ChunkHit],
    query: str,
    query_vector: Vectors,
    count: int,
    embed: Callable[[list[str]], Vectors],
) -> list[tuple[Highlight, ...]]:
    """The ``count`` best sentences of each hit, best first, with document offsets.

    A hit's sentences come from its chunk (clipped to it where a long sentence was split);
    stores written before sentence vectors were kept have their sentences embedded here, with
    ``embed``.
    """
    if count < 1 or not hits:
        return [() for _ in hits]
    spans = [_spans(hit) for hit in hits]
    texts = [
        hit.text[a - hit.char_start : b - hit.char_start]
        for hit, hit_spans in zip(hits, spans, strict=True)
        for a, b in hit_spans
    ]
    if not texts:
        return [() for _ in hits]
    vectors = np.vstack([_vectors(hit, s, embed) for hit, s in zip(hits, spans, strict=True)])
    scores = np.clip(vectors @ query_vector, 0.0, 1.0)
    if OVERLAP_WEIGHT:
        bm25: list[float] = []
        row = 0
        for hit_spans in spans:  # each hit's own sentences are its statistics
            bm25 += WORD_SCORES(query, texts[row : row + len(hit_spans)])
            row += len(hit_spans)
        overlap = np.array([b / (b + OVERLAP_HALF) for b in bm25])
        scores = (scores + OVERLAP_WEIGHT * overlap) / (1.0 + OVERLAP_WEIGHT)
    out: list[tuple[Highlight, ...]] = []
    row = 0
    for hit_spans in spans:
        own = scores[row : row + len(hit_spans)]
        best = sorted(range(len(hit_spans)), key=lambda i: (-own[i], i))[:count]
        out.append(
            tuple(
                Highlight(
                    text=texts[row + i],
                    char_start=hit_spans[i][0],
                    char_end=hit_spans[i][1],
                    score=float(own[i]),
                )
                for i in best
            )
        )
        row += len(hit_spans)
    return out


def _spans(hit: ChunkHit) -> list[tuple[int, int]]:
    """The hit's sentence spans inside its chunk, in document offsets; the whole chunk when it
    has none recorded."""
    if not hit.sentences:
        return [(hit.char_start, hit.char_end)]
    return [
        (max(a, hit.char_start), min(b, hit.char_end))
        for a, b in hit.sentences
        if min(b, hit.char_end) > max(a, hit.char_start)
    ]


def _vectors(
    hit: ChunkHit, spans: list[tuple[int, int]], embed: Callable[[list[str]], Vectors]
) -> Vectors:
    stored = hit.sentence_vectors
    if stored is not None and hit.sentences and len(spans) == len(hit.sentences):
        rows = np.frombuffer(stored, dtype=np.float16).reshape(len(spans), -1)
        return rows.astype(np.float32)
    return embed([hit.text[a - hit.char_start : b - hit.char_start] for a, b in spans])
