"""Find supporting passages: which stored sentences back a claim, and how strongly.

Candidates come from the same retrieval as search. Overlapping windows of one document are
merged into one passage; every sentence in it is scored against the claim (cosine of their
embeddings); a passage's support is a logistic calibration of its best sentence's score, fitted
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

from index.embedding import Embedder, Vectors
from index.models import Citation, Evidence, SupportingPassage
from index.store import ChunkRow, DocumentRow

# support = sigmoid(SENTENCE_WEIGHT * best sentence cosine + BIAS), fitted on SciFact train by
# bench/calibrate_support.py. The verdict threshold keeps 84% of SciFact SUPPORT claims
# "supported" and turns 58% of NOT_ENOUGH_INFO claims away (best sentence cosine >= 0.645).
SENTENCE_WEIGHT = 8.01
BIAS = -6.90
DEFAULT_MIN_SUPPORT = 0.15
EVIDENCE_PER_PASSAGE = 3
CANDIDATES_PER_PASSAGE = 2  # chunks retrieved for each passage asked for, before merging


@dataclass
class _Passage:
    document: DocumentRow
    chunk_index: int
    char_start: int
    char_end: int
    retrieval: float
    sentences: list[tuple[int, int]]


def merge_windows(candidates: Sequence[tuple[ChunkRow, DocumentRow, float]]) -> list[_Passage]:
    """Merge overlapping or touching chunks of one document; keep the best retrieval score.

    Passages come back best retrieval score first.
    """
    by_document: dict[str, list[tuple[ChunkRow, DocumentRow, float]]] = {}
    for candidate in candidates:
        by_document.setdefault(candidate[1].id, []).append(candidate)
    passages: list[_Passage] = []
    for group in by_document.values():
        current: _Passage | None = None
        for chunk, document, score in sorted(group, key=lambda c: c[0].char_start):
            spans = [(int(a), int(b)) for a, b in chunk.sentences]
            if current is not None and chunk.char_start <= current.char_end:
                current.char_end = max(current.char_end, chunk.char_end)
                current.retrieval = max(current.retrieval, score)
                current.sentences = sorted(set(current.sentences) | set(spans))
                continue
            current = _Passage(
                document, chunk.chunk_index, chunk.char_start, chunk.char_end, score, spans
            )
            passages.append(current)
    passages.sort(key=lambda p: -p.retrieval)
    return passages


def _is_statement(sentence: str) -> bool:
    """Headings and titles state nothing: a short line without closing punctuation is skipped."""
    return sentence.rstrip("\"'”’)]").endswith((".", "!", "?", ";")) or len(sentence.split()) >= 10


def calibrated_support(best_sentence: float) -> float:
    return 1.0 / (1.0 + math.exp(-(SENTENCE_WEIGHT * best_sentence + BIAS)))


def supporting_passages(
    embedder: Embedder,
    claim_vector: Vectors,
    candidates: Sequence[tuple[ChunkRow, DocumentRow, float]],
    k: int,
) -> list[SupportingPassage]:
    """Score the sentences of the k most relevant merged passages; order them by support.

    Sentence scoring embeds every sentence, the costly step, so only the passages that can be
    returned are scored.
    """
    passages = merge_windows(candidates)[:k]
    sentences = [
        (p, a, b) for p in passages for a, b in p.sentences if _is_statement(p.document.text[a:b])
    ]
    texts = [p.document.text[a:b] for p, a, b in sentences]
    scores = np.clip(embedder.embed(texts) @ claim_vector, 0.0, 1.0) if texts else []
    by_passage: dict[int, list[Evidence]] = {}
    for (passage, a, b), score in zip(sentences, scores, strict=True):
        by_passage.setdefault(id(passage), []).append(
            Evidence(text=passage.document.text[a:b], char_start=a, char_end=b, score=float(score))
        )
    results = []
    for passage in passages:
        evidence = sorted(by_passage.get(id(passage), []), key=lambda e: -e.score)
        best = evidence[0].score if evidence else 0.0
        document = passage.document
        results.append(
            SupportingPassage(
                text=document.text[passage.char_start : passage.char_end],
                support=calibrated_support(best),
                relevance=passage.retrieval,
                evidence=evidence[:EVIDENCE_PER_PASSAGE],
                citation=Citation(
                    document_id=document.id,
                    title=document.title,
                    source=document.source,
                    url=document.url,
                    published_at=document.published_at,
                    chunk_index=passage.chunk_index,
                    char_start=passage.char_start,
                    char_end=passage.char_end,
                ),
            )
        )
    results.sort(key=lambda p: -p.support)
    return results[:k]
