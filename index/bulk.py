"""Writing many records from files (or, later, jobs): a bad record is set aside with the reason
the engine gave, and the others are written.

``SearchEngine.upsert`` is all or nothing and checks a whole batch before writing anything, so
one blank text would otherwise refuse its whole batch. Its errors name the record at fault
(``documents[3].text``): that record is taken out and the rest of the batch is tried again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.engine import SearchEngine
from index.errors import InvalidInputError
from index.models import DocumentInput, UpsertResult

_RECORD_FIELD = re.compile(r"^documents\[(\d+)\](?:\.(?P<field>.+))?$")


@dataclass(frozen=True)
class Rejected:
    """A record the engine refused: its position in the batch given, the field at fault
    ("" for the record as a whole) and why."""

    position: int
    field: str
    message: str


@dataclass(frozen=True)
class BatchOutcome:
    written: list[tuple[int, UpsertResult]]  # (position in the batch given, result)
    rejected: list[Rejected]


def upsert_valid(
    engine: SearchEngine, documents: Sequence[DocumentInput], max_chars: int | None = None
) -> BatchOutcome:
    """Upsert the records the engine accepts, in one write; report the others.

    Raises:
        InvalidInputError: a problem that names no single record.
    """
    remaining = list(range(len(documents)))
    rejected: list[Rejected] = []
    while remaining:
        try:
            results = engine.upsert([documents[i] for i in remaining], max_chars)
        except InvalidInputError as error:
            match = _RECORD_FIELD.match(error.field)
            if match is None or int(match.group(1)) >= len(remaining):
                raise
            position = remaining.pop(int(match.group(1)))
            rejected.append(Rejected(position, match.group("field") or "", error.message))
            continue
        return BatchOutcome(list(zip(remaining, results, strict=True)), rejected)
    return BatchOutcome([], rejected)
