"""`semsearch search|support --input`: a file of JSON lines in, one JSON line out per request.

Each input line is an object: the API's request fields (``query`` or ``claim``, ``k``, ``mode``,
``filters``, ``offset_encoding``, thresholds...) and an optional ``id``; command-line flags
set the fields a line leaves out. Each output line is the API's response body for the line,
with its ``id`` first, or ``{"id": ..., "error": problem}`` with the problem the API would
answer (status, title, detail, the failing fields). Lines come out in input order; blank lines
are skipped. Requests run on a pool of threads, one per core (the model and the indexes
release the GIL), a bounded window ahead of the line being written, and every output line is
written with one system call: a run that is stopped leaves whole lines only.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from tqdm import tqdm

from index.engine import SearchEngine
from service import answers
from service.errors import problem
from service.settings import Settings

Kind = Literal["search", "support"]
WINDOW_PER_WORKER = 8  # requests answered ahead of the line being written, per thread


@dataclass(frozen=True)
class Outcome:
    line: str  # the JSON line to write (no newline)
    failed: bool


def answer_line(
    kind: Kind,
    engine: SearchEngine,
    settings: Settings,
    collection: str,
    defaults: dict[str, Any],
    text: str,
    number: int,
) -> Outcome:
    """One input line's output line."""
    label: Any = None
    try:
        record = json.loads(text)
        if not isinstance(record, dict):
            raise ValueError("is not a JSON object")
        label = record.pop("id", None)
        response = answers.answer_fields(kind, engine, defaults | record, collection, settings)
    except answers.ITEM_ERRORS as error:  # before ValueError: a ValidationError is one too
        return _failed(label, answers.item_problem(error).model_dump(mode="json"))
    except ValueError as error:  # not JSON, or not an object
        detail = f"line {number} is not a JSON object: {error}"
        return _failed(label, problem(400, "Malformed JSON", detail).model_dump(mode="json"))
    body_json = response.model_dump(mode="json")
    return Outcome(dumps({"id": label, **body_json}), failed=False)


def _failed(label: Any, problem_json: dict[str, Any]) -> Outcome:
    return Outcome(dumps({"id": label, "error": problem_json}), failed=True)


def dumps(value: dict[str, Any]) -> str:
    # as the API writes its bodies (Starlette's JSONResponse): UTF-8, no spaces
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def run(
    kind: Kind,
    engine: SearchEngine,
    settings: Settings,
    collection: str,
    defaults: dict[str, Any],
    source: TextIO,
    sink: int,
    workers: int,
    total: int | None = None,
) -> int:
    """Answer every line of ``source`` into the file descriptor ``sink``, in order.

    Returns:
        How many lines failed.
    """
    failed = 0
    lines = ((n, text) for n, text in enumerate(source, start=1) if text.strip())
    show = sys.stderr.isatty()
    with (
        ThreadPoolExecutor(workers, thread_name_prefix=kind) as pool,
        tqdm(total=total, unit=" lines", disable=not show, file=sys.stderr) as progress,
    ):

        def answer(item: tuple[int, str]) -> Outcome:
            number, text = item
            return answer_line(kind, engine, settings, collection, defaults, text, number)

        for outcome in _ordered(pool, answer, lines, workers * WINDOW_PER_WORKER):
            _write_line(sink, outcome.line)
            failed += outcome.failed
            progress.update(1)
    return failed


def _ordered(
    pool: ThreadPoolExecutor,
    function: Callable[[tuple[int, str]], Outcome],
    items: Iterable[tuple[int, str]],
    window: int,
) -> Iterator[Outcome]:
    """``function`` over ``items`` on ``pool``, at most ``window`` ahead, results in order."""
    pending: deque[Future[Outcome]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:  # stopped early: nothing more starts
            future.cancel()


def _write_line(sink: int, line: str) -> None:
    """One line, written whole: a loop only for a pipe that takes part of it at a time."""
    data = (line + "\n").encode("utf-8")
    while data:
        written = os.write(sink, data)
        data = data[written:]


def count_lines(path: Path) -> int:
    """Non-blank lines of a file, for the progress bar's total."""
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())
