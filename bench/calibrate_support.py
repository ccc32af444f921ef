"""Fit the support calibration and the verdict threshold on SciFact training claims.

Usage: python bench/calibrate_support.py DATA_DIR [--dataset ../shared/eval/scifact]
DATA_DIR must already hold the dataset's corpus, indexed with the shipped settings (e.g. by
`semsearch eval ... --data-dir DATA_DIR`). For every SUPPORT and NOT_ENOUGH_INFO claim it
takes the returned passages' features (best sentence cosine with the claim, retrieval
relevance) and whether the passage holds a gold SUPPORT sentence; fits support =
sigmoid(a * sentence + c) (shipped) and, for comparison, sigmoid(a * sentence + b * relevance
+ c) by logistic regression (Newton's method). For each it prints the threshold of best
balanced accuracy between SUPPORT claims ("supported") and NOT_ENOUGH_INFO claims
("insufficient_evidence") and a table of thresholds,
from which index/support.py takes its constants (the README says which and why).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.engine import EngineConfig, SearchEngine
from index.evaluation import corpus_documents, gold_evidence_spans, read_jsonl
from index.support import BIAS, SENTENCE_WEIGHT


def best_sentence_cosine(support: float) -> float:
    """The passage's best sentence cosine, recovered from its support by inverting the
    shipped calibration (a passage's support is a function of that cosine alone)."""
    return (math.log(support / (1 - support)) - BIAS) / SENTENCE_WEIGHT


def _fit_logistic(features: np.ndarray, labels: np.ndarray, steps: int = 50) -> np.ndarray:
    x = np.hstack([features, np.ones((len(features), 1))])
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        gradient = x.T @ (p - labels)
        hessian = (x * (p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(x.shape[1])
        w -= np.linalg.solve(hessian, gradient)
    return w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--dataset", type=Path, default=Path("../shared/eval/scifact"))
    args = parser.parse_args()
    engine = SearchEngine(EngineConfig(data_dir=args.data_dir))
    raw = {d.id or "": d.text for d in corpus_documents(args.dataset / "corpus.jsonl")}
    claims = [
        c
        for c in read_jsonl(args.dataset / "claims_train.jsonl")
        if c["label"] in ("SUPPORT", "NOT_ENOUGH_INFO")
    ]
    rows, claim_rows = [], []
    for claim in tqdm(claims, desc="claims"):
        result = engine.support(str(claim["claim"]), k=5)
        gold = gold_evidence_spans(engine, claim, raw) if claim["label"] == "SUPPORT" else {}
        features = []
        for passage in result.passages:
            spans = gold.get(passage.citation.document_id, [])
            label = any(
                e.char_start < b and a < e.char_end for e in passage.evidence for a, b in spans
            )
            best = best_sentence_cosine(passage.support)
            features.append((best, passage.relevance))
            rows.append((best, passage.relevance, float(label)))
        claim_rows.append((claim["label"] == "SUPPORT", features))
    data = np.array(rows)
    print(f"passages: {len(data)}, positive: {int(data[:, 2].sum())}")
    both = _fit_logistic(data[:, :2], data[:, 2])
    print(f"with relevance: {both[0]:.2f} * sentence + {both[1]:.2f} * relevance + {both[2]:.2f}")
    _report_threshold(claim_rows, lambda f: both[0] * f[0] + both[1] * f[1] + both[2])
    alone = _fit_logistic(data[:, :1], data[:, 2])
    print(f"SENTENCE_WEIGHT = {alone[0]:.2f}, BIAS = {alone[1]:.2f}")
    _report_threshold(claim_rows, lambda f: alone[0] * f[0] + alone[1])
    engine.close()


def _report_threshold(
    claim_rows: list[tuple[bool, list[tuple[float, float]]]],
    logit: Callable[[tuple[float, float]], float],
) -> None:
    def support(f: tuple[float, float]) -> float:
        return float(1 / (1 + np.exp(-logit(f))))

    best = [
        (is_support, max((support(f) for f in fs), default=0.0)) for is_support, fs in claim_rows
    ]
    positives = [s for y, s in best if y]
    negatives = [s for y, s in best if not y]
    candidates = sorted({round(s, 3) for _, s in best})
    scored = [
        (
            (np.mean([s >= t for s in positives]) + np.mean([s < t for s in negatives])) / 2,
            t,
        )
        for t in candidates
    ]
    accuracy, threshold = max(scored)
    print(f"DEFAULT_MIN_SUPPORT = {threshold:.3f} (balanced accuracy {accuracy:.3f})")
    print("threshold  SUPPORT->supported  NEI->insufficient  balanced")
    for t in (0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
        recall = float(np.mean([s >= t for s in positives]))
        specificity = float(np.mean([s < t for s in negatives]))
        print(f"{t:9.2f}  {recall:18.3f}  {specificity:17.3f}  {(recall + specificity) / 2:8.3f}")


if __name__ == "__main__":
    main()
