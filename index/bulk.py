"""Writing many records (from files or an ingest job): a bad record is set aside with the reason,
the others are written in committed batches, each reported as it lands.

``SearchEngine.upsert`` is all or nothing and checks a whole batch before writing anything, so
one blank text would otherwise refuse its whole batch. Its errors name the record at fault
(``documents[3].text``): that record is taken out and the rest of the batch is tried again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from index.backends.records import PreparedDocument
from index.engine import SearchEngine
from index.errors import InvalidInputError
from index.iteration import chunked
from index.models import CollectionRef, DocumentInput, UpsertResult

_RECORD_FIELD = re.compile(r"^documents\[(\d+)\](?:\.(?P<field>.+))?$")
K = TypeVar("K")

_DEFAULT = CollectionRef()  # the default collection, whichever it is


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
    engine: SearchEngine,
    documents: Sequence[DocumentInput],
    max_chars: int | None = None,
    embedded: Mapping[str, PreparedDocument] | None = None,
    collection: CollectionRef = _DEFAULT,
) -> BatchOutcome:
    """Upsert the records the engine accepts, in one write; report the others.

    Raises:
        InvalidInputError: a problem that names no single record.
    """
    remaining = list(range(len(documents)))
    rejected: list[Rejected] = []
    while remaining:
        try:
            results = engine.upsert(
                [documents[i] for i in remaining],
                max_chars,
                embedded,
                collection.name,
                collection.created_at,
            )
        except InvalidInputError as error:
            match = _RECORD_FIELD.match(error.field)
            if match is None or int(match.group(1)) >= len(remaining):
                raise
            position = remaining.pop(int(match.group(1)))
            rejected.append(Rejected(position, match.group("field") or "", error.message))
            continue
        return BatchOutcome(list(zip(remaining, results, strict=True)), rejected)
    return BatchOutcome([], rejected)


@dataclass(frozen=True)
class Item(Generic[K]):
    """A record to ingest, keyed by where it came from: the document, or why there is none
    (``field`` "" for the record as a whole)."""

    key: K
    document: DocumentInput | None
    field: str = ""
    problem: str = ""
    document_id: str | None = None  # of a record that is no document, when it names one


@dataclass(frozen=True)
class Refusal(Generic[K]):
    key: K
    document_id: str | None
    field: str
    message: str


# A load of at least this many documents ends by refreshing the store's planner statistics
# (smaller ones are left to autovacuum, which analyses a table once a tenth of it changed).
REFRESH_AFTER_DOCUMENTS = 100


@dataclass(frozen=True)
class BatchReport(Generic[K]):
    """One committed batch: every item it covered, in order, and what became of each."""

    keys: list[K]
    written: list[tuple[K, UpsertResult]]
    refused: list[Refusal[K]]


class Preparation(Protocol):
    """Chunks and embeds documents somewhere other than this process (a Ray cluster)."""

    def prepared(self, documents: Sequence[PreparedDocument]) -> Iterable[PreparedDocument]: ...

    def close(self) -> None: ...


class LocalPreparation:
    """Chunks and embeds in this process: ``ingest`` runs it on its thread that prepares the
    next window while this one is written, so the model is kept busy through the writes."""

    def __init__(self, engine: SearchEngine) -> None:
        self._engine = engine

    def prepared(self, documents: Sequence[PreparedDocument]) -> list[PreparedDocument]:
        return self._engine.prepared(documents)

    def close(self) -> None:
        """Nothing to release."""


def ingest(
    engine: SearchEngine,
    items: Iterable[Item[K]],
    max_chars: int | None = None,
    batch_size: int = 64,
    preparation: Preparation | None = None,
    window: int = 2048,
    collection: CollectionRef = _DEFAULT,
) -> Iterator[BatchReport[K]]:
    """Write ``items`` in order, in batches of up to ``batch_size`` documents, each one
    transaction; yield a report as each commits. A batch ends before a document whose id it
    already holds, so a later record with the same id replaces an earlier one, as separate
    upserts would. Everything goes into ``collection``.

    Records are taken ``window`` at a time and chunked and embedded by ``preparation`` (only
    those whose text is new or changed), the next window while this one is written here.
    Without one they are prepared in this process a batch at a time (writing a batch takes a
    few percent of the time embedding the next one does, so one batch ahead hides it).
    """
    if preparation is None:
        preparation, window = LocalPreparation(engine), batch_size
    written = 0
    with ThreadPoolExecutor(1, thread_name_prefix="prepare-ahead") as ahead:
        windows = chunked(items, window)
        current = next(windows, None)
        if current is None:
            return
        embedding = ahead.submit(
            _embedded_elsewhere, engine, current, max_chars, preparation, collection
        )
        while current is not None:
            following = next(windows, None)
            embedded = embedding.result()
            if following is not None:
                embedding = ahead.submit(
                    _embedded_elsewhere, engine, following, max_chars, preparation, collection
                )
            for report in _written_in_batches(
                engine, current, max_chars, batch_size, embedded, collection
            ):
                written += len(report.written)
                yield report
            current = following
    if written >= REFRESH_AFTER_DOCUMENTS:  # searches right after a bulk load plan well
        engine.refresh_statistics(collection.name)


def _embedded_elsewhere(
    engine: SearchEngine,
    items: list[Item[K]],
    max_chars: int | None,
    preparation: Preparation,
    collection: CollectionRef,
) -> dict[str, PreparedDocument]:
    """The window's new or changed texts chunked and embedded by ``preparation``, by hash."""
    checked: list[PreparedDocument] = []
    for item in items:
        if item.document is not None:
            # A refused record is refused again, and reported, when its batch is written.
            with suppress(InvalidInputError):
                checked.extend(engine.validated([item.document], max_chars))
    new = engine.needing_embedding(checked, collection.name)
    return {d.content_hash: d for d in preparation.prepared(new)}


def _written_in_batches(
    engine: SearchEngine,
    items: list[Item[K]],
    max_chars: int | None,
    batch_size: int,
    embedded: Mapping[str, PreparedDocument],
    collection: CollectionRef,
) -> Iterator[BatchReport[K]]:
    for batch in _batches(items, batch_size):
        yield _written(engine, batch, max_chars, embedded, collection)


def _batches(items: list[Item[K]], batch_size: int) -> Iterator[list[Item[K]]]:
    batch: list[Item[K]] = []
    ids: set[str] = set()
    documents = 0
    for item in items:
        document_id = item.document.id if item.document is not None else None
        if documents == batch_size or (document_id is not None and document_id in ids):
            yield batch
            batch, ids, documents = [], set(), 0
        batch.append(item)
        if item.document is not None:
            documents += 1
            if document_id is not None:
                ids.add(document_id)
    if batch:
        yield batch


def _written(
    engine: SearchEngine,
    batch: list[Item[K]],
    max_chars: int | None,
    embedded: Mapping[str, PreparedDocument],
    collection: CollectionRef,
) -> BatchReport[K]:
    documents = [(n, item.document) for n, item in enumerate(batch) if item.document is not None]
    outcome = upsert_valid(engine, [d for _, d in documents], max_chars, embedded, collection)
    refusals = {
        n: Refusal(item.key, item.document_id, item.field, item.problem)
        for n, item in enumerate(batch)
        if item.document is None
    }
    for rejected in outcome.rejected:
        n, document = documents[rejected.position]
        refusals[n] = Refusal(batch[n].key, document.id, rejected.field, rejected.message)
    return BatchReport(
        keys=[item.key for item in batch],
        written=[(batch[documents[p][0]].key, result) for p, result in outcome.written],
        refused=[refusals[n] for n in sorted(refusals)],
    )
