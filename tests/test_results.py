"""index/results.py, highlights.py, grouping.py and diversity.py: highlighted sentences, one hit
per document and diverse passages, through the engine on both backends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from index.diversity import mmr_picks
from index.engine import SearchEngine
from index.errors import InvalidInputError
from index.grouping import grouped
from index.models import DocumentInput, OffsetEncoding, SearchFilters, SearchMode
from index.offsets import length
from index.queries import SearchQuery
from index.sources import expand_paths, read_documents
from index.text import sentence_spans

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
QUERY = "China Pakistan counter-terrorism cooperation"

MakeEngine = Callable[..., SearchEngine]


@pytest.fixture
def seeded(make_engine: MakeEngine) -> SearchEngine:
    engine = make_engine()
    engine.seed([d for path in expand_paths([SEEDS]) for d in read_documents(path)])
    return engine


@pytest.mark.parametrize("mode", list(SearchMode))
def test_highlights_are_the_hits_own_sentences_best_first(
    seeded: SearchEngine, mode: SearchMode
) -> None:
    hits = seeded.search(SearchQuery(QUERY, k=10, mode=mode, highlights=3))
    assert hits
    for hit in hits:
        text = seeded.get(hit.citation.document_id).text
        sentences = {
            (hit.citation.char_start + a, hit.citation.char_start + b)
            for a, b in sentence_spans(hit.text)
        }
        assert 1 <= len(hit.highlights) <= 3
        scores = [mark.score for mark in hit.highlights]
        assert scores == sorted(scores, reverse=True)
        for mark in hit.highlights:
            assert text[mark.char_start : mark.char_end] == mark.text
            assert hit.citation.char_start <= mark.char_start < mark.char_end
            assert mark.char_end <= hit.citation.char_end
            assert 0.0 <= mark.score <= 1.0
            assert (mark.char_start, mark.char_end) in sentences


def test_no_highlights_when_none_are_asked_for(seeded: SearchEngine) -> None:
    hits = seeded.search(SearchQuery(QUERY, k=5, highlights=0))
    assert hits and all(hit.highlights == () for hit in hits)
    with_marks = seeded.search(SearchQuery(QUERY, k=5))
    # highlights change nothing else
    assert [(h.chunk_id, h.score) for h in hits] == [(h.chunk_id, h.score) for h in with_marks]


def test_highlight_offsets_count_in_the_requested_encoding(make_engine: MakeEngine) -> None:
    engine = make_engine()
    text = (
        "Lantern night 🏮 opened the festival. Vendors sold 饺子 and 🍵 tea until midnight. "
        "The parade of 𝐀𝐁𝐂 lanterns crossed the old bridge at nine."
    )
    engine.upsert([DocumentInput(text=text, id="festival", title="Festival")])
    text = engine.get("festival").text  # as cleaned (NFKC)
    for encoding in OffsetEncoding:
        hit = engine.search(
            SearchQuery("lantern parade over the bridge", 1, offset_encoding=encoding)
        )[0]
        mark = hit.highlights[0]
        assert "parade" in mark.text
        units = text.encode("utf-16-le") if encoding is OffsetEncoding.UTF16 else None
        if encoding is OffsetEncoding.UTF32:
            assert text[mark.char_start : mark.char_end] == mark.text
        elif units is not None:
            assert units[2 * mark.char_start : 2 * mark.char_end].decode("utf-16-le") == mark.text
        else:
            assert text.encode()[mark.char_start : mark.char_end].decode() == mark.text
        assert mark.char_end - mark.char_start == length(mark.text, encoding)


def test_group_by_document_returns_k_documents_best_first(seeded: SearchEngine) -> None:
    plain = seeded.search(SearchQuery(QUERY, k=5))
    assert len({h.citation.document_id for h in plain}) < 5  # the crowding grouping fixes
    hits = seeded.search(SearchQuery(QUERY, k=5, group_by="document"))
    documents = [h.citation.document_id for h in hits]
    assert len(documents) == len(set(documents)) == 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].chunk_id == plain[0].chunk_id  # the best passage leads


def test_group_size_lists_a_documents_passages_together(seeded: SearchEngine) -> None:
    hits = seeded.search(SearchQuery(QUERY, k=3, group_by="document", group_size=2))
    documents = [h.citation.document_id for h in hits]
    assert len(dict.fromkeys(documents)) == 3
    runs = [
        documents[i] for i in range(len(documents)) if i == 0 or documents[i] != documents[i - 1]
    ]
    assert len(runs) == 3  # each document's passages come together
    for document in set(documents):
        own = [h.score for h in hits if h.citation.document_id == document]
        assert 1 <= len(own) <= 2 and own == sorted(own, reverse=True)


def test_grouping_keeps_filters(seeded: SearchEngine) -> None:
    only = SearchFilters(document_ids=["003_997123c907f1ca25", "002_887aa636a02893d9"])
    hits = seeded.search(SearchQuery(QUERY, k=5, filters=only, group_by="document"))
    assert {h.citation.document_id for h in hits} == set(only.document_ids or [])


def test_diversity_spreads_the_hits_over_more_documents(seeded: SearchEngine) -> None:
    plain = seeded.search(SearchQuery(QUERY, k=5))
    assert seeded.search(SearchQuery(QUERY, k=5, diversity=0.0)) == plain
    diverse = seeded.search(SearchQuery(QUERY, k=5, diversity=0.5))
    assert diverse[0].chunk_id == plain[0].chunk_id  # the most relevant first
    assert len({h.citation.document_id for h in diverse}) > len(
        {h.citation.document_id for h in plain}
    )


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"highlights": -1}, "highlights"),
        ({"highlights": 6}, "highlights"),
        ({"group_size": 2}, "group_size"),
        ({"group_by": "document", "group_size": 0}, "group_size"),
        ({"group_by": "source"}, "group_by"),
        ({"diversity": 1.5}, "diversity"),
        ({"diversity": -0.1}, "diversity"),
    ],
)
def test_bad_options_name_their_field(
    seeded: SearchEngine, options: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        seeded.search(SearchQuery(QUERY, **options))  # type: ignore[arg-type]
    assert raised.value.field == field


def test_mmr_at_zero_is_relevance_order_and_at_one_avoids_copies() -> None:
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert list(mmr_picks([0.9, 0.8, 0.5], vectors, 0.0)) == [0, 1, 2]
    assert list(mmr_picks([0.9, 0.8, 0.5], vectors, 0.5)) == [0, 2, 1]  # the copy goes last


def test_grouped_keeps_first_seen_documents_and_their_best() -> None:
    ranked = [("a", 1), ("a", 2), ("b", 3), ("a", 4), ("c", 5), ("b", 6)]
    assert grouped(ranked, 2, 2) == [[1, 2], [3, 6]]
    assert grouped(ranked, 5, 1) == [[1], [3], [5]]


def test_grouping_reads_deeper_when_one_document_fills_the_candidates(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(chunk_tokens=24, chunk_overlap_tokens=0)
    crowded = " ".join(f"The harbour ferry number {i} sailed at dawn." for i in range(500))
    engine.upsert(
        [
            DocumentInput(text=crowded, id="crowded"),
            DocumentInput(text="A small boat crossed the bay in the evening.", id="other"),
        ]
    )
    assert engine.get("crowded").chunk_count > 100  # more than the first read takes
    plain = engine.search(SearchQuery("harbour ferry sailed at dawn", k=100, highlights=0))
    assert {h.citation.document_id for h in plain} == {"crowded"}
    grouped = engine.search(SearchQuery("harbour ferry sailed at dawn", k=2, group_by="document"))
    assert [h.citation.document_id for h in grouped] == ["crowded", "other"]


def test_grouping_and_highlights_stay_inside_a_collection(seeded: SearchEngine) -> None:
    seeded.create_collection("news")
    text = (
        "China and Pakistan agreed to deepen counter-terrorism cooperation on Monday. "
        "The ministers met in Beijing."
    )
    seeded.upsert([DocumentInput(text=text, id="brief")], collection="news")
    hits = seeded.search(SearchQuery(QUERY, k=5, group_by="document", collection="news"))
    assert [h.citation.document_id for h in hits] == ["brief"]
    assert hits[0].highlights[0].text.startswith("China and Pakistan agreed")


@pytest.mark.parametrize("mode", list(SearchMode))
def test_grouping_and_diversity_work_in_every_mode(seeded: SearchEngine, mode: SearchMode) -> None:
    grouped = seeded.search(SearchQuery(QUERY, k=4, mode=mode, group_by="document"))
    documents = [h.citation.document_id for h in grouped]
    assert len(documents) == len(set(documents)) == 4
    plain = seeded.search(SearchQuery(QUERY, k=20, mode=mode))
    diverse = seeded.search(SearchQuery(QUERY, k=20, mode=mode, diversity=0.5))
    assert {h.chunk_id for h in diverse} <= {
        h.chunk_id for h in seeded.search(SearchQuery(QUERY, k=100, mode=mode))
    }
    assert diverse[0].chunk_id == plain[0].chunk_id


def test_a_hits_highlights_do_not_depend_on_the_other_hits(seeded: SearchEngine) -> None:
    many = seeded.search(SearchQuery(QUERY, k=10, highlights=3))
    for hit in many[:3]:
        own_document = SearchFilters(document_ids=[hit.citation.document_id])
        alone = seeded.search(SearchQuery(QUERY, k=50, highlights=3, filters=own_document))
        (same,) = [h for h in alone if h.chunk_id == hit.chunk_id]
        assert same.highlights == hit.highlights
