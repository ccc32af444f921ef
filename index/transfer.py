"""Copy one store into another (a data directory into PostgreSQL, or back): collections,
documents, chunks, vectors and sentence vectors as stored, nothing re-embedded."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from index.backends.base import StorageBackend
from index.errors import InvalidInputError

BATCH = 200  # documents per read and per target transaction
_STATE = ("seeded",)  # so a copied store is not seeded again


def copy_store(
    source: StorageBackend,
    target: StorageBackend,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
    collections: Sequence[str] | None = None,
) -> int:
    """Copy every document of ``source``'s collections (or only of ``collections``) into the
    collections of the same names in ``target``, created there when missing; returns how many.

    A target collection that already holds documents is refused unless ``force`` (its
    documents with the same ids are then replaced, the others kept). Each batch is one
    transaction of the target: a copy stopped midway leaves whole documents, and running it
    again with ``force`` finishes.

    Raises:
        InvalidInputError: a target collection holds documents and ``force`` is not set.
        CollectionNotFoundError: a named collection is not in ``source``.
    """
    names = (
        list(collections)
        if collections is not None
        else [entry.name for entry in source.collections()]
    )
    present = {entry.name for entry in target.collections()}
    for name in names:
        with source.collection(name):  # exists, or raises before anything is written
            pass
        if name not in present:
            continue
        with target.collection(name) as held:
            documents = held.counts()[0]
        if documents and not force:
            raise InvalidInputError(
                "target",
                f"its collection {name!r} holds {documents} documents; --force copies over them",
            )
    copied = 0
    for name in names:
        if name not in present:
            target.create_collection(name)
        copied += _copy_collection(source, target, name, progress)
    for key in _STATE:
        value = source.state(key)
        if value is not None:
            target.set_state(key, value)
    return copied


def _copy_collection(
    source: StorageBackend,
    target: StorageBackend,
    name: str,
    progress: Callable[[int], None] | None,
) -> int:
    copied, after = 0, None
    with source.exporting([name]) as views, target.collection(name) as destination:
        origin = views[name]
        while batch := origin.page(after, BATCH):
            destination.write(batch, deletions=())
            copied += len(batch)
            after = batch[-1].id
            if progress is not None:
                progress(len(batch))
        destination.refresh_statistics()  # a search right after the copy plans well
    return copied
