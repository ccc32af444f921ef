"""(claim, sentence, stance) pairs for the stance model, built from SciFact's training claims.

- A claim's rationale sentences carry its label: SUPPORT -> supports, CONTRADICT -> contradicts.
- The other sentences of its cited abstracts, and those cited by NOT_ENOUGH_INFO claims, are
  neutral (the ones sharing most words with the claim first: the hard cases).
- A SUPPORT claim turned false by a rule (negation, an antonym, a changed number) contradicts
  its rationale; the same false claim is neutral to an unrelated sentence of the abstract, so
  the rule's mark alone does not decide.
- Sentences of abstracts no held-out or calibration claim cites, cut into claims about
  themselves: a part of the sentence is supported by it, the part made false contradicts it,
  and both are neutral to other sentences.

Every random choice draws from a seeded generator: the same data gives the same pairs.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from index import words
from index.stance import CLAIM_SPLITS, Stance, claim_split
from index.text import sentence_spans

NEUTRAL_PER_CLAIM = 3
SELF_PAIRS = 1000  # sentences cut into claims, four pairs each


@dataclass(frozen=True)
class Pair:
    claim: str
    sentence: str
    stance: Stance
    origin: str  # rationale, neutral, perturbed, self


def split_claims(claims: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    parts: dict[str, list[dict[str, Any]]] = {part: [] for part in CLAIM_SPLITS}
    for claim in claims:
        parts[claim_split(claim["cited_doc_ids"])].append(claim)
    return parts


def sentences_of(text: str) -> list[tuple[int, int]]:
    return [(a, b) for a, b in sentence_spans(text) if len(text[a:b].split()) >= 4]


def rationale_spans(claim: dict[str, Any]) -> Iterator[tuple[str, str, tuple[int, int]]]:
    """(document id, label, span) of each rationale sentence."""
    for doc_id, labelled in dict(claim.get("evidence") or {}).items():
        for annotation in labelled:
            for start, end in annotation["spans"]:
                yield str(doc_id), str(annotation["label"]), (int(start), int(end))


def _overlaps(span: tuple[int, int], others: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in others)


def claim_pairs(
    claim: dict[str, Any], corpus: dict[str, str], rng: random.Random, perturb: bool
) -> list[Pair]:
    text = str(claim["claim"])
    pairs: list[Pair] = []
    gold: dict[str, list[tuple[int, int]]] = {}
    for doc_id, label, span in rationale_spans(claim):
        if doc_id not in corpus:
            continue
        gold.setdefault(doc_id, []).append(span)
        sentence = corpus[doc_id][span[0] : span[1]].strip()
        stance = Stance.SUPPORTS if label == "SUPPORT" else Stance.CONTRADICTS
        pairs.append(Pair(text, sentence, stance, "rationale"))
        if perturb and label == "SUPPORT":
            false_claim = perturbed(text, rng)
            if false_claim is not None:
                pairs.append(Pair(false_claim, sentence, Stance.CONTRADICTS, "perturbed"))
    others: list[str] = []
    for doc_id in map(str, claim["cited_doc_ids"]):
        body = corpus.get(doc_id, "")
        others += [
            body[a:b] for a, b in sentences_of(body) if not _overlaps((a, b), gold.get(doc_id, []))
        ]
    if others:
        scores = words.bm25_among(text, others)
        ranked = [s for _, s in sorted(zip(scores, others, strict=True), key=lambda p: -p[0])]
        chosen = ranked[: NEUTRAL_PER_CLAIM - 1] + rng.sample(others, 1)
        pairs += [Pair(text, s, Stance.NEUTRAL, "neutral") for s in dict.fromkeys(chosen)]
        if perturb and claim["label"] == "SUPPORT":
            false_claim = perturbed(text, rng)
            if false_claim is not None:
                pairs.append(Pair(false_claim, rng.choice(others), Stance.NEUTRAL, "perturbed"))
    return pairs


def self_pairs(
    abstracts: list[list[str]], rng: random.Random, count: int = SELF_PAIRS
) -> list[Pair]:
    """Claims cut from a sentence: a part of it (some of its clauses) is supported by it,
    the part made false contradicts it, and both are neutral to another sentence of the same
    abstract (related, but silent on the claim)."""
    pairs: list[Pair] = []
    usable = [a for a in abstracts if len(a) >= 2]
    while len(pairs) < 4 * count and usable:
        abstract = rng.choice(usable)
        position = rng.randrange(len(abstract))
        sentence = abstract[position]
        claim = part_of(sentence, rng)
        false_claim = perturbed(claim, rng)
        if false_claim is None:
            continue
        other = rng.choice([s for i, s in enumerate(abstract) if i != position])
        pairs += [
            Pair(claim, sentence, Stance.SUPPORTS, "self"),
            Pair(false_claim, sentence, Stance.CONTRADICTS, "self"),
            Pair(claim, other, Stance.NEUTRAL, "self"),
            Pair(false_claim, other, Stance.NEUTRAL, "self"),
        ]
    return pairs


_CLAUSE_BREAK = re.compile(r",\s+|;\s+|\s+(?=(?:and|but|while|whereas|which|although)\s)")


def part_of(sentence: str, rng: random.Random) -> str:
    """A run of the sentence's clauses (at least five words), as a sentence of its own; the
    whole sentence when it has one clause."""
    bounds = [0, *(m.end() for m in _CLAUSE_BREAK.finditer(sentence)), len(sentence)]
    pieces = [sentence[a:b].strip(" ,;") for a, b in itertools.pairwise(bounds)]
    pieces = [p for p in pieces if p]
    for _ in range(8):
        first = rng.randrange(len(pieces))
        last = rng.randrange(first, len(pieces))
        text = " ".join(pieces[first : last + 1]).rstrip(".")
        if len(text.split()) >= 5:
            return text[0].upper() + text[1:] + "."
    return sentence


# Rules that make a statement false. Each returns None when it does not apply.
_ANTONYMS = {
    "increases": "decreases",
    "increase": "decrease",
    "increased": "decreased",
    "increasing": "decreasing",
    "reduces": "increases",
    "reduce": "increase",
    "reduced": "increased",
    "higher": "lower",
    "lower": "higher",
    "more": "fewer",
    "less": "more",
    "greater": "smaller",
    "positive": "negative",
    "negative": "positive",
    "promotes": "inhibits",
    "promote": "inhibit",
    "inhibits": "promotes",
    "inhibit": "promote",
    "activates": "suppresses",
    "suppresses": "activates",
    "enhances": "impairs",
    "impairs": "enhances",
    "improves": "worsens",
    "improved": "worsened",
    "induces": "prevents",
    "prevents": "induces",
    "upregulates": "downregulates",
    "downregulates": "upregulates",
    "accelerates": "slows",
    "stimulates": "suppresses",
    "raises": "lowers",
    "lowers": "raises",
    "elevated": "reduced",
    "rise": "fall",
    "rose": "fell",
    "fell": "rose",
    "agreed": "refused",
    "refused": "agreed",
    "accepted": "rejected",
    "rejected": "accepted",
    "won": "lost",
    "lost": "won",
    "allowed": "banned",
    "banned": "allowed",
    "before": "after",
    "after": "before",
    "with": "without",
    "without": "with",
    "present": "absent",
    "absent": "present",
    "effective": "ineffective",
    "ineffective": "effective",
    "safe": "unsafe",
    "common": "rare",
    "rare": "common",
    "high": "low",
    "low": "high",
    "strong": "weak",
    "weak": "strong",
    "larger": "smaller",
    "smaller": "larger",
    "longer": "shorter",
    "shorter": "longer",
    "gain": "loss",
    "loss": "gain",
    "killed": "spared",
    "support": "oppose",
    "supports": "opposes",
    "supported": "opposed",
    "opposed": "supported",
    "cooperate": "refuse to cooperate",
    "cooperated": "refused to cooperate",
    "confirmed": "denied",
    "denied": "confirmed",
    "approved": "rejected",
    "up": "down",
    "down": "up",
    "all": "no",
    "always": "never",
    "never": "always",
    "required": "not required",
    "associated": "unrelated",
}
_AUXILIARIES = re.compile(
    r"\b(is|are|was|were|can|could|will|would|may|might|should|must|does|do|did)\b(?!\s+not\b)"
)
_NEGATED = re.compile(
    r"\b(is|are|was|were|can|could|will|would|may|might|should|must|does|do|did)\s+not\b"
)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.]*\d)")
_WORD_NUMBERS = {
    "one": "three",
    "two": "five",
    "three": "seven",
    "four": "nine",
    "five": "two",
    "six": "ten",
    "seven": "four",
    "eight": "three",
    "nine": "two",
    "ten": "forty",
    "twelve": "two",
    "twenty": "ninety",
    "hundred": "thousand",
    "thousand": "hundred",
    "double": "halve",
    "doubled": "halved",
    "half": "twice",
}


def _negate(text: str, rng: random.Random) -> str | None:
    negated = _NEGATED.search(text)
    if negated:  # remove a negation
        return text[: negated.end(1)] + text[negated.end() :]
    auxiliary = _AUXILIARIES.search(text)
    if auxiliary:
        return text[: auxiliary.end()] + " not" + text[auxiliary.end() :]
    return None


def _antonym(text: str, rng: random.Random) -> str | None:
    words = list(re.finditer(r"[A-Za-z]+", text))
    found = [w for w in words if w.group().lower() in _ANTONYMS]
    if not found:
        return None
    word = rng.choice(found)
    swap = _ANTONYMS[word.group().lower()]
    if word.group()[0].isupper():
        swap = swap[0].upper() + swap[1:]
    return text[: word.start()] + swap + text[word.end() :]


def _number(text: str, rng: random.Random) -> str | None:
    numbers = list(_NUMBER.finditer(text))
    if numbers:
        match = rng.choice(numbers)
        value = float(match.group(1))
        changed = value * rng.choice((2, 3, 0.5, 10)) + rng.choice((0, 1, 7))
        if changed == value:
            changed = value + 1
        new = f"{changed:.{len(match.group(1).partition('.')[2])}f}"
        if rng.random() < 0.15 and value >= 1 and "." not in match.group(1):
            new = "no"
        return text[: match.start()] + new + text[match.end() :]
    words = [w for w in re.finditer(r"[A-Za-z]+", text) if w.group().lower() in _WORD_NUMBERS]
    if not words:
        return None
    word = rng.choice(words)
    return text[: word.start()] + _WORD_NUMBERS[word.group().lower()] + text[word.end() :]


_RULES = (_negate, _antonym, _number)


def perturbed(text: str, rng: random.Random) -> str | None:
    """The statement made false by one rule chosen at random among those that apply."""
    rules = list(_RULES)
    rng.shuffle(rules)
    for rule in rules:
        result = rule(text, rng)
        if result is not None and result != text:
            return result
    return None
