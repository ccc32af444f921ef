"""A search's result list as a reader sees it: retrieved chunks reordered for diversity,
grouped by document, given highlights, and counted in the caller's offsets.

Choosing happens inside the search's snapshot on ids and scores alone (plus each candidate's
document, or vector, when grouping or diversity needs them): only the chosen hits are read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice

from index import offsets
from index.backends.base import SearchView
from index.diversity import mmr_picks
from index.embedding import Vectors
from index.grouping import grouped
from index.highlights import highlights
from index.models import ChunkHit, Highlight, OffsetEncoding, SearchHit, cite
from index.queries import SearchQuery
from index.retrieval import CANDIDATES

# Candidates reordered by diversity: this many per hit asked for, at least CANDIDATES.
DIVERSITY_POOL = 5
# Chunks read to fill k documents: this many per passage asked for at first, four times more
# while documents are missing, at most MAX_GROUP_DEPTH.
GROUP_POOL = 10
MAX_GROUP_DEPTH = 10_000


def first_depth(query: SearchQuery) -> int:
    """How many chunks to retrieve for ``query`` at first."""
    depth = query.k
    if query.group_by:
        depth = max(CANDIDATES, query.k * query.group_size * GROUP_POOL)
    if query.diversity > 0:
        depth = max(depth, CANDIDATES, query.k * DIVERSITY_POOL)
    return min(depth, MAX_GROUP_DEPTH)


def deeper(
    query: SearchQuery,
    depth: int,
    retrieved: Sequence[tuple[int, float]],
    hits: Sequence[SearchHit],
) -> int | None:
    """A larger depth when a grouped search found fewer than k documents while more chunks
    could still hold some (as many as asked came back, the last still reaching min_score);
    None when the hits are final."""
    if not query.group_by or depth >= MAX_GROUP_DEPTH or len(retrieved) < depth:
        return None
    if retrieved[-1][1] < query.min_score:
        return None
    documents = {hit.citation.document_id for hit in hits}
    return min(depth * 4, MAX_GROUP_DEPTH) if len(documents) < query.k else None


def chosen(
    view: SearchView, ranked: Sequence[tuple[int, float]], query: SearchQuery
) -> list[tuple[ChunkHit, float]]:
    """The hits to return from the retrieved (chunk id, score) pairs, best first: those
    reaching ``min_score``, in diversity order, grouped (a document's hits together, best
    document first) and cut to k (documents, when grouped); read from ``view``."""
    kept = [(chunk_id, score) for chunk_id, score in ranked if score >= query.min_score]
    order: Iterable[int] = range(len(kept))
    if query.diversity > 0 and kept:
        vectors = view.vectors([chunk_id for chunk_id, _ in kept])
        order = mmr_picks([score for _, score in kept], vectors, query.diversity)
    if query.group_by:
        owners = view.owners([chunk_id for chunk_id, _ in kept])
        picks = [
            member
            for group in grouped(
                ((owners[kept[n][0]], kept[n]) for n in order), query.k, query.group_size
            )
            for member in group
        ]
    else:
        picks = [kept[n] for n in islice(order, query.k)]
    rows = view.hits(
        [chunk_id for chunk_id, _ in picks],
        prefixes=query.offset_encoding is not OffsetEncoding.UTF32,
        sentences=query.highlights > 0,
    )
    return [(rows[chunk_id], score) for chunk_id, score in picks]


def finished(
    picks: Sequence[tuple[ChunkHit, float]],
    query: SearchQuery,
    query_vector: Vectors,
    embed: Callable[[list[str]], Vectors],
) -> list[SearchHit]:
    """The chosen rows as hits: citations, highlights, offsets in the query's encoding."""
    rows = [row for row, _ in picks]
    marked = highlights(rows, query.text, query_vector, query.highlights, embed)
    return [
        _hit(row, score, marks, query.offset_encoding)
        for (row, score), marks in zip(picks, marked, strict=True)
    ]


def _hit(
    row: ChunkHit, score: float, marks: tuple[Highlight, ...], encoding: OffsetEncoding
) -> SearchHit:
    hit = SearchHit(
        chunk_id=row.chunk_id,
        text=row.text,
        score=score,
        citation=cite(row, row.chunk_index, row.char_start, row.char_end),
        highlights=marks,
    )
    if row.prefix is None:
        return hit
    return offsets.hit_in(hit, row.prefix, encoding)
