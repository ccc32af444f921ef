"""Find supporting passages: which stored sentences bear on a claim, and which way.

Candidates come from the same retrieval as search. Overlapping windows of one document are
merged into one passage; every sentence in it is ranked against the claim (cosine of the
claim's embedding and the sentence's, made at ingest from its chunk's model pass, plus the
claim's words in it and the passage's relevance), and the best become evidence: a sentence, or
a run of adjacent ones. The stance model (index/stance.py) reads each evidence item whole, as
one premise, with the claim and gives calibrated probabilities that it supports the claim,
contradicts it, or neither: a claim whose evidence spans two sentences is judged against both,
and every item carries its own stance. A passage's ``support`` and ``contradiction`` are its
best item's; the verdict weighs the best of each over all passages (``verdict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from index import words
from index.embedding import Embedder, Vectors
from index.models import (
    Document,
    Evidence,
    Stance,
    StoredChunk,
    SupportingPassage,
    SupportResult,
    Verdict,
    cite,
    page_span,
)
from index.stance import STANCES, StanceModel

# Verdict thresholds, fitted by `make train-stance` on claims and pairs held apart from training
# (index/stance_model/stance.json, "verdict"; a test keeps the two equal).
DEFAULT_MIN_SUPPORT = 0.25
DEFAULT_MIN_CONTRADICTION = 0.7
CONTRADICTION_MARGIN = 0.5
EVIDENCE_PER_PASSAGE = 3
# Evidence ranking: cosine with the claim, plus the claim's words in the sentence (BM25 among
# the candidate sentences, squashed to s / (s + OVERLAP_HALF)) and the passage's relevance, as
# a weighted mean; tuned on SciFact train for evidence hit@3 (docs/quality.md).
OVERLAP_WEIGHT = 0.3
OVERLAP_HALF = 5.0
RELEVANCE_WEIGHT = 3.0
EVIDENCE_CANDIDATES = 6  # best sentences considered for evidence, before forming runs
MAX_RUN = 3  # most adjacent sentences in one evidence item
CANDIDATES_PER_PASSAGE = 2  # chunks retrieved for each passage asked for, before merging
# What the stance model reads as a premise: a run of adjacent evidence sentences whole ("run"),
# or each sentence alone ("sentence"; `make bench-stance` compares the two).
PREMISE: Literal["run", "sentence"] = "run"


@dataclass
class _Passage:
    document: Document
    chunk_index: int
    char_start: int
    char_end: int
    retrieval: float
    sentences: list[tuple[int, int]]
    vectors: dict[tuple[int, int], Vectors]  # stored sentence vectors by span


def _sentence_vectors(
    chunk: StoredChunk, spans: list[tuple[int, int]]
) -> dict[tuple[int, int], Vectors]:
    if chunk.sentence_vectors is None:  # a store written before they were kept
        return {}
    rows = np.frombuffer(chunk.sentence_vectors, dtype=np.float16).reshape(len(spans), -1)
    return dict(zip(spans, rows.astype(np.float32), strict=True))


def merge_windows(candidates: Sequence[tuple[StoredChunk, Document, float]]) -> list[_Passage]:
    """Merge overlapping or touching chunks of one document; keep the best retrieval score.

    Passages come back best retrieval score first.
    """
    by_document: dict[str, list[tuple[StoredChunk, Document, float]]] = {}
    for candidate in candidates:
        by_document.setdefault(candidate[1].id, []).append(candidate)
    passages: list[_Passage] = []
    for group in by_document.values():
        current: _Passage | None = None
        for chunk, document, score in sorted(group, key=lambda c: c[0].char_start):
            spans = [(int(a), int(b)) for a, b in chunk.sentences]
            vectors = _sentence_vectors(chunk, spans)
            if current is not None and chunk.char_start <= current.char_end:
                current.char_end = max(current.char_end, chunk.char_end)
                current.retrieval = max(current.retrieval, score)
                current.sentences = sorted(set(current.sentences) | set(spans))
                current.vectors = vectors | current.vectors  # the earlier window's read wins
                continue
            current = _Passage(
                document, chunk.chunk_index, chunk.char_start, chunk.char_end, score, spans, vectors
            )
            passages.append(current)
    passages.sort(key=lambda p: -p.retrieval)
    return passages


def _is_statement(sentence: str) -> bool:
    """Headings and titles state nothing: a short line without closing punctuation is skipped
    (。 closes a Chinese or Japanese sentence)."""
    closed = sentence.rstrip("\"'”’)]」』").endswith((".", "!", "?", ";", "。"))
    return closed or len(sentence.split()) >= 10


@dataclass(frozen=True)
class _Sentence:
    passage: int  # index into the passages
    position: int  # index into that passage's sentences
    start: int
    end: int
    rank: float  # evidence score in [0, 1]


def _scored_sentences(
    embedder: Embedder, claim: str, claim_vector: Vectors, passages: Sequence[_Passage]
) -> list[_Sentence]:
    spans = [
        (index, position, a, b)
        for index, passage in enumerate(passages)
        for position, (a, b) in enumerate(passage.sentences)
        if _is_statement(passage.document.text[a:b])
    ]
    texts = [passages[i].document.text[a:b] for i, _, a, b in spans]
    if not texts:
        return []
    stored = [passages[i].vectors.get((a, b)) for i, _, a, b in spans]
    missing = [row for row, vector in enumerate(stored) if vector is None]
    vectors = np.zeros((len(spans), claim_vector.shape[0]), dtype=np.float32)
    vectors[missing] = embedder.embed([texts[row] for row in missing])
    for row, vector in enumerate(stored):
        if vector is not None:
            vectors[row] = vector
    similarity = np.clip(vectors @ claim_vector, 0.0, 1.0)
    overlap = [s / (s + OVERLAP_HALF) for s in words.bm25_among(claim, texts)]
    total = 1.0 + OVERLAP_WEIGHT + RELEVANCE_WEIGHT
    return [
        _Sentence(
            i,
            position,
            a,
            b,
            float(
                (cosine + OVERLAP_WEIGHT * words + RELEVANCE_WEIGHT * passages[i].retrieval) / total
            ),
        )
        for (i, position, a, b), cosine, words in zip(spans, similarity, overlap, strict=True)
    ]


def _evidence_runs(sentences: Sequence[_Sentence]) -> list[list[_Sentence]]:
    """Chosen sentences: the best EVIDENCE_CANDIDATES overall plus each passage's best; chosen
    sentences next to each other in a passage form one run, best-ranked runs first."""
    ranked = sorted(sentences, key=lambda s: -s.rank)
    chosen = set(ranked[:EVIDENCE_CANDIDATES])
    best_of_passage: dict[int, _Sentence] = {}
    for sentence in ranked:
        best_of_passage.setdefault(sentence.passage, sentence)
    chosen |= set(best_of_passage.values())
    runs: list[list[_Sentence]] = []
    for sentence in sorted(chosen, key=lambda s: (s.passage, s.position)):
        previous = runs[-1][-1] if runs else None
        if (
            previous is not None
            and previous.passage == sentence.passage
            and previous.position + 1 == sentence.position
            and len(runs[-1]) < MAX_RUN
        ):
            runs[-1].append(sentence)
        else:
            runs.append([sentence])
    return sorted(runs, key=lambda run: -max(s.rank for s in run))


def verdict(
    support: float,
    contradiction: float,
    min_support: float,
    min_contradiction: float,
    margin: float = CONTRADICTION_MARGIN,
) -> Verdict:
    """Supported when the best support reaches its threshold, unless the best contradiction
    beats it by more than ``margin``; else contradicted when the best contradiction reaches its
    threshold; else insufficient. A passage that states the claim is not outvoted by another
    that is merely less sure: calling a true claim false misleads more than saying too little.
    """
    if support >= min_support and contradiction <= support + margin:
        return Verdict.SUPPORTED
    if contradiction >= min_contradiction:
        return Verdict.CONTRADICTED
    return Verdict.INSUFFICIENT_EVIDENCE


def supporting_passages(
    embedder: Embedder,
    stance_model: StanceModel,
    claim: str,
    claim_vector: Vectors,
    candidates: Sequence[tuple[StoredChunk, Document, float]],
    k: int,
    min_support: float,
    min_contradiction: float,
    margin: float = CONTRADICTION_MARGIN,
) -> SupportResult:
    """Rank the sentences of the k most relevant merged passages, read the stance of the best,
    and give the verdict.

    Only the passages that can be returned are ranked, and only their evidence sentences are
    read by the stance model. Passages and their evidence come in the verdict's order: a
    contradicted claim's contradicting sentences first, a supported claim's supporting ones
    first, otherwise by rank.
    """
    passages = merge_windows(candidates)[:k]
    runs = _evidence_runs(_scored_sentences(embedder, claim, claim_vector, passages))
    if PREMISE == "sentence":
        runs = [[sentence] for run in runs for sentence in run]
    premises = [passages[run[0].passage].document.text[run[0].start : run[-1].end] for run in runs]
    probabilities = list(stance_model.probabilities(claim, premises)) if runs else []
    best = np.zeros((len(passages), 2), dtype=np.float32)  # support, contradiction
    for run, p in zip(runs, probabilities, strict=True):
        best[run[0].passage] = np.maximum(best[run[0].passage], p[:2])
    support = float(best[:, 0].max()) if len(passages) else 0.0
    contradiction = float(best[:, 1].max()) if len(passages) else 0.0
    outcome = verdict(support, contradiction, min_support, min_contradiction, margin)
    lead = {Verdict.SUPPORTED: Stance.SUPPORTS, Verdict.CONTRADICTED: Stance.CONTRADICTS}.get(
        outcome
    )
    evidence: dict[int, list[Evidence]] = {}
    for run, p in zip(runs, probabilities, strict=True):
        evidence.setdefault(run[0].passage, []).append(_evidence(passages, run, p))
    results = [
        SupportingPassage(
            text=passage.document.text[passage.char_start : passage.char_end],
            support=float(best[index, 0]),
            contradiction=float(best[index, 1]),
            relevance=passage.retrieval,
            evidence=sorted(
                evidence.get(index, []), key=lambda e: (e.stance is not lead, -e.score)
            )[:EVIDENCE_PER_PASSAGE],
            citation=cite(
                passage.document, passage.chunk_index, passage.char_start, passage.char_end
            ),
        )
        for index, passage in enumerate(passages)
    ]
    if outcome is Verdict.CONTRADICTED:
        results.sort(key=lambda p: -p.contradiction)
    else:
        results.sort(key=lambda p: -p.support)
    return SupportResult(claim, outcome, support, contradiction, results)


def _evidence(
    passages: Sequence[_Passage], run: Sequence[_Sentence], probabilities: np.ndarray
) -> Evidence:
    """A run of adjacent sentences with the stance the model gave it, read as one premise."""
    document = passages[run[0].passage].document
    start, end = run[0].start, run[-1].end
    return Evidence(
        text=document.text[start:end],
        char_start=start,
        char_end=end,
        score=max(s.rank for s in run),
        stance=STANCES[int(probabilities.argmax())],
        stance_probability=float(probabilities.max()),
        page=page_span(document.page_starts, start, end)[0],
    )
