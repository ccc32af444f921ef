"""index/support.py through the engine: claims against the seed corpus."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from index.engine import SearchEngine
from index.errors import InvalidInputError
from index.models import Verdict
from index.sources import expand_paths, read_documents

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
MakeEngine = Callable[..., SearchEngine]
BOMBING_CLAIM = "A suicide bomber killed twelve people near the district courts in Islamabad."


@pytest.fixture
def seeded(make_engine: MakeEngine) -> SearchEngine:
    engine = make_engine()
    engine.upsert([d for path in expand_paths([SEEDS]) for d in read_documents(path)])
    return engine


def test_the_bombing_claim_is_supported_by_the_sentence_about_twelve_killed(
    seeded: SearchEngine,
) -> None:
    result = seeded.support(BOMBING_CLAIM, k=3)
    assert result.verdict is Verdict.SUPPORTED
    assert result.support == result.passages[0].support >= seeded.config.min_support
    assert result.passages[0].citation.document_id == "003_997123c907f1ca25"
    evidence = [e.text for p in result.passages for e in p.evidence]
    assert any("killed 12 people" in text for text in evidence)


def test_evidence_and_passages_cite_exact_characters(seeded: SearchEngine) -> None:
    result = seeded.support(BOMBING_CLAIM, k=5)
    for passage in result.passages:
        text = seeded.get(passage.citation.document_id).text
        assert text[passage.citation.char_start : passage.citation.char_end] == passage.text
        assert passage.evidence and len(passage.evidence) <= 3
        for evidence in passage.evidence:
            assert text[evidence.char_start : evidence.char_end] == evidence.text
            assert passage.citation.char_start <= evidence.char_start
            assert evidence.char_end <= passage.citation.char_end
            assert 0.0 <= evidence.score <= 1.0
        scores = [e.score for e in passage.evidence]
        assert scores == sorted(scores, reverse=True)
    supports = [p.support for p in result.passages]
    assert supports == sorted(supports, reverse=True)


def test_overlapping_windows_of_a_document_are_merged(seeded: SearchEngine) -> None:
    result = seeded.support(BOMBING_CLAIM, k=10)
    spans: dict[str, list[tuple[int, int]]] = {}
    for passage in result.passages:
        spans.setdefault(passage.citation.document_id, []).append(
            (passage.citation.char_start, passage.citation.char_end)
        )
    for ranges in spans.values():
        ranges.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))


def test_an_off_topic_claim_gets_insufficient_evidence(seeded: SearchEngine) -> None:
    result = seeded.support("Apple launched a new iPhone with a titanium frame.", k=5)
    assert result.verdict is Verdict.INSUFFICIENT_EVIDENCE
    assert all(p.support < seeded.config.min_support for p in result.passages)


def test_min_support_decides_the_verdict(seeded: SearchEngine) -> None:
    strict = seeded.support(BOMBING_CLAIM, k=3, min_support=1.0)
    assert strict.verdict is Verdict.INSUFFICIENT_EVIDENCE
    lenient = seeded.support("Apple launched a new iPhone.", k=3, min_support=0.0)
    assert lenient.verdict is Verdict.SUPPORTED


def test_headings_are_not_evidence(seeded: SearchEngine) -> None:
    result = seeded.support("Pakistan China security ties after the Islamabad blast", k=5)
    evidence = [e.text for p in result.passages for e in p.evidence]
    assert "Pakistan China Security Ties Post Islamabad Blast" not in evidence


def test_an_empty_claim_names_the_field(seeded: SearchEngine) -> None:
    with pytest.raises(InvalidInputError) as error:
        seeded.support(" \n ", k=3)
    assert error.value.field == "claim"
