"""Find supporting passages: which stored sentences back a claim, and how strongly.

Candidates come from the same retrieval as search. Overlapping windows of one document are
merged into one passage; every sentence in it is scored against the claim (cosine of the claim's
embedding and the sentence's, made at ingest from its chunk's model pass, so a request embeds
only the claim); a passage's support is a logistic calibration of its best sentence's score, fitted
on SciFact training claims (README, Quality), so it reads as the probability that the passage
holds evidence for the claim. The retrieval score is left out on purpose: its BM25 half depends
on the corpus and query length, and with it a calibration fitted on long scientific claims
rejected plain paraphrases in news text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index import lexical
from index.embedding import Embedder, Vectors
from index.models import Citation, Document, Evidence, StoredChunk, SupportingPassage

# support = sigmoid(SENTENCE_WEIGHT * best sentence cosine + BIAS), fitted on SciFact train by
# bench/calibrate_support.py. The verdict threshold keeps 84% of SciFact SUPPORT claims
# "supported" and turns 59% of NOT_ENOUGH_INFO claims away (best sentence cosine >= 0.623).
SENTENCE_WEIGHT = 10.33
BIAS = -8.43
DEFAULT_MIN_SUPPORT = 0.12
EVIDENCE_PER_PASSAGE = 3
# Evidence ranking: cosine with the claim, plus the claim's words in the sentence (BM25 among
# the candidate sentences, squashed to s / (s + OVERLAP_HALF)) and the passage's relevance, as
# a weighted mean; tuned on SciFact train for evidence hit@3 (README, Quality).
OVERLAP_WEIGHT = 0.3
OVERLAP_HALF = 5.0
RELEVANCE_WEIGHT = 3.0
EVIDENCE_CANDIDATES = 6  # best sentences considered for evidence, before forming runs
MAX_RUN = 3  # most adjacent sentences in one evidence item
CANDIDATES_PER_PASSAGE = 2  # chunks retrieved for each passage asked for, before merging


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


def calibrated_support(best_sentence: float) -> float:
    return 1.0 / (1.0 + math.exp(-(SENTENCE_WEIGHT * best_sentence + BIAS)))


@dataclass(frozen=True)
class _Sentence:
    passage: int  # index into the passages
    position: int  # index into that passage's sentences
    start: int
    end: int
    similarity: float  # cosine with the claim, clipped at 0
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
    overlap = [s / (s + OVERLAP_HALF) for s in lexical.bm25_among(claim, texts)]
    total = 1.0 + OVERLAP_WEIGHT + RELEVANCE_WEIGHT
    return [
        _Sentence(
            i,
            position,
            a,
            b,
            float(cosine),
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


def supporting_passages(
    embedder: Embedder,
    claim: str,
    claim_vector: Vectors,
    candidates: Sequence[tuple[StoredChunk, Document, float]],
    k: int,
) -> list[SupportingPassage]:
    """Score the sentences of the k most relevant merged passages; order them by support.

    Only the passages that can be returned are scored.
    """
    passages = merge_windows(candidates)[:k]
    sentences = _scored_sentences(embedder, claim, claim_vector, passages)
    evidence: dict[int, list[Evidence]] = {}
    for run in _evidence_runs(sentences):
        text = passages[run[0].passage].document.text
        start, end = run[0].start, run[-1].end
        evidence.setdefault(run[0].passage, []).append(
            Evidence(
                text=text[start:end],
                char_start=start,
                char_end=end,
                score=max(s.rank for s in run),
            )
        )
    best_similarity: dict[int, float] = {}
    for sentence in sentences:
        best_similarity[sentence.passage] = max(
            best_similarity.get(sentence.passage, 0.0), sentence.similarity
        )
    results = [
        SupportingPassage(
            text=passage.document.text[passage.char_start : passage.char_end],
            support=calibrated_support(best_similarity.get(index, 0.0)),
            relevance=passage.retrieval,
            evidence=evidence.get(index, [])[:EVIDENCE_PER_PASSAGE],
            citation=_citation(passage),
        )
        for index, passage in enumerate(passages)
    ]
    results.sort(key=lambda p: -p.support)
    return results


def _citation(passage: _Passage) -> Citation:
    document = passage.document
    return Citation(
        document_id=document.id,
        title=document.title,
        source=document.source,
        url=document.url,
        published_at=document.published_at,
        chunk_index=passage.chunk_index,
        char_start=passage.char_start,
        char_end=passage.char_end,
    )
