"""Copy one store into another (a data directory into PostgreSQL, or back): documents, chunks,
vectors and sentence vectors as stored, nothing re-embedded."""

from __future__ import annotations

from collections.abc import Callable

from index.backends.base import StorageBackend
from index.errors import InvalidInputError

BATCH = 200  # documents per read and per target transaction
_STATE = ("seeded",)  # so a copied store is not seeded again


def copy_store(
    source: StorageBackend,
    target: StorageBackend,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Copy every document of ``source`` into ``target``; returns how many.

    A target that already holds documents is refused unless ``force`` (its documents with the
    same ids are then replaced, the others kept). Each batch is one transaction of the target:
    a copy stopped midway leaves whole documents, and running it again with ``force`` finishes.

    Raises:
        InvalidInputError: the target holds documents and ``force`` is not set.
    """
    held = target.counts()[0]
    if held and not force:
        raise InvalidInputError("target", f"holds {held} documents; --force copies over them")
    copied, after = 0, None
    while batch := source.export(after, BATCH):
        target.write(batch, deletions=())
        copied += len(batch)
        after = batch[-1].id
        if progress is not None:
            progress(len(batch))
    for key in _STATE:
        value = source.state(key)
        if value is not None:
            target.set_state(key, value)
    return copied
