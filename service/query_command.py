"""`semsearch search` and `semsearch support`: one query or claim, printed for a person or as
the API's JSON body (`--json`); or a file of them, JSON lines in and out (`--input`, see
service/pipeline.py), as a pipeline step needs without a server."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any, TextIO

from index.engine import SearchEngine
from index.models import DEFAULT_COLLECTION, SearchMode
from service import answers, pipeline
from service.schemas import SearchResponse, SupportResponse
from service.settings import Settings


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    search = commands.add_parser(
        "search", help="search the index: print cited hits, or answer a file of queries"
    )
    search.add_argument("query", nargs="?", help="what to search for (or --input)")
    _common(search, "queries")
    search.add_argument("--min-score", type=float, help="drop hits scoring below this")
    search.add_argument("--highlights", type=int, help="sentences marked per hit (API: 1)")
    support = commands.add_parser(
        "support",
        help="find passages supporting or contradicting a claim, with a verdict; or answer a "
        "file of claims",
    )
    support.add_argument("claim", nargs="?", help="the statement to check (or --input)")
    _common(support, "claims")
    support.add_argument("--min-support", type=float, help="override SEMSEARCH_MIN_SUPPORT")
    support.add_argument(
        "--min-contradiction", type=float, help="override SEMSEARCH_MIN_CONTRADICTION"
    )


def _common(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-k", type=int, help="hits or passages (the API's default if omitted)")
    parser.add_argument("--mode", choices=[m.value for m in SearchMode])
    parser.add_argument("--offset-encoding", choices=["utf-32", "utf-16", "utf-8"])
    parser.add_argument("--filters", metavar="JSON", help="filters as the API takes them")
    parser.add_argument(
        "--collection", metavar="NAME", default=DEFAULT_COLLECTION, help="(default: default)"
    )
    parser.add_argument("--json", action="store_true", help="print the API's response body")
    parser.add_argument(
        "--input",
        metavar="FILE",
        help=f"a JSON-lines file of {what} ('-': standard input); flags set what lines omit",
    )
    parser.add_argument(
        "--output", metavar="FILE", default="-", help="where --input's answers go (default: -)"
    )
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="threads (default: one per core)"
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Exit status: 0, or 1 when a request (any line of --input) was refused; 2 for usage."""
    text = args.query if args.command == "search" else args.claim
    if (text is None) == (args.input is None):
        print(
            f"semsearch {args.command}: give either a {args.command} text or --input",
            file=sys.stderr,
        )
        return 2
    try:
        defaults = _defaults(args)
    except ValueError as error:
        print(f"semsearch {args.command}: --filters: {error}", file=sys.stderr)
        return 2
    if args.input not in (None, "-") and args.output != "-" and _same_file(args.input, args.output):
        print(f"semsearch {args.command}: --output would overwrite --input", file=sys.stderr)
        return 2
    with closing(SearchEngine(settings.engine_config())) as engine:
        if args.input is not None:
            try:
                return _run_file(engine, settings, args, defaults)
            except KeyboardInterrupt:  # the lines written so far are whole
                print(f"semsearch {args.command}: stopped", file=sys.stderr)
                return 130
        return _run_one(engine, settings, args, defaults | {_text_field(args): text})


def _same_file(first: str, second: str) -> bool:
    return Path(second).exists() and os.path.samefile(first, second)


def _defaults(args: argparse.Namespace) -> dict[str, Any]:
    """The request fields the flags set, as JSON values."""
    flags = {
        "k": args.k,
        "mode": args.mode,
        "offset_encoding": args.offset_encoding,
        "filters": json.loads(args.filters) if args.filters else None,
    }
    if args.command == "search":
        flags |= {"min_score": args.min_score, "highlights": args.highlights}
    else:
        flags |= {"min_support": args.min_support, "min_contradiction": args.min_contradiction}
    return {name: value for name, value in flags.items() if value is not None}


def _text_field(args: argparse.Namespace) -> str:
    return "query" if args.command == "search" else "claim"


def _run_one(
    engine: SearchEngine, settings: Settings, args: argparse.Namespace, fields: dict[str, Any]
) -> int:
    try:
        answer = answers.answer_fields(args.command, engine, fields, args.collection, settings)
    except answers.ITEM_ERRORS as error:
        refused = answers.item_problem(error)
        print(f"semsearch {args.command}: {refused.detail}", file=sys.stderr)
        return 1
    if args.json:
        print(pipeline.dumps(answer.model_dump(mode="json")))
    elif isinstance(answer, SearchResponse):
        _print_hits(answer)
    else:
        _print_support(answer)
    return 0


def _run_file(
    engine: SearchEngine, settings: Settings, args: argparse.Namespace, defaults: dict[str, Any]
) -> int:
    with ExitStack() as stack:
        source: TextIO = (
            sys.stdin
            if args.input == "-"
            else stack.enter_context(Path(args.input).open(encoding="utf-8"))
        )
        total = None if args.input == "-" else pipeline.count_lines(Path(args.input))
        if args.output == "-":
            sink = sys.stdout.fileno()
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            sink = os.open(args.output, flags, 0o644)
            stack.callback(os.close, sink)
        failed = pipeline.run(
            args.command,
            engine,
            settings,
            args.collection,
            defaults,
            source,
            sink,
            max(args.workers, 1),
            total,
        )
    if failed:
        print(
            f"semsearch {args.command}: {failed} lines refused (see their error)", file=sys.stderr
        )
    return 1 if failed else 0


def _print_hits(answer: SearchResponse) -> None:
    for rank, hit in enumerate(answer.hits, start=1):
        c = hit.citation
        where = ", ".join(str(x) for x in (c.title or c.document_id, c.source, c.published_at) if x)
        print(f"{rank}. [{hit.score:.3f}] {where} ({c.document_id} {c.char_start}:{c.char_end})")
        print("   " + " ".join(hit.text.split())[:300])
        for mark in hit.highlights:  # the sentences that best match the query
            print(f"   > {' '.join(mark.text.split())} ({mark.char_start}:{mark.char_end})")


def _print_support(answer: SupportResponse) -> None:
    print(
        f"{answer.verdict} (support {answer.support:.3f}, contradiction {answer.contradiction:.3f})"
    )
    for rank, passage in enumerate(answer.passages, start=1):
        c = passage.citation
        where = ", ".join(str(x) for x in (c.title or c.document_id, c.source, c.published_at) if x)
        print(
            f"{rank}. [support {passage.support:.3f}, contradiction {passage.contradiction:.3f}]"
            f" {where} ({c.document_id} {c.char_start}:{c.char_end})"
        )
        for item in passage.evidence:
            print(
                f"   {item.stance} {item.stance_probability:.2f}: {' '.join(item.text.split())}"
                f" ({item.char_start}:{item.char_end})"
            )
