"""How good is the stance model, and the verdict built on it? The shipped model beside a
previous one (`make bench-stance`; figures also land in bench/stance.json).

Per pair, on NLI files the model was neither trained nor calibrated on (scripts/stance_data.py
lists the split; ANLI is out of domain and never trained on) and on SciFact's held-out claim
pairs: per-class precision and recall, macro-F1 and the confusion, taking the most probable
stance. Per claim, through the whole engine (retrieval, evidence, stance, verdict): SciFact's
held-out claims and bench/seed_claims.jsonl, news claims about the seed corpus written for
this check (paraphrases, facts the text does not state, negations, changed numbers, reversed
actions, off-topic claims): verdict macro-F1, how often a claim the text supports is called
contradicted, and how often "contradicted" is right. Beside them, a ceiling: the best the
verdict would reach with thresholds fitted on those very claims, which says whether a better
fit could meet a target or only a better model can (it never sets the thresholds).

Usage: python bench/stance.py [--baseline REV] [--premise run sentence] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import support  # noqa: E402
from index.backends import backend_config  # noqa: E402
from index.engine import EngineConfig, SearchEngine  # noqa: E402
from index.evaluation import (  # noqa: E402
    RIGHT_VERDICT,
    Confusion,
    contradicted_right,
    macro_f1,
    read_jsonl,
    true_called_contradicted,
    verdict_confusion,
)
from index.models import SupportResult  # noqa: E402
from index.queries import SupportQuery  # noqa: E402
from index.sources import expand_paths, read_documents  # noqa: E402
from index.stance import MANIFEST, MODEL_DIRECTORY, STANCES, StanceModel  # noqa: E402
from scripts.stance_data import NLI_REPORT, nli_named_pairs  # noqa: E402
from scripts.stance_pairs import Pair, claim_pairs, split_claims  # noqa: E402
from scripts.train_stance import Rows, fit_thresholds, pair_confusion, verdicts_at  # noqa: E402

SEED_CLAIMS = ROOT / "bench" / "seed_claims.jsonl"
BASELINE = "1682695"  # the last commit with the SciFact-only model (stance model v1)
TRUE_CALLED_FALSE_TARGET = 0.05  # the target: at most 1 true claim in 20 called contradicted


def per_class(confusion: Confusion, right: dict[str, str]) -> dict[str, dict[str, float]]:
    figures = {}
    for truth, expected in right.items():
        hits = confusion[truth][expected]
        called = sum(row[expected] for row in confusion.values())
        actual = sum(confusion[truth].values())
        figures[truth] = {
            "precision": round(hits / called, 4) if called else 0.0,
            "recall": round(hits / actual, 4) if actual else 0.0,
        }
    return figures


def pair_figures(model: StanceModel, pairs: Sequence[Pair]) -> dict[str, Any]:
    confusion = pair_confusion(model, pairs)
    right = {s.value: s.value for s in STANCES}
    return {
        "pairs": len(pairs),
        "macro_f1": round(macro_f1(confusion, right), 4),
        "per_class": per_class(confusion, right),
        "confusion": confusion,
    }


def verdict_figures(results: Sequence[tuple[str, SupportResult]]) -> dict[str, Any]:
    confusion = verdict_confusion((label, result.verdict) for label, result in results)
    right = contradicted_right(confusion)
    return {
        "claims": len(results),
        "verdict_macro_f1": round(macro_f1(confusion), 4),
        "per_class": per_class(confusion, RIGHT_VERDICT),
        "true_called_contradicted": round(true_called_contradicted(confusion), 4),
        "contradicted_right": None if right is None else round(right, 4),
        "confusion": confusion,
        "threshold_ceiling": threshold_ceiling(
            [(label, result.support, result.contradiction) for label, result in results]
        ),
    }


def threshold_ceiling(rows: Rows) -> dict[str, float]:
    """The best verdict macro-F1 any thresholds reach on these very claims, free and within
    the target's 1 true claim in 20 called contradicted (with the CONTRADICT recall there):
    what fitting thresholds could do at most with this model's readings."""
    free, _ = fit_thresholds(rows, limit=1.0)
    bounded, thresholds = fit_thresholds(rows, limit=TRUE_CALLED_FALSE_TARGET)
    recall = per_class(verdicts_at(rows, thresholds), RIGHT_VERDICT)["CONTRADICT"]["recall"]
    return {
        "macro_f1": free,
        "macro_f1_within_target": bounded,
        "contradict_recall_within_target": recall,
    }


@contextmanager
def premise(mode: str) -> Iterator[None]:
    before = support.PREMISE
    support.PREMISE = mode  # type: ignore[assignment]
    try:
        yield
    finally:
        support.PREMISE = before


def engine_for(model_dir: Path, data_dir: Path) -> SearchEngine:
    fitted = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))["verdict"]
    config = EngineConfig(
        storage=backend_config(data_dir),
        min_support=fitted["min_support"],
        min_contradiction=fitted["min_contradiction"],
        contradiction_margin=fitted.get("contradiction_margin", 0.0),
    )
    return SearchEngine(config, stance_model=StanceModel(model_dir))


def claim_results(
    engine: SearchEngine, claims: Sequence[dict[str, Any]]
) -> list[tuple[str, SupportResult]]:
    return [(str(c["label"]), engine.support(SupportQuery(str(c["claim"]), k=5))) for c in claims]


def baseline_model(revision: str, into: Path) -> Path:
    """The stance model committed at ``revision``, written out of git into ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    folder = "index/stance_model"
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{revision}:{folder}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in names:
        blob = subprocess.run(
            ["git", "show", f"{revision}:{folder}/{name}"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        (into / name).write_bytes(blob)
    return into


def measure(
    model_dir: Path,
    premises: Sequence[str],
    nli: dict[str, list[Pair]],
    scifact_pairs: list[Pair],
    scifact_claims: list[dict[str, Any]],
    scifact_index: Path,
    seed_claims: list[dict[str, Any]],
    scratch: Path,
) -> dict[str, Any]:
    model = StanceModel(model_dir)
    started = time.perf_counter()
    figures: dict[str, Any] = {"pairs": {}, "verdicts": {}}
    for name, pairs in nli.items():
        figures["pairs"][name] = pair_figures(model, pairs)
    figures["pairs"]["scifact_held_out"] = pair_figures(model, scifact_pairs)
    seeds = scratch / f"seeds-{model_dir.name}"
    seeded = engine_for(model_dir, seeds)
    seeded.upsert([d for path in expand_paths([ROOT / "seeds"]) for d in read_documents(path)])
    scifact = engine_for(model_dir, scifact_index)
    try:
        for mode in premises:
            with premise(mode):
                figures["verdicts"][mode] = {
                    "scifact_held_out": verdict_figures(claim_results(scifact, scifact_claims)),
                    "seed_claims": verdict_figures(claim_results(seeded, seed_claims)),
                }
    finally:
        seeded.close()
        scifact.close()
    figures["seconds"] = round(time.perf_counter() - started)
    return figures


def summary(name: str, figures: dict[str, Any]) -> list[str]:
    lines = [f"{name}:"]
    for file, f in figures["pairs"].items():
        classes = "  ".join(
            f"{c[:4]} P {v['precision']:.2f} R {v['recall']:.2f}" for c, v in f["per_class"].items()
        )
        lines.append(f"  pairs {file:<26} macro-F1 {f['macro_f1']:.3f}   {classes}")
    for mode, sets in figures["verdicts"].items():
        for file, f in sets.items():
            right = f["contradicted_right"]
            ceiling = f["threshold_ceiling"]
            lines.append(
                f"  verdict ({mode} premise) {file:<17} macro-F1 {f['verdict_macro_f1']:.3f}  "
                f"true called contradicted {f['true_called_contradicted']:.3f}  "
                f"contradicted right {'-' if right is None else f'{right:.3f}'}  "
                f"CONTRADICT recall {f['per_class']['CONTRADICT']['recall']:.3f}\n"
                f"    best thresholds for these claims: macro-F1 {ceiling['macro_f1']:.3f}; "
                f"within 1 true claim in 20 called contradicted "
                f"{ceiling['macro_f1_within_target']:.3f}, CONTRADICT recall "
                f"{ceiling['contradict_recall_within_target']:.3f}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL_DIRECTORY)
    parser.add_argument(
        "--baseline", default=BASELINE, help="git revision of the previous model, or none"
    )
    parser.add_argument(
        "--premise", nargs="+", default=["run", "sentence"], choices=["run", "sentence"]
    )
    parser.add_argument("--nli", type=Path, default=ROOT.parent / "shared" / "eval" / "nli")
    parser.add_argument("--scifact", type=Path, default=ROOT.parent / "shared" / "eval" / "scifact")
    parser.add_argument(
        "--index",
        type=Path,
        default=Path(tempfile.gettempdir()) / "semsearch-scifact-index",
        help="SciFact indexed by the engine (`make train-stance` leaves it there)",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="first pairs of each NLI file")
    args = parser.parse_args()
    if not args.index.is_dir():
        sys.exit(f"{args.index}: index SciFact first (`make train-stance` leaves it there)")
    nli = {
        name: pairs[: args.limit] for name, pairs in nli_named_pairs(args.nli, NLI_REPORT).items()
    }
    corpus = {str(r["_id"]): str(r["text"]) for r in read_jsonl(args.scifact / "corpus.jsonl")}
    held_out = split_claims(read_jsonl(args.scifact / "claims_train.jsonl"))["held_out"]
    rng = random.Random(0)
    scifact_pairs = [p for c in held_out for p in claim_pairs(c, corpus, rng, perturb=False)]
    seed_claims = list(read_jsonl(SEED_CLAIMS))
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-stance-") as scratch:

        def measured(model_dir: Path, premises: Sequence[str]) -> dict[str, Any]:
            return measure(
                model_dir,
                premises,
                nli,
                scifact_pairs,
                held_out,
                args.index,
                seed_claims,
                Path(scratch),
            )

        report["model"] = measured(args.model, args.premise)
        lines = summary("this model", report["model"])
        if args.baseline != "none":
            old = baseline_model(args.baseline, Path(scratch) / "baseline")
            report["baseline"] = measured(old, ["sentence"])
            report["baseline_revision"] = args.baseline
            lines += summary(f"previous model ({args.baseline})", report["baseline"])
    print("\n".join(lines))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
