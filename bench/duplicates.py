"""Near-duplicate detection (index/duplicates.py), measured (`make bench-duplicates`; figures
in bench/duplicates.json).

The set is built here, with a fixed seed, from the five seed articles (news, all on one
subject: China, Pakistan and counter-terrorism) and 300 SciFact abstracts:

- copies (should be found): each original re-published one of nine ways: a new header
  (outlet, byline, "Updated ... ago"), a trimmed footer (the last tenth to quarter of its
  sentences), re-wrapped lines, a boilerplate footer added (share links, copyright), a few
  words changed (one in 60: a wire service's edits), all of the first three at once, the same
  text uploaded again; and two harder than the detector is built for, to show where it
  stops: one word in 12 changed, and only the first half of the text;
- different documents (should not be): for each SciFact original the abstract nearest to it
  by meaning (same topic, another study), the seed articles against each other (one subject,
  five outlets), and for each seed a follow-up story: another text that quotes three sentences
  of the seed.

Everything goes through the engine's ingest (embedded store): originals first, then the
copies and the different documents. Precision: of the documents given a duplicate_of, how
many are copies of exactly that original; recall: of the copies, how many name their
original. Cost: fingerprinting per document against the whole preparation (cleaning,
chunking, embedding) of the same documents.

Usage: python bench/duplicates.py [--json PATH] [--originals N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.backends import backend_config  # noqa: E402
from index.duplicates import fingerprint  # noqa: E402
from index.engine import EngineConfig, SearchEngine  # noqa: E402
from index.evaluation import corpus_documents  # noqa: E402
from index.models import DocumentInput  # noqa: E402
from index.queries import SearchQuery  # noqa: E402
from index.sources import expand_paths, read_documents  # noqa: E402
from index.text import sentence_spans  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"
HEADERS = [
    "Reuters | Updated 2 hours ago",
    "By Staff Reporter\nPublished: Monday\nShare this article",
    "ADVERTISEMENT\n\nNews Desk | 4 min read",
    "From our correspondent in the capital",
]
FOOTERS = [
    "Share on Facebook | Share on X | Email this story\n\nCopyright 2025. All rights reserved.",
    "Follow us for more updates. Subscribe to our newsletter.\n\nRelated: Top stories today",
    "This article was originally published by a partner outlet and is republished here.",
]
EDITS = [("the", "a"), ("said", "stated"), ("and", "as well as"), ("which", "that")]


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def copy_of(text: str, kind: str, rng: random.Random) -> str:
    """``text`` re-published the way ``kind`` names."""
    if kind == "header":
        return f"{rng.choice(HEADERS)}\n\n{text}"
    if kind == "trimmed footer":
        sentences = _sentences(text)
        keep = max(1, round(len(sentences) * rng.uniform(0.75, 0.9)))
        return " ".join(sentences[:keep])
    if kind == "re-wrapped":
        return "\n\n".join(textwrap.fill(p, rng.choice([60, 72, 80])) for p in text.split("\n\n"))
    if kind == "boilerplate footer":
        return f"{text}\n\n{rng.choice(FOOTERS)}"
    if kind in ("edited", "edited heavily"):
        words = text.split(" ")
        for _ in range(max(2, len(words) // (60 if kind == "edited" else 12))):
            at = rng.randrange(len(words))
            for old, new in EDITS:
                if words[at] == old:
                    words[at] = new
                    break
            else:  # another word in its place
                words[at] = rng.choice(["reportedly", "officials", "local", "new", "major"])
        return " ".join(words)
    if kind == "header + footer + re-wrapped":
        trimmed = copy_of(copy_of(text, "trimmed footer", rng), "re-wrapped", rng)
        return copy_of(trimmed, "header", rng)
    if kind == "uploaded again":
        return text
    if kind == "first half only":
        sentences = _sentences(text)
        return " ".join(sentences[: max(1, len(sentences) // 2)])
    raise ValueError(kind)


KINDS = [
    "header",
    "trimmed footer",
    "re-wrapped",
    "boilerplate footer",
    "edited",
    "header + footer + re-wrapped",
    "uploaded again",
    "edited heavily",  # one word in 12 changed: past what the detector is built for
    "first half only",  # likewise
]


def build(originals: int, seed: int = 13) -> tuple[list[DocumentInput], list[dict[str, Any]]]:
    """The originals, and the documents written after them with what each should link to."""
    rng = random.Random(seed)
    seeds = [d for p in expand_paths([ROOT / "seeds"]) for d in read_documents(p)]
    corpus = [d for d in corpus_documents(SCIFACT / "corpus.jsonl") if len(d.text) > 400]
    sample = rng.sample(corpus, originals)
    firsts = [*seeds, *sample]
    later: list[dict[str, Any]] = []
    for n, original in enumerate(firsts):
        kind = KINDS[n % len(KINDS)]
        later.append(
            {
                "document": DocumentInput(
                    text=copy_of(original.text, kind, rng), id=f"copy-{n}", title=original.title
                ),
                "kind": kind,
                "original": original.id,
            }
        )
    unused = [d for d in corpus if d.id not in {s.id for s in sample}]
    for n, original in enumerate(seeds):
        # another story (text stored nowhere) quoting three sentences of the original's
        # longest paragraph (one seed is a single paragraph of 11,000 characters)
        quoted = " ".join(_sentences(max(original.text.split("\n\n"), key=len))[:3])
        body = "\n\n".join(d.text for d in unused[3 * n : 3 * n + 3])
        follow_up = f"{body}\n\nAs reported earlier: {quoted}"
        later.append(
            {
                "document": DocumentInput(text=follow_up, id=f"follow-up-{n}"),
                "kind": "follow-up quoting three sentences",
                "original": None,
            }
        )
    return firsts, later


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--originals", type=int, default=300, help="SciFact abstracts used")
    args = parser.parse_args()
    firsts, later = build(args.originals)
    with tempfile.TemporaryDirectory() as scratch:
        engine = SearchEngine(EngineConfig(storage=backend_config(Path(scratch) / "data")))
        engine.upsert(firsts)
        # Different studies on the same topic: each SciFact original's nearest abstract by
        # meaning among 3,000 others (and the originals), from an index of its own.
        neighbours: list[dict[str, Any]] = []
        sampled = {d.id for d in firsts[5:]}
        pool = {d.id: d for d in corpus_documents(SCIFACT / "corpus.jsonl")}
        others = [d for d in pool.values() if d.id not in sampled][:3000]
        index = SearchEngine(EngineConfig(storage=backend_config(Path(scratch) / "pool")))
        index.upsert([*others, *firsts[5:]])
        for original in firsts[5:]:
            for hit in index.search(SearchQuery(original.text[:1000], k=5, highlights=0)):
                other = pool[hit.citation.document_id]
                if other.id not in sampled:
                    document = DocumentInput(
                        text=other.text, id=f"neighbour-{other.id}", title=other.title
                    )
                    kind = "nearest other abstract"
                    neighbours.append({"document": document, "kind": kind, "original": None})
                    break
        index.close()
        cases = [*later, *neighbours]
        started = time.perf_counter()
        for case in cases:
            engine.upsert([case["document"]])
        ingest_seconds = time.perf_counter() - started
        stored_first = [
            {"document": d, "kind": "original, against the others", "original": None}
            for d in firsts
        ]
        figures = _scores(engine, [*stored_first, *cases])
        texts = [case["document"].text for case in cases]
        started = time.perf_counter()
        for text in texts:
            fingerprint(text)
        fingerprint_seconds = time.perf_counter() - started
        figures["cost"] = {
            "documents": len(texts),
            "fingerprint ms per document": round(1000 * fingerprint_seconds / len(texts), 2),
            "one-document upsert ms (whole write)": round(1000 * ingest_seconds / len(texts), 1),
            "fingerprint share of the upsert": round(fingerprint_seconds / ingest_seconds, 4),
        }
        engine.close()
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


def _scores(engine: SearchEngine, cases: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind: dict[str, list[int]] = {}
    linked = right = copies = found = 0
    mistakes = []
    for case in cases:
        got = engine.get(case["document"].id).duplicate_of
        expected = case["original"]
        tally = by_kind.setdefault(case["kind"], [0, 0])
        tally[0] += 1
        tally[1] += got == expected
        if got is not None:
            linked += 1
            right += got == expected
        if expected is not None:
            copies += 1
            found += got == expected
        if got != expected:
            mistakes.append({"id": case["document"].id, "kind": case["kind"], "got": got})
    return {
        "cases": len(cases),
        "copies": copies,
        "different documents": len(cases) - copies,
        "precision": round(right / max(linked, 1), 4),
        "recall": round(found / max(copies, 1), 4),
        "right per kind": {kind: f"{ok}/{n}" for kind, (n, ok) in by_kind.items()},
        "mistakes": mistakes[:20],
    }


if __name__ == "__main__":
    main()
