"""What the embedded store knows of its collections without opening them: each one's creation
time and counts, read straight from its SQLite file (no vector index, no lexical index) and
kept until the next write to it, so listing collections and metrics read each store once
rather than on every call."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

CREATED_AT = "created_at"  # a collection's creation time, in its store's state table


@dataclass(frozen=True)
class Summary:
    created_at: datetime | None  # None: a store from before collections, not opened since
    documents: int
    chunks: int


def read_summary(store: Path) -> Summary:
    """The creation time and counts in the SQLite file ``store``, in one read transaction.

    Raises:
        sqlite3.Error: no such file (the collection was deleted meanwhile), or unreadable.
    """
    # mode=rw: never create a file where a deleted collection's directory was
    connection = sqlite3.connect(f"{store.absolute().as_uri()}?mode=rw", uri=True, timeout=30)
    try:
        row = connection.execute(
            "SELECT (SELECT value FROM state WHERE key = ?),"
            " (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks)",
            [CREATED_AT],
        ).fetchone()
    finally:
        connection.close()
    created = datetime.fromisoformat(row[0]) if row[0] is not None else None
    return Summary(created, int(row[1]), int(row[2]))


class SummaryCache:
    """Summaries by collection name. ``forget`` (a write, a deletion) also voids a read that
    was running meanwhile, so a count read before a commit is never kept after it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, Summary] = {}
        self._forgotten: Counter[str] = Counter()  # per name: how many times forgotten

    def get(self, name: str) -> tuple[Summary | None, int]:
        """The summary kept for ``name`` (None: read it), and the stamp ``put`` needs."""
        with self._lock:
            return self._known.get(name), self._forgotten[name]

    def put(self, name: str, stamp: int, summary: Summary) -> None:
        """Keep ``summary``, read after ``get`` gave ``stamp``, unless forgotten since."""
        with self._lock:
            if self._forgotten[name] == stamp:
                self._known[name] = summary

    def forget(self, name: str) -> None:
        with self._lock:
            self._known.pop(name, None)
            self._forgotten[name] += 1
