"""index/evaluation.py metrics, and `semsearch eval` end to end on a tiny BEIR dataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.evaluation import macro_f1, mrr_at, ndcg_at, read_qrels, recall_at

ROOT = Path(__file__).resolve().parent.parent


def test_metrics_on_a_hand_checked_ranking() -> None:
    relevant = {"a": 1, "c": 1}
    ranking = ["b", "a", "d", "c"]
    # DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3)
    assert ndcg_at(ranking, relevant, 10) == pytest.approx((0.63093 + 0.43068) / 1.63093, 1e-4)
    assert ndcg_at(["a", "c"], relevant, 10) == pytest.approx(1.0)
    assert recall_at(ranking, relevant, 2) == 0.5 and recall_at(ranking, relevant, 4) == 1.0
    assert mrr_at(ranking, relevant, 10) == 0.5 and mrr_at(["x"], relevant, 10) == 0.0


def test_verdict_macro_f1_on_a_hand_checked_confusion() -> None:
    confusion = {
        "SUPPORT": {"supported": 8, "contradicted": 1, "insufficient_evidence": 1},
        "CONTRADICT": {"supported": 2, "contradicted": 2, "insufficient_evidence": 0},
        "NOT_ENOUGH_INFO": {"supported": 0, "contradicted": 1, "insufficient_evidence": 5},
    }
    # F1: supported 2*(8/10)*(8/10)/(1.6) = 0.8; contradicted P 2/4, R 2/4 -> 0.5;
    # insufficient P 5/6, R 5/6 -> 0.8333
    assert macro_f1(confusion) == pytest.approx((0.8 + 0.5 + 5 / 6) / 3)


def _tiny_dataset(root: Path) -> Path:
    topics = {
        "d1": ("Volcanic ash", "Volcanic ash clouds ground flights across northern Europe."),
        "d2": ("Insulin therapy", "Insulin lowers blood glucose in patients with diabetes."),
        "d3": ("Coral bleaching", "Warm oceans cause coral reefs to bleach and die."),
        "d4": ("Chess openings", "The Sicilian defence is a popular chess opening."),
    }
    (root / "qrels").mkdir(parents=True)
    with open(root / "corpus.jsonl", "w") as corpus:
        for doc_id, (title, text) in topics.items():
            corpus.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
        # An empty abstract, as Cranfield has two: skipped and counted, not the end of the run.
        corpus.write(json.dumps({"_id": "empty", "title": "", "text": " "}) + "\n")
    queries = {"q1": "diabetes treatment lowers glucose", "q2": "reefs bleaching in warm seas"}
    with open(root / "queries.jsonl", "w") as handle:
        for qid, text in queries.items():
            handle.write(json.dumps({"_id": qid, "text": text}) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\n")
    claims = [
        {
            "_id": "c1",
            "claim": "Insulin reduces blood glucose in diabetic patients.",
            "label": "SUPPORT",
            "cited_doc_ids": ["d2"],
            "evidence": {"d2": [{"label": "SUPPORT", "sentences": [0], "spans": [[0, 56]]}]},
        },
        {
            "_id": "c2",
            "claim": "Insulin raises blood glucose in diabetic patients.",
            "label": "CONTRADICT",
            "cited_doc_ids": ["d2"],
            "evidence": {"d2": [{"label": "CONTRADICT", "sentences": [0], "spans": [[0, 56]]}]},
        },
        {
            "_id": "c3",
            "claim": "Chess players live longer than other people.",
            "label": "NOT_ENOUGH_INFO",
            "cited_doc_ids": ["d4"],
            "evidence": {},
        },
    ]
    (root / "claims.jsonl").write_text("".join(json.dumps(c) + "\n" for c in claims))
    return root


def test_read_qrels_skips_the_header(tmp_path: Path) -> None:
    dataset = _tiny_dataset(tmp_path / "ds")
    assert read_qrels(dataset / "qrels" / "test.tsv") == {"q1": {"d2": 1}, "q2": {"d3": 1}}


@pytest.mark.system
def test_eval_command_indexes_and_scores_every_mode(tmp_path: Path) -> None:
    dataset = _tiny_dataset(tmp_path / "ds")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "eval",
            str(dataset),
            "--json",
            "--claims",
            str(dataset / "claims.jsonl"),
            "--collection",
            "bench",  # made in the throw-away data directory
        ],
        env={**os.environ, "SEMSEARCH_LOG_LEVEL": "warning"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["documents"] == 4 and report["chunks"] == 4
    assert report["collection"] == "bench"
    assert report["skipped_documents"] == ["empty"]
    assert [r["mode"] for r in report["retrieval"]] == ["hybrid", "dense", "lexical"]
    for scores in report["retrieval"]:
        assert scores["queries"] == 2
        assert scores["ndcg_at_10"] == pytest.approx(1.0) and scores["mrr_at_10"] == 1.0
    support = report["support"]
    assert support["claims"] == 3 and support["claims_split"] == "all"
    assert all(sum(row.values()) == 1 for row in support["confusion"].values())
    assert support["verdict_macro_f1"] == round(macro_f1(support["confusion"]), 4)
    for label in ("SUPPORT", "CONTRADICT"):  # the one abstract that bears on them
        evidence = support["evidence"][label]
        assert evidence["claims"] == 1 and evidence["evidence_hit_at_1"] == 1.0


@pytest.mark.system
def test_eval_command_explains_a_missing_dataset(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "eval", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert "corpus.jsonl not found" in result.stderr
