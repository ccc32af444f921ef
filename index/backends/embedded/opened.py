"""The collections the embedded store holds open: opened on use, closed when idle.

An open collection holds file descriptors, its vector index in memory and tantivy's threads,
so at most ``limit`` stay open besides the pinned ones (the default collection): opening one
more closes the least recently used one that no call is using, and a sweeper thread closes
those unused for ``idle_seconds``. A call never loses its collection: closing waits for the
calls in flight, and a call that finds the collection it looked up closed looks again, which
opens it anew. Opening and closing happen one at a time, so a name is never open twice (two
tantivy writers, two loads of one vector file).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)


class Openable(Protocol):
    def in_use(self) -> AbstractContextManager[bool]:
        """Held by a call: closing waits for it. Yields False if it was closed before."""

    def idle_seconds(self) -> float | None:
        """Seconds since the last call ended; None while a call is using it."""

    def close(self) -> None: ...


C = TypeVar("C", bound=Openable)


class OpenCollections(Generic[C]):
    """At most ``limit`` collections open besides the pinned ones, each opened by ``opener``
    (which raises CollectionNotFoundError for a name that is not a collection)."""

    def __init__(self, opener: Callable[[str], C], limit: int, idle_seconds: float) -> None:
        if limit < 1 or idle_seconds <= 0:
            raise ValueError("limit must be at least 1 and idle_seconds positive")
        self._opener = opener
        self._limit = limit
        self._idle_seconds = idle_seconds
        self._lock = threading.Lock()  # guards the two dicts
        self._opening = threading.Lock()  # one open or close at a time
        self._pinned: dict[str, C] = {}
        self._open: OrderedDict[str, C] = OrderedDict()  # least recently used first
        self._stop = threading.Event()
        self._sweeper = threading.Thread(
            target=self._sweep_while_running, name="collection-sweeper", daemon=True
        )
        self._sweeper.start()

    def pin(self, name: str) -> None:
        """Open ``name`` and keep it open until ``close``."""
        with self._opening:
            collection = self._opener(name)
            with self._lock:
                self._pinned[name] = collection

    def open_count(self) -> int:
        with self._lock:
            return len(self._pinned) + len(self._open)

    @contextmanager
    def if_open(self, name: str) -> Iterator[C | None]:
        """The collection ``name`` if it is open now (held for the block), else None; its
        place among the least recently used is left as it was."""
        with self._lock:
            found = self._pinned.get(name) or self._open.get(name)
        if found is None:
            yield None
            return
        with found.in_use() as usable:
            yield found if usable else None

    @contextmanager
    def using(self, name: str) -> Iterator[C]:
        """The collection ``name``, open until the block ends."""
        while True:
            collection = self._get(name)
            with collection.in_use() as usable:
                if usable:
                    yield collection
                    return
            # closed (least used, or idle) between the lookup and now: look again

    @contextmanager
    def closed(self, name: str) -> Iterator[None]:
        """``name`` closed once the calls in flight in it end, and not opened again until the
        block ends (a deletion renames its directory meanwhile)."""
        with self._opening:
            with self._lock:
                found = self._open.pop(name, None)
            if found is not None:
                found.close()
            yield

    def sweep(self) -> int:
        """Close the collections unused for ``idle_seconds``; returns how many."""
        with self._opening:
            with self._lock:
                idle = [
                    name
                    for name, collection in self._open.items()
                    if (seconds := collection.idle_seconds()) is not None
                    and seconds >= self._idle_seconds
                ]
                closing = [self._open.pop(name) for name in idle]
            for collection in closing:
                collection.close()
        return len(closing)

    def close(self) -> None:
        """Stop the sweeper and close every collection (pinned ones too)."""
        self._stop.set()
        if self._sweeper is not threading.current_thread():
            self._sweeper.join()
        with self._opening:
            with self._lock:
                closing = [*self._open.values(), *self._pinned.values()]
                self._open.clear()
                self._pinned.clear()
            for collection in closing:
                collection.close()

    def _get(self, name: str) -> C:
        found = self._lookup(name)
        if found is not None:
            return found
        with self._opening:
            found = self._lookup(name)  # opened while this call waited
            if found is not None:
                return found
            collection = self._opener(name)
            with self._lock:
                self._open[name] = collection
                surplus = self._surplus()
            for old in surplus:  # inside the opening lock: none of them reopens meanwhile
                old.close()
            return collection

    def _lookup(self, name: str) -> C | None:
        with self._lock:
            pinned = self._pinned.get(name)
            if pinned is not None:
                return pinned
            found = self._open.get(name)
            if found is not None:
                self._open.move_to_end(name)
            return found

    def _surplus(self) -> list[C]:
        """Take out the least recently used collections beyond the limit that no call is
        using (never the newest: its caller is about to use it). Held ones stay open over the
        limit for now; the next open or sweep closes them."""
        surplus = []
        for name, collection in list(self._open.items())[:-1]:
            if len(self._open) <= self._limit:
                break
            if collection.idle_seconds() is not None:
                surplus.append(self._open.pop(name))
        return surplus

    def _sweep_while_running(self) -> None:
        interval = min(max(self._idle_seconds / 2, 0.1), 30.0)
        while not self._stop.wait(interval):
            try:
                closed = self.sweep()
            except Exception:  # never let the sweeper die: the next round tries again
                log.exception("closing idle collections failed")
                continue
            if closed:
                log.debug("closed %d idle collection(s)", closed)
