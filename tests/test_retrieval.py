"""index/retrieval.py through the engine: modes, scores in [0, 1], filters before ranking."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from index.engine import SearchEngine
from index.models import DocumentInput, SearchFilters
from index.queries import SearchQuery, SupportQuery
from index.retrieval import SearchMode, lexical_score
from index.sources import expand_paths, read_documents

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
MakeEngine = Callable[..., SearchEngine]


@pytest.fixture
def seeded(make_engine: MakeEngine) -> SearchEngine:
    engine = make_engine()
    engine.upsert([d for path in expand_paths([SEEDS]) for d in read_documents(path)])
    return engine


@pytest.mark.parametrize("mode", list(SearchMode))
def test_every_mode_ranks_the_bombing_article_first_with_bounded_scores(
    seeded: SearchEngine, mode: SearchMode
) -> None:
    hits = seeded.search(SearchQuery("suicide bombing Islamabad district courts", 10, mode=mode))
    assert hits[0].citation.document_id == "003_997123c907f1ca25"
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_lexical_finds_a_rare_exact_term_dense_may_miss(seeded: SearchEngine) -> None:
    hits = seeded.search(SearchQuery("Gwadar", 3, mode=SearchMode.LEXICAL))
    assert hits and "Gwadar" in hits[0].text
    hybrid = seeded.search(SearchQuery("Gwadar", 3, mode=SearchMode.HYBRID))
    assert "Gwadar" in hybrid[0].text


@pytest.mark.parametrize("mode", list(SearchMode))
def test_filters_apply_before_ranking_in_every_mode(seeded: SearchEngine, mode: SearchMode) -> None:
    only = SearchFilters(document_ids=["000_3c7ebb3e2dcb0c6d"])
    hits = seeded.search(SearchQuery("counter-terrorism cooperation", 3, only, mode=mode))
    assert len(hits) == 3
    assert {h.citation.document_id for h in hits} == {"000_3c7ebb3e2dcb0c6d"}


def test_min_score_drops_weak_hits_in_every_mode(seeded: SearchEngine) -> None:
    for mode in SearchMode:
        all_hits = seeded.search(SearchQuery("Islamabad blast", 20, mode=mode))
        cut = all_hits[len(all_hits) // 2].score
        kept = seeded.search(SearchQuery("Islamabad blast", 20, mode=mode, min_score=cut))
        assert kept and all(h.score >= cut for h in kept)
        assert len(kept) < len(all_hits)


def test_hybrid_uses_both_sides(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.upsert(
        [
            DocumentInput(id="exact", text="The XJ-9 reactor failed its safety audit."),
            DocumentInput(id="semantic", text="A nuclear plant did not pass an inspection."),
            DocumentInput(id="noise", text="Tomatoes grow well in warm weather."),
        ]
    )
    hybrid = [
        h.citation.document_id for h in engine.search(SearchQuery("XJ-9 inspection failure", 3))
    ]
    assert hybrid[-1] == "noise"
    assert set(hybrid[:2]) == {"exact", "semantic"}


def test_lexical_score_is_monotone_and_bounded() -> None:
    values = [lexical_score(x, 10.0) for x in (0.0, 1.0, 10.0, 100.0, 1e9)]
    assert values[0] == 0.0 and values[2] == pytest.approx(0.5)
    assert values == sorted(values) and values[-1] < 1.0


@pytest.mark.parametrize("text", ["a", "x", "?", "!!", "Ships dock at the harbour."])
@pytest.mark.parametrize("mode", list(SearchMode))
def test_a_query_equal_to_a_chunk_scores_at_most_one(
    make_engine: MakeEngine, text: str, mode: SearchMode
) -> None:
    # Found by schemathesis: float32 cosine of a text with itself was 1.0000001.
    engine = make_engine()
    engine.upsert([DocumentInput(id="same", text=text)])
    hits = engine.search(SearchQuery(text, 1, mode=mode))
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    result = engine.support(SupportQuery(text, 1, mode=mode))
    assert 0.0 <= result.support <= 1.0
    for passage in result.passages:
        assert 0.0 <= passage.relevance <= 1.0
        assert all(0.0 <= e.score <= 1.0 for e in passage.evidence)
