"""Taking an iterable a fixed number of items at a time (itertools.batched is Python 3.12)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def chunked(
    items: Iterable[T],
    size: int,
    weight: Callable[[T], int] | None = None,
    max_weight: int = 0,
) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter), read lazily; with
    ``weight``, a list also ends once its items weigh ``max_weight`` (bytes held, say)."""
    chunk: list[T] = []
    held = 0
    for item in items:
        chunk.append(item)
        if weight is not None:
            held += weight(item)
        if len(chunk) == size or (weight is not None and held >= max_weight):
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk
