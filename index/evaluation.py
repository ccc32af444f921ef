"""Retrieval quality on a BEIR-format dataset, through the same SearchEngine the API uses.

Metrics are document-level, as in BEIR: a document ranks where its best chunk ranks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.bulk import upsert_valid
from index.engine import SearchEngine
from index.models import DEFAULT_COLLECTION, CollectionRef, DocumentInput, SearchMode, Verdict
from index.queries import SearchQuery, SupportQuery
from index.text import repair_text

Qrels = dict[str, dict[str, int]]
CHUNK_DEPTH = 400  # chunks retrieved per query: enough for 100 distinct documents


@dataclass(frozen=True)
class RetrievalScores:
    mode: str
    queries: int
    ndcg_at_10: float
    recall_at_10: float
    recall_at_100: float
    mrr_at_10: float


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def corpus_documents(path: Path) -> Iterator[DocumentInput]:
    """BEIR corpus.jsonl records as documents (id, title, text)."""
    for record in read_jsonl(path):
        title = str(record.get("title") or "").strip()
        yield DocumentInput(id=str(record["_id"]), title=title or None, text=str(record["text"]))


def read_queries(path: Path) -> dict[str, str]:
    return {str(r["_id"]): str(r["text"]) for r in read_jsonl(path)}


def read_qrels(path: Path) -> Qrels:
    """query-id, corpus-id, score (tab separated, one header line)."""
    qrels: Qrels = {}
    with path.open(encoding="utf-8") as handle:
        next(handle, None)
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3 and int(parts[2]) > 0:
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def index_corpus(
    engine: SearchEngine,
    documents: Sequence[DocumentInput],
    batch: int = 256,
    progress: Callable[[int], None] | None = None,
    collection: str = DEFAULT_COLLECTION,
) -> list[str]:
    """Upsert the corpus into ``collection`` in batches, reporting each batch's size to
    ``progress``.

    Returns:
        The ids of the documents the engine refused (an empty abstract, as two of Cranfield's
        are): skipped, so one bad record does not end a run.
    """
    skipped: list[str] = []
    for start in range(0, len(documents), batch):
        chunk = documents[start : start + batch]
        outcome = upsert_valid(engine, chunk, collection=CollectionRef(collection))
        skipped += [chunk[r.position].id or f"#{start + r.position}" for r in outcome.rejected]
        if progress is not None:
            progress(len(chunk))
    return skipped


def ranked_documents(
    engine: SearchEngine, query: str, mode: SearchMode, collection: str = DEFAULT_COLLECTION
) -> list[str]:
    """Document ids, best first, each at the rank of its best chunk."""
    seen: dict[str, None] = {}
    for hit in engine.search(SearchQuery(query, CHUNK_DEPTH, mode=mode, collection=collection)):
        seen.setdefault(hit.citation.document_id, None)
    return list(seen)


def ndcg_at(ranking: Sequence[str], relevant: dict[str, int], k: int) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: Sequence[str], relevant: dict[str, int], k: int) -> float:
    return len(set(ranking[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


def mrr_at(ranking: Sequence[str], relevant: dict[str, int], k: int) -> float:
    return next((1 / (i + 1) for i, d in enumerate(ranking[:k]) if d in relevant), 0.0)


def evaluate_retrieval(
    engine: SearchEngine,
    queries: dict[str, str],
    qrels: Qrels,
    mode: SearchMode,
    progress: Callable[[int], None] | None = None,
    collection: str = DEFAULT_COLLECTION,
) -> RetrievalScores:
    """BEIR metrics over every query that has relevance judgements."""
    totals = [0.0, 0.0, 0.0, 0.0]
    judged = [qid for qid in queries if qid in qrels]
    for qid in judged:
        ranking = ranked_documents(engine, queries[qid], mode, collection)
        relevant = qrels[qid]
        for position, value in enumerate(
            (
                ndcg_at(ranking, relevant, 10),
                recall_at(ranking, relevant, 10),
                recall_at(ranking, relevant, 100),
                mrr_at(ranking, relevant, 10),
            )
        ):
            totals[position] += value
        if progress is not None:
            progress(1)
    n = max(len(judged), 1)
    return RetrievalScores(mode.value, len(judged), *(t / n for t in totals))


CLAIM_LABELS = ("SUPPORT", "CONTRADICT", "NOT_ENOUGH_INFO")
# The verdict each claim label should get, in CLAIM_LABELS order.
EXPECTED_VERDICTS = (Verdict.SUPPORTED, Verdict.CONTRADICTED, Verdict.INSUFFICIENT_EVIDENCE)
RIGHT_VERDICT = {label: v.value for label, v in zip(CLAIM_LABELS, EXPECTED_VERDICTS, strict=True)}
Confusion = dict[str, dict[str, int]]  # truth -> what was called -> count


@dataclass(frozen=True)
class EvidenceScores:
    """Evidence quality for claims of one label, against their own rationale sentences."""

    claims: int  # claims whose rationale was found in the stored text
    passage_hit_at_5: float
    evidence_hit_at_1: float
    evidence_hit_at_3: float


@dataclass(frozen=True)
class SupportScores:
    """Find-supporting-passages quality on claims with sentence-level evidence."""

    mode: str
    claims: int
    # confusion[label][verdict]: claims of each label (CLAIM_LABELS) per verdict
    confusion: dict[str, dict[str, int]]
    verdict_macro_f1: float  # over the three verdicts
    contradict_recall: float  # share of CONTRADICT claims called contradicted
    true_called_contradicted: float  # share of SUPPORT claims called contradicted
    contradicted_right: float | None  # share of "contradicted" verdicts on CONTRADICT claims
    evidence: dict[str, EvidenceScores]  # for SUPPORT and CONTRADICT claims


def gold_evidence_spans(
    engine: SearchEngine,
    claim: dict[str, Any],
    raw_texts: dict[str, str],
    label: str,
    collection: str = DEFAULT_COLLECTION,
) -> dict[str, list[tuple[int, int]]]:
    """A claim's rationale sentences labelled ``label`` as spans in the stored (cleaned) text
    of each document.

    The dataset's offsets index the raw abstract; the stored text is cleaned, so each gold
    sentence is cleaned the same way and located in the stored text.
    """
    spans: dict[str, list[tuple[int, int]]] = {}
    for doc_id, labelled in dict(claim.get("evidence") or {}).items():
        stored = engine.get(doc_id, collection=collection).text
        for annotation in labelled:
            if annotation["label"] != label:
                continue
            for start, end in annotation["spans"]:
                piece = repair_text(raw_texts[doc_id][start:end])
                position = stored.find(piece)
                if position >= 0:
                    spans.setdefault(doc_id, []).append((position, position + len(piece)))
    return spans


def verdict_confusion(called: Iterable[tuple[str, Verdict]]) -> Confusion:
    """The 3x3 table of claim labels against the verdicts they were given."""
    confusion = {label: {v.value: 0 for v in EXPECTED_VERDICTS} for label in CLAIM_LABELS}
    for label, verdict in called:
        confusion[label][verdict.value] += 1
    return confusion


def true_called_contradicted(confusion: Confusion) -> float:
    """The share of SUPPORT claims called contradicted (0 when there are none)."""
    row = confusion["SUPPORT"]
    return row[Verdict.CONTRADICTED.value] / max(sum(row.values()), 1)


def contradicted_right(confusion: Confusion) -> float | None:
    """The share of "contradicted" verdicts given to CONTRADICT claims (None: none given)."""
    called = sum(row[Verdict.CONTRADICTED.value] for row in confusion.values())
    return confusion["CONTRADICT"][Verdict.CONTRADICTED.value] / called if called else None


def macro_f1(confusion: Confusion, right: Mapping[str, str] | None = None) -> float:
    """Mean F1 over a confusion table's classes; ``right`` names, for each true class, the
    column that is right for it (default: the verdict each claim label expects)."""
    if right is None:
        right = RIGHT_VERDICT
    scores = []
    for label, expected in right.items():
        hits = confusion[label][expected]
        called = sum(row[expected] for row in confusion.values())
        actual = sum(confusion[label].values())
        precision = hits / called if called else 0.0
        recall = hits / actual if actual else 0.0
        scores.append(2 * precision * recall / (precision + recall) if hits else 0.0)
    return sum(scores) / len(scores)


def evaluate_support(
    engine: SearchEngine,
    claims: Sequence[dict[str, Any]],
    raw_texts: dict[str, str],
    mode: SearchMode,
    progress: Callable[[int], None] | None = None,
    collection: str = DEFAULT_COLLECTION,
) -> SupportScores:
    """Verdicts on every claim (the 3x3 confusion, macro-F1, contradiction recall), and
    passage hit@5 and evidence hit@1/@3 on SUPPORT and CONTRADICT claims.

    Evidence hit@n: one of the n highest-scoring evidence sentences, over all returned
    passages, overlaps a rationale sentence of the claim's own label in a gold document.
    """
    called: list[tuple[str, Verdict]] = []
    counts = {label: [0, 0, 0, 0] for label in CLAIM_LABELS[:2]}  # claims, passage, @1, @3
    for claim in claims:
        label = str(claim.get("label"))
        if label not in CLAIM_LABELS:
            continue
        result = engine.support(
            SupportQuery(str(claim["claim"]), k=5, mode=mode, collection=collection)
        )
        called.append((label, result.verdict))
        if progress is not None:
            progress(1)
        if label not in counts:
            continue
        gold = gold_evidence_spans(engine, claim, raw_texts, label, collection)
        if not gold:
            continue
        evidence = sorted(
            ((p.citation.document_id, e) for p in result.passages for e in p.evidence),
            key=lambda item: -item[1].score,
        )
        hits = [
            any(e.char_start < b and a < e.char_end for a, b in gold.get(doc_id, []))
            for doc_id, e in evidence[:3]
        ]
        tally = counts[label]
        tally[0] += 1
        tally[1] += any(p.citation.document_id in gold for p in result.passages)
        tally[2] += any(hits[:1])
        tally[3] += any(hits)
    confusion = verdict_confusion(called)
    contradictions = sum(confusion["CONTRADICT"].values())
    right = contradicted_right(confusion)
    return SupportScores(
        mode=mode.value,
        claims=sum(sum(row.values()) for row in confusion.values()),
        confusion=confusion,
        verdict_macro_f1=round(macro_f1(confusion), 4),
        contradict_recall=round(
            confusion["CONTRADICT"][Verdict.CONTRADICTED.value] / contradictions, 4
        )
        if contradictions
        else 0.0,
        true_called_contradicted=round(true_called_contradicted(confusion), 4),
        contradicted_right=None if right is None else round(right, 4),
        evidence={
            label: EvidenceScores(n, *(round(x / max(n, 1), 4) for x in rest))
            for label, (n, *rest) in counts.items()
        },
    )
