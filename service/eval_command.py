"""`semsearch eval`: index a BEIR-format dataset in a throw-away data dir and print quality."""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from index.engine import SearchEngine
from index.evaluation import (
    corpus_documents,
    evaluate_retrieval,
    evaluate_support,
    index_corpus,
    read_jsonl,
    read_qrels,
    read_queries,
)
from index.models import DEFAULT_COLLECTION, SearchMode
from index.stance import claim_split
from service.settings import Settings


class EvalInputError(Exception):
    """The dataset directory or a named file is missing or unusable."""


def _qrels_path(dataset: Path, given: Path | None) -> Path:
    if given is not None:
        return given
    found = sorted((dataset / "qrels").glob("*.tsv"))
    test = dataset / "qrels" / "test.tsv"
    if test in found or len(found) == 1:
        return test if test in found else found[0]
    raise EvalInputError(f"name the qrels file with --qrels (found {len(found)} in {dataset})")


def run_eval(settings: Settings, args: argparse.Namespace) -> int:
    dataset: Path = args.dataset
    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (dataset / name).is_file():
            raise EvalInputError(f"{dataset / name} not found")
    qrels_path = _qrels_path(dataset, args.qrels)
    if not qrels_path.is_file() or (args.claims and not args.claims.is_file()):
        raise EvalInputError(f"{qrels_path if not qrels_path.is_file() else args.claims} not found")
    modes = list(SearchMode) if args.mode == "all" else [SearchMode(args.mode)]
    with tempfile.TemporaryDirectory(prefix="semsearch-eval-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        # Only a database named here: SEMSEARCH_DATABASE_URL is the served corpus, never a
        # place to load a benchmark into.
        config = settings.engine_config(settings.storage(args.database_url or data_dir))
        engine = SearchEngine(config)
        try:
            if args.collection not in {c.name for c in engine.collections()}:
                engine.create_collection(args.collection)
            report = _evaluate(
                engine, dataset, qrels_path, args.claims, modes, args.claims_split, args.collection
            )
        finally:
            engine.close()
    print(json.dumps(report, indent=2) if args.json else _table(report))
    return 0


def _evaluate(
    engine: SearchEngine,
    dataset: Path,
    qrels_path: Path,
    claims_path: Path | None,
    modes: list[SearchMode],
    claims_split: str = "all",
    collection: str = DEFAULT_COLLECTION,
) -> dict[str, Any]:
    documents = list(corpus_documents(dataset / "corpus.jsonl"))
    started = time.perf_counter()
    with tqdm(total=len(documents), unit="doc", desc="index") as bar:
        skipped = index_corpus(engine, documents, progress=bar.update, collection=collection)
    report: dict[str, Any] = {
        "dataset": str(dataset),
        "documents": len(documents) - len(skipped),
        "skipped_documents": skipped,
        "collection": collection,
        "chunks": engine.stats(collection).chunks,
        "index_seconds": round(time.perf_counter() - started, 1),
        "retrieval": [],
    }
    queries, qrels = read_queries(dataset / "queries.jsonl"), read_qrels(qrels_path)
    for mode in modes:
        with tqdm(total=sum(q in qrels for q in queries), unit="q", desc=mode.value) as bar:
            scores = evaluate_retrieval(
                engine, queries, qrels, mode, progress=bar.update, collection=collection
            )
        report["retrieval"].append(dataclasses.asdict(scores))
    if claims_path is not None:
        claims = [
            c
            for c in read_jsonl(claims_path)
            if claims_split == "all" or claim_split(c["cited_doc_ids"]) == claims_split
        ]
        raw = {d.id or "": d.text for d in documents}
        mode = SearchMode.HYBRID if SearchMode.HYBRID in modes else modes[0]
        with tqdm(total=len(claims), unit="claim", desc="support") as bar:
            support = evaluate_support(
                engine, claims, raw, mode, progress=bar.update, collection=collection
            )
        report["support"] = dataclasses.asdict(support) | {"claims_split": claims_split}
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    return report


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['dataset']}: {report['documents']} documents, {report['chunks']} chunks, "
        f"indexed in {report['index_seconds']} s"
        + (
            f" ({len(report['skipped_documents'])} refused and skipped: "
            f"{', '.join(report['skipped_documents'][:5])})"
            if report["skipped_documents"]
            else ""
        ),
        f"{'mode':<8} {'queries':>7} {'nDCG@10':>8} {'R@10':>7} {'R@100':>7} {'MRR@10':>7}",
    ]
    for r in report["retrieval"]:
        lines.append(
            f"{r['mode']:<8} {r['queries']:>7} {r['ndcg_at_10']:>8.4f} {r['recall_at_10']:>7.4f} "
            f"{r['recall_at_100']:>7.4f} {r['mrr_at_10']:>7.4f}"
        )
    if "support" in report:
        lines += _support_table(report["support"])
    lines.append(f"total {report['total_seconds']} s")
    return "\n".join(lines)


def _support_table(s: dict[str, Any]) -> list[str]:
    verdicts = list(next(iter(s["confusion"].values())))
    lines = [
        f"support ({s['mode']}), {s['claims']} claims ({s['claims_split']}): verdict macro-F1 "
        f"{s['verdict_macro_f1']:.4f}, contradict recall {s['contradict_recall']:.4f}",
        f"  SUPPORT claims called contradicted {s['true_called_contradicted']:.4f}; "
        "contradicted verdicts right "
        + ("-" if s["contradicted_right"] is None else f"{s['contradicted_right']:.4f}"),
        f"  {'claim label':<16}" + "".join(f"{v:>22}" for v in verdicts),
    ]
    for label, row in s["confusion"].items():
        lines.append(f"  {label:<16}" + "".join(f"{row[v]:>22}" for v in verdicts))
    for label, e in s["evidence"].items():
        lines.append(
            f"  evidence for {e['claims']} {label} claims: passage hit@5 "
            f"{e['passage_hit_at_5']:.4f}, evidence hit@1 {e['evidence_hit_at_1']:.4f}, "
            f"hit@3 {e['evidence_hit_at_3']:.4f}"
        )
    return lines
