"""index/support.py through the engine: claims against the seed corpus."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from index.engine import SearchEngine
from index.errors import InvalidInputError
from index.models import Stance, SupportingPassage, Verdict
from index.queries import SupportQuery
from index.sources import expand_paths, read_documents
from index.stance import STANCES
from tests.markers import embedded_only

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
    result = seeded.support(SupportQuery(BOMBING_CLAIM, k=3))
    assert result.verdict is Verdict.SUPPORTED
    assert result.support == result.passages[0].support >= seeded.config.min_support
    assert result.passages[0].citation.document_id == "003_997123c907f1ca25"
    evidence = [e.text for p in result.passages for e in p.evidence]
    assert any("killed 12 people" in text for text in evidence)


def test_evidence_and_passages_cite_exact_characters(seeded: SearchEngine) -> None:
    result = seeded.support(SupportQuery(BOMBING_CLAIM, k=5))
    for passage in result.passages:
        text = seeded.get(passage.citation.document_id).text
        assert text[passage.citation.char_start : passage.citation.char_end] == passage.text
        assert passage.evidence and len(passage.evidence) <= 3
        for evidence in passage.evidence:
            assert text[evidence.char_start : evidence.char_end] == evidence.text
            assert passage.citation.char_start <= evidence.char_start
            assert evidence.char_end <= passage.citation.char_end
            assert 0.0 <= evidence.score <= 1.0 and 0.0 <= evidence.stance_probability <= 1.0
        # Supporting sentences lead a supported claim's evidence, then the rest by score.
        order = [(e.stance is not Stance.SUPPORTS, -e.score) for e in passage.evidence]
        assert order == sorted(order)
        for evidence in passage.evidence:  # a passage's support is its best sentence's
            if evidence.stance is Stance.SUPPORTS:
                assert evidence.stance_probability <= passage.support
    supports = [p.support for p in result.passages]
    assert supports == sorted(supports, reverse=True)


def test_overlapping_windows_of_a_document_are_merged(seeded: SearchEngine) -> None:
    result = seeded.support(SupportQuery(BOMBING_CLAIM, k=10))
    spans: dict[str, list[tuple[int, int]]] = {}
    for passage in result.passages:
        spans.setdefault(passage.citation.document_id, []).append(
            (passage.citation.char_start, passage.citation.char_end)
        )
    for ranges in spans.values():
        ranges.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))


def test_an_off_topic_claim_gets_insufficient_evidence(seeded: SearchEngine) -> None:
    result = seeded.support(SupportQuery("Apple launched a new iPhone with a titanium frame.", k=5))
    assert result.verdict is Verdict.INSUFFICIENT_EVIDENCE
    assert all(p.support < seeded.config.min_support for p in result.passages)


def test_min_support_decides_the_verdict(seeded: SearchEngine) -> None:
    strict = seeded.support(SupportQuery(BOMBING_CLAIM, k=3, min_support=1.0))
    assert strict.verdict is Verdict.INSUFFICIENT_EVIDENCE
    lenient = seeded.support(SupportQuery("Apple launched a new iPhone.", k=3, min_support=0.0))
    assert lenient.verdict is Verdict.SUPPORTED


def test_min_contradiction_decides_the_verdict(seeded: SearchEngine) -> None:
    claim = "The suicide bombing near the Islamabad district courts killed 40 people."
    assert seeded.support(SupportQuery(claim, k=3)).verdict is Verdict.CONTRADICTED
    strict = seeded.support(SupportQuery(claim, k=3, min_contradiction=1.0))
    assert strict.verdict is not Verdict.CONTRADICTED
    assert (
        strict.contradiction == seeded.support(SupportQuery(claim, k=3)).contradiction
    )  # scores unchanged


# Claims the seed articles contradict: a negation, a changed number. Each with words of the
# sentence that says otherwise. (Reversed actions, "China refused to cooperate with Pakistan",
# still pass as supported: docs/quality.md, Stance and verdicts.)
CONTRADICTED = [
    ("The suicide bombing near the Islamabad district courts killed nobody.", "killed 12 people"),
    ("The suicide bombing near the Islamabad district courts killed 40 people.", "killed 12"),
]


@pytest.mark.parametrize(("claim", "said"), CONTRADICTED)
def test_a_claim_the_seeds_contradict_is_contradicted_with_that_sentence_first(
    seeded: SearchEngine, claim: str, said: str
) -> None:
    result = seeded.support(SupportQuery(claim, k=5))
    assert result.verdict is Verdict.CONTRADICTED
    assert result.contradiction >= seeded.config.min_contradiction
    assert result.contradiction > result.support
    first = result.passages[0]
    assert first.contradiction == result.contradiction
    assert first.evidence[0].stance is Stance.CONTRADICTS
    contradicting = [
        e.text for p in result.passages for e in p.evidence if e.stance is Stance.CONTRADICTS
    ]
    assert any(said in text for text in contradicting), contradicting
    order = [p.contradiction for p in result.passages]
    assert order == sorted(order, reverse=True)


SUPPORTED = [
    BOMBING_CLAIM,
    # A sentence silent on the toll must not outvote the one that states it.
    "Twelve people died when a suicide bomber struck outside the Islamabad district courts.",
    "The attack outside the Islamabad courts was carried out by a suicide bomber who killed "
    "twelve people and wounded dozens.",
    "The bombing near the district courts injured 36 people.",
    "China and Pakistan agreed to work together against terrorism.",
    "The attack was claimed by a Tehreek-e-Taliban Pakistan faction.",
]


@pytest.mark.parametrize("claim", SUPPORTED)
def test_supported_paraphrases_stay_supported(seeded: SearchEngine, claim: str) -> None:
    result = seeded.support(SupportQuery(claim, k=5))
    assert result.verdict is Verdict.SUPPORTED
    assert result.passages[0].evidence[0].stance is Stance.SUPPORTS


@pytest.mark.parametrize(
    "claim", ["Apple launched a new iPhone.", "Heavy rain flooded the streets of Lagos on Tuesday."]
)
def test_off_topic_claims_stay_insufficient(seeded: SearchEngine, claim: str) -> None:
    assert seeded.support(SupportQuery(claim, k=5)).verdict is Verdict.INSUFFICIENT_EVIDENCE


def test_headings_are_not_evidence(seeded: SearchEngine) -> None:
    result = seeded.support(
        SupportQuery("Pakistan China security ties after the Islamabad blast", k=5)
    )
    evidence = [e.text for p in result.passages for e in p.evidence]
    assert "Pakistan China Security Ties Post Islamabad Blast" not in evidence


def test_an_empty_claim_names_the_field(seeded: SearchEngine) -> None:
    with pytest.raises(InvalidInputError) as error:
        seeded.support(SupportQuery(" \n ", k=3))
    assert error.value.field == "claim"


@embedded_only
def test_stored_sentence_vectors_are_the_in_passage_reading_of_each_sentence(
    seeded: SearchEngine,
) -> None:
    """Support scores sentences with the vectors kept at ingest: one per sentence span, from
    the chunk's own model pass, so a request embeds nothing but the claim."""
    evidence = seeded.support(SupportQuery(BOMBING_CLAIM, k=3)).passages[0].evidence[0]
    db = sqlite3.connect(seeded.config.storage.data_dir / "store.sqlite3")
    rows = db.execute("SELECT sentences, sentence_vectors FROM chunks").fetchall()
    db.close()
    stored: dict[tuple[int, int], np.ndarray] = {}
    for sentences, blob in rows:
        spans = [tuple(span) for span in json.loads(sentences)]
        vectors = np.frombuffer(blob, dtype=np.float16).reshape(len(spans), 384)
        assert np.allclose(np.linalg.norm(vectors.astype(np.float32), axis=1), 1.0, atol=2e-3)
        stored.update(zip(spans, vectors.astype(np.float32), strict=True))
    # The evidence's first sentence, as stored and as read alone: close, not equal (context).
    span = next(s for s in stored if s[0] == evidence.char_start)
    text = seeded.get(
        seeded.support(SupportQuery(BOMBING_CLAIM, k=3)).passages[0].citation.document_id
    ).text
    alone = seeded.embedder.embed([text[span[0] : span[1]]])[0]
    assert 0.7 < float(stored[span] @ alone) < 0.999


@embedded_only
def test_a_store_from_before_sentence_vectors_still_answers_support(
    make_engine: MakeEngine,
) -> None:
    """A store written before the column existed is upgraded on open; its chunks have no
    sentence vectors, so support embeds their sentences when asked, with the same evidence."""
    engine = make_engine()
    engine.upsert([d for path in expand_paths([SEEDS]) for d in read_documents(path)])
    expected = engine.support(SupportQuery(BOMBING_CLAIM, k=3))
    engine.close()
    db = sqlite3.connect(engine.config.storage.data_dir / "store.sqlite3")
    db.execute("ALTER TABLE chunks DROP COLUMN sentence_vectors")
    db.execute("DROP TABLE alembic_version")  # nor was its schema versioned then
    db.commit()
    db.close()
    reopened = make_engine()
    result = reopened.support(SupportQuery(BOMBING_CLAIM, k=3))
    assert result.verdict is Verdict.SUPPORTED

    # The same passages (retrieval is unchanged); their order by support may differ.
    def cited(passages: list[SupportingPassage]) -> list[tuple[str, int]]:
        return sorted((p.citation.document_id, p.citation.char_start) for p in passages)

    assert cited(result.passages) == cited(expected.passages)
    evidence = [e.text for p in result.passages for e in p.evidence]
    assert any("killed 12 people" in text for text in evidence)
    assert reopened.check().ok


def test_evidence_in_a_mixed_english_and_chinese_document(
    make_engine: Callable[..., SearchEngine],
) -> None:
    from index.models import DocumentInput

    engine = make_engine()
    text = (
        "Heavy rain fell on the delta for three days. 洪水警报已经发布。"
        "居民被要求在中午前撤离。Rescue boats reached the villages by evening. "
        "政府承诺为受灾家庭提供临时住所。No one was hurt."
    )
    engine.upsert([DocumentInput(id="mixed", title="Delta floods", text=text)])
    # Stated almost word for word: the best evidence holds the Chinese sentence (it was split
    # apart from its English neighbours, and its 。 makes it a statement, not a heading).
    result = engine.support(SupportQuery("居民被要求在中午前撤离", k=1))
    best = max(result.passages[0].evidence, key=lambda e: e.score)
    assert "居民被要求在中午前撤离。" in best.text
    assert "Rescue boats" not in best.text
    stored = engine.get("mixed").text
    assert stored[best.char_start : best.char_end] == best.text


def test_each_evidence_item_carries_the_stance_of_its_own_text(seeded: SearchEngine) -> None:
    """A run of adjacent sentences is read as one premise: its stance is the model's reading
    of exactly the text it cites, not borrowed from its most decided sentence."""
    claim = "Twelve people died when a suicide bomber struck outside the Islamabad district courts."
    result = seeded.support(SupportQuery(claim, k=5))
    items = [e for p in result.passages for e in p.evidence]
    assert any(" " in e.text.strip() and e.text.count(". ") >= 1 for e in items)  # a run
    for e in items:
        read = seeded.stance_model.probabilities(claim, [e.text])[0]
        assert e.stance is STANCES[int(read.argmax())], e.text
        assert abs(e.stance_probability - float(read.max())) < 1e-6
