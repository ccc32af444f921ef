"""Results that read well, measured (`make bench-results`; figures in bench/results.json).

- Highlights on SciFact: each SUPPORT claim of the training split with rationale sentences is
  the query; for every hit (top 10) of a gold abstract, does the top highlight overlap a gold
  rationale sentence? Against the passage's first sentence as a baseline. The claims are split
  by id: even ids chose the highlight score's mix (``--choose`` prints both halves), odd ids
  are the report.
- Grouping and diversity: document nDCG@10 and distinct documents among the top 10 hits, with
  and without ``group_by`` / ``diversity``, on SciFact's training queries (qrels) and on the
  seeds (bench/seed_claims.jsonl as queries; the seeds have no relevance labels, so distinct
  documents only).
- Cost: in-process hybrid p50 on SciFact with highlights 0 / 1 / 3, grouped and diversified,
  interleaved in one run.

Usage: python bench/results.py [--json PATH] [--choose]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from speed import _cpu_model  # noqa: E402

from index import highlights as highlight_module  # noqa: E402
from index import words  # noqa: E402
from index.backends import backend_config  # noqa: E402
from index.engine import EngineConfig, SearchEngine  # noqa: E402
from index.evaluation import (  # noqa: E402
    corpus_documents,
    gold_evidence_spans,
    index_corpus,
    ndcg_at,
    read_jsonl,
    read_qrels,
    read_queries,
)
from index.models import SearchHit  # noqa: E402
from index.queries import SearchQuery  # noqa: E402
from index.sources import expand_paths, read_documents  # noqa: E402
from index.text import sentence_spans  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"
SEED_CLAIMS = ROOT / "bench" / "seed_claims.jsonl"
ARRANGEMENTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "group_by document": {"group_by": "document"},
    "diversity 0.1": {"diversity": 0.1},
    "diversity 0.3": {"diversity": 0.3},
    "diversity 0.5": {"diversity": 0.5},
    "group_by + diversity 0.3": {"group_by": "document", "diversity": 0.3},
}


def _overlaps(span: tuple[int, int], gold: Sequence[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in gold)


def _first_sentence(hit: SearchHit) -> tuple[int, int]:
    start, end = sentence_spans(hit.text)[0]
    return hit.citation.char_start + start, hit.citation.char_start + end


def highlight_figures(engine: SearchEngine, claims: list[dict[str, Any]]) -> dict[str, Any]:
    """Top-highlight hit@1 (and hit@3 over three highlights) against the first sentence, over
    every hit of a gold abstract and over those whose passage holds a rationale sentence."""
    raw = {d.id: d.text for d in corpus_documents(SCIFACT / "corpus.jsonl") if d.id}
    tallies = {scope: [0, 0, 0, 0] for scope in ("gold abstract", "passage with rationale")}
    for claim in claims:
        gold = gold_evidence_spans(engine, claim, raw, "SUPPORT")
        if not gold:
            continue
        for hit in engine.search(SearchQuery(claim["claim"], k=10, highlights=3)):
            spans = gold.get(hit.citation.document_id)
            if not spans or not hit.highlights:
                continue
            marks = [(m.char_start, m.char_end) for m in hit.highlights]
            row = (
                1,
                _overlaps(marks[0], spans),
                any(_overlaps(m, spans) for m in marks),
                _overlaps(_first_sentence(hit), spans),
            )
            scopes = ["gold abstract"]
            if _overlaps((hit.citation.char_start, hit.citation.char_end), spans):
                scopes.append("passage with rationale")
            for scope in scopes:
                tallies[scope] = [a + b for a, b in zip(tallies[scope], row, strict=True)]
    return {
        scope: {
            "hits": hits,
            "top highlight hit@1": round(top / max(hits, 1), 3),
            "highlights hit@3": round(three / max(hits, 1), 3),
            "first sentence hit@1": round(first / max(hits, 1), 3),
        }
        for scope, (hits, top, three, first) in tallies.items()
    }


def arrangement_figures(
    engine: SearchEngine, queries: dict[str, str], qrels: dict[str, dict[str, int]] | None
) -> dict[str, dict[str, float]]:
    figures = {}
    for name, options in ARRANGEMENTS.items():
        ndcg, distinct = [], []
        for qid, text in queries.items():
            hits = engine.search(SearchQuery(text, k=10, highlights=0, **options))
            ranking = list(dict.fromkeys(h.citation.document_id for h in hits))
            distinct.append(len(ranking))
            if qrels is not None:
                ndcg.append(ndcg_at(ranking, qrels[qid], 10))
        figures[name] = {"distinct documents in top 10": round(statistics.mean(distinct), 2)}
        if qrels is not None:
            figures[name]["document nDCG@10"] = round(statistics.mean(ndcg), 4)
    return figures


def cost_figures(engine: SearchEngine, queries: Sequence[str], rounds: int = 3) -> dict[str, Any]:
    """p50 per configuration, the configurations interleaved query by query."""
    configurations: dict[str, Callable[[str], object]] = {
        "highlights 0": lambda q: engine.search(SearchQuery(q, k=10, highlights=0)),
        "highlights 1": lambda q: engine.search(SearchQuery(q, k=10, highlights=1)),
        "highlights 3": lambda q: engine.search(SearchQuery(q, k=10, highlights=3)),
        "group_by document": lambda q: engine.search(
            SearchQuery(q, k=10, highlights=0, group_by="document")
        ),
        "diversity 0.3": lambda q: engine.search(SearchQuery(q, k=10, highlights=0, diversity=0.3)),
    }
    times: dict[str, list[float]] = {name: [] for name in configurations}
    for query in queries[:20]:  # warm-up
        for run in configurations.values():
            run(query)
    for _ in range(rounds):
        for query in queries:
            for name, run in configurations.items():
                started = time.perf_counter()
                run(query)
                times[name].append((time.perf_counter() - started) * 1000)
    p50 = {name: round(statistics.median(values), 2) for name, values in times.items()}
    base = p50["highlights 0"]
    return {
        "searches per configuration": len(times["highlights 0"]),
        "hybrid p50 ms": p50,
        "added ms over highlights 0": {n: round(v - base, 2) for n, v in p50.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--choose", action="store_true", help="score both highlight mixes")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        engine = SearchEngine(EngineConfig(storage=backend_config(Path(scratch) / "scifact")))
        started = time.perf_counter()
        index_corpus(engine, list(corpus_documents(SCIFACT / "corpus.jsonl")))
        print(f"SciFact indexed in {time.perf_counter() - started:.0f} s", flush=True)
        claims = [
            c
            for c in read_jsonl(SCIFACT / "claims_train.jsonl")
            if c["label"] == "SUPPORT" and c.get("evidence")
        ]
        halves = {
            "choice (even ids)": [c for c in claims if int(c["_id"]) % 2 == 0],
            "report (odd ids)": [c for c in claims if int(c["_id"]) % 2 == 1],
        }
        chosen = (highlight_module.OVERLAP_WEIGHT, highlight_module.WORD_SCORES)
        mixes = [(0.0, words.bm25_plain), (0.3, words.bm25_among)] if args.choose else []
        mixes += [(0.3, words.bm25_plain), (0.6, words.bm25_plain)] if args.choose else [chosen]
        report["highlights"] = {}
        for weight, scores in mixes:
            highlight_module.OVERLAP_WEIGHT, highlight_module.WORD_SCORES = weight, scores
            for half, members in halves.items():
                if half.startswith("choice") and not args.choose:
                    continue
                figures = highlight_figures(engine, members)
                name = f"{half}, word weight {weight} ({scores.__name__})"
                report["highlights"][name] = figures
                print(f"highlights, {name}: {figures}", flush=True)
        highlight_module.OVERLAP_WEIGHT, highlight_module.WORD_SCORES = chosen
        queries = read_queries(SCIFACT / "queries.jsonl")
        qrels = read_qrels(SCIFACT / "qrels" / "train.tsv")
        judged = {qid: text for qid, text in queries.items() if qid in qrels}
        report["scifact"] = arrangement_figures(engine, judged, qrels)
        print(json.dumps(report["scifact"], indent=1), flush=True)
        report["cost"] = cost_figures(engine, list(judged.values())[:200])
        print(json.dumps(report["cost"], indent=1), flush=True)
        engine.close()
        seeds = SearchEngine(EngineConfig(storage=backend_config(Path(scratch) / "seeds")))
        seeds.seed([d for p in expand_paths([ROOT / "seeds"]) for d in read_documents(p)])
        seed_queries = {str(i): c["claim"] for i, c in enumerate(read_jsonl(SEED_CLAIMS))}
        report["seeds"] = arrangement_figures(seeds, seed_queries, None)
        print(json.dumps(report["seeds"], indent=1), flush=True)
        seeds.close()
    report["cpu"] = _cpu_model()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
