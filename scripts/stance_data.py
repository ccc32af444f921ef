"""Which labelled pairs the stance model trains on, is calibrated on, and is measured on.

The NLI files of ``../shared/eval/nli`` (read in place; licences in its README) are split by
file, before any result is looked at:

- train: SNLI dev, counterfactually-augmented NLI train, Breaking NLI (contradictions capped
  per category: one swapped word should not teach that any difference contradicts),
  FEVER-Symmetric "generated", negation NLI (SNLI and MNLI);
- calibration (temperature and verdict thresholds): CAD dev, FEVER-Symmetric dev;
- report only: SNLI test, CAD test, FEVER-Symmetric test, and ANLI, which is evaluation-only by
  its licence and never trained on.

Claims paired with premises drawn at random from other pairs are neutral: a sentence about
something else says nothing about the claim (SNLI calls many such pairs contradictions).
SciFact training claims add their own pairs (scripts/stance_pairs.py), split by cited
documents as before, plus premises of two adjacent sentences, so the model reads a run of
evidence as one premise.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from index.models import Stance
from scripts.stance_pairs import Pair, _overlaps, rationale_spans, sentences_of

NLI_LABELS = {
    "entailment": Stance.SUPPORTS,
    "contradiction": Stance.CONTRADICTS,
    "neutral": Stance.NEUTRAL,
}
NLI_TRAIN = (
    "snli_dev",
    "cad_train",
    "breaking_nli",
    "fever_symmetric_generated",
    "negation_snli",
    "negation_mnli",
)
NLI_CALIBRATION = ("cad_dev", "fever_symmetric_dev")
NLI_REPORT = (
    "snli_test",
    "cad_test",
    "fever_symmetric_test",
    "anli_r1_test.eval-only",
    "anli_r2_test.eval-only",
    "anli_r3_test.eval-only",
)
BREAKING_PER_CATEGORY = 150  # contradictions kept of each Breaking NLI category
UNRELATED = 5000  # claims paired with a premise about something else: neutral


def read_nli(path: Path) -> list[Pair]:
    """One file's pairs: premise as the sentence, hypothesis as the claim."""
    pairs = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            pairs.append(
                Pair(
                    str(record["hypothesis"]),
                    str(record["premise"]),
                    NLI_LABELS[record["label"]],
                    f"{path.stem}:{record.get('category', '')}",
                )
            )
    return pairs


def nli_file(directory: Path, name: str) -> Path:
    path = directory / f"{name}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the NLI pairs are read in place from ../shared/eval/nli")
    return path


def nli_training_pairs(directory: Path, rng: random.Random) -> list[Pair]:
    pairs: list[Pair] = []
    for name in NLI_TRAIN:
        read = read_nli(nli_file(directory, name))
        if name == "breaking_nli":
            read = _cap_contradictions(read, rng)
        pairs += read
    return pairs


def nli_named_pairs(directory: Path, names: tuple[str, ...]) -> dict[str, list[Pair]]:
    return {name: read_nli(nli_file(directory, name)) for name in names}


def _cap_contradictions(pairs: list[Pair], rng: random.Random) -> list[Pair]:
    by_category: dict[str, list[Pair]] = defaultdict(list)
    kept = []
    for pair in pairs:
        if pair.stance is Stance.CONTRADICTS:
            by_category[pair.origin].append(pair)
        else:
            kept.append(pair)
    for category in sorted(by_category):
        group = by_category[category]
        kept += rng.sample(group, min(len(group), BREAKING_PER_CATEGORY))
    return kept


def window_pairs(
    claims: list[dict[str, Any]], corpus: dict[str, str], rng: random.Random
) -> Iterator[Pair]:
    """Premises of two adjacent sentences: a rationale sentence with a neighbour keeps the
    rationale's stance (the neighbour adds context, not a verdict); two sentences that are not
    rationales are neutral."""
    for claim in claims:
        text = str(claim["claim"])
        gold: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for doc_id, label, span in rationale_spans(claim):
            if doc_id not in corpus:
                continue
            gold[doc_id].append(span)
            body = corpus[doc_id]
            spans = sentences_of(body)
            at = [i for i, s in enumerate(spans) if _overlaps(s, [span])]
            if not at or len(spans) < 2:
                continue
            i = at[0]
            j = i + 1 if i == 0 or (i + 1 < len(spans) and rng.random() < 0.5) else i - 1
            a, b = min(spans[i][0], spans[j][0]), max(spans[i][1], spans[j][1])
            stance = Stance.SUPPORTS if label == "SUPPORT" else Stance.CONTRADICTS
            yield Pair(text, body[a:b].strip(), stance, "window")
        for doc_id in map(str, claim["cited_doc_ids"]):
            body = corpus.get(doc_id, "")
            spans = sentences_of(body)
            free = [
                k
                for k in range(len(spans) - 1)
                if not _overlaps((spans[k][0], spans[k + 1][1]), gold.get(doc_id, []))
            ]
            if free:
                k = rng.choice(free)
                yield Pair(
                    text, body[spans[k][0] : spans[k + 1][1]].strip(), Stance.NEUTRAL, "window"
                )


def unrelated_pairs(pairs: list[Pair], rng: random.Random, count: int = UNRELATED) -> list[Pair]:
    """Claims against premises drawn from other pairs, labelled neutral. SNLI's annotators
    took premise and hypothesis to describe one scene, so a hypothesis about another scene is
    a "contradiction" there; in a corpus a sentence about something else says nothing about
    the claim, and calling that a contradiction is the worst error a verdict can make."""
    unrelated: list[Pair] = []
    while len(unrelated) < count:
        claim, other = rng.choice(pairs), rng.choice(pairs)
        if claim.sentence != other.sentence and claim.claim != other.claim:
            unrelated.append(Pair(claim.claim, other.sentence, Stance.NEUTRAL, "unrelated"))
    return unrelated
