"""Saves collections' vector index files in the background, off the write path.

A write is durable once SQLite commits it; the FAISS file is a cache that only spares a start
the work of bringing it up to date. So a write never waits for that file: once enough changes
have piled up since the last save, the collection asks this thread to save it, and searches
and further writes go on meanwhile (a save holds the search lock as a reader while it writes
the index out, so only writes wait, and only for that copy).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

log = logging.getLogger(__name__)

# A collection's index file is saved once this many chunk changes (added or removed), or a
# quarter of its vectors if more, have been applied since its last save: a start after a crash
# applies at most that many from the store (8 s for 100,000 on a 1.1M-chunk store), and a
# steady stream of one-document writes rewrites the file once per thousands of them.
SAVE_AFTER_CHANGES = 10_000


class Saved(Protocol):
    name: str

    def in_use(self) -> AbstractContextManager[bool]:
        """Held while saving: closing waits for it. Yields False once closed."""

    def save_vectors(self) -> None:
        """Save the vector index file if it lags the store (closing saves what is left)."""


class IndexSaver:
    """One thread that saves the collections asked for, one at a time, oldest request first."""

    def __init__(self) -> None:
        self._waiting: dict[int, Saved] = {}  # by id(): a collection reopened is another object
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="vector-index-saver", daemon=True)
        self._thread.start()

    def request(self, collection: Saved) -> None:
        """Save ``collection`` soon (once, however often it is asked before the save)."""
        with self._wake:
            self._waiting.setdefault(id(collection), collection)
            self._wake.notify()

    def close(self) -> None:
        """Stop once the save under way ends; what is still waiting is saved by closing the
        collections."""
        with self._wake:
            self._stopping = True
            self._waiting.clear()
            self._wake.notify()
        self._thread.join()

    def _run(self) -> None:
        for collection in self._requests():
            with collection.in_use() as still_open:
                if still_open:  # else closing it saved it
                    try:
                        collection.save_vectors()
                    except Exception:  # never let one collection stop the saves of others
                        log.exception("saving the vector index of %s failed", collection.name)

    def _requests(self) -> Iterator[Saved]:
        while True:
            with self._wake:
                while not self._waiting and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                key = next(iter(self._waiting))
                collection = self._waiting.pop(key)
            yield collection
