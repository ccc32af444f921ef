"""Jobs beside the documents, on whatever SQL database the backend provides (its jobs.py opens
this store on it, with its own migrations), so any replica can report a job and a restarted
server resumes it.

A job's records are committed with it before the job is acknowledged. A worker claims a job with
a lease it renews while working; a worker that dies stops renewing, and once the lease runs out
another (or the restarted server) claims the job and goes on from its last committed batch.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import sqlalchemy
from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError

from index.errors import StorageUnavailableError
from index.iteration import chunked
from index.jobs.models import (
    Job,
    JobFinishedError,
    JobLimits,
    JobNotFoundError,
    JobRecord,
    JobStatus,
    RecordError,
    TooManyJobsError,
    TooManyRecordsError,
    timestamp,
)
from index.models import DEFAULT_COLLECTION, CollectionRef

_INSERT_ROWS = 1000  # records per INSERT statement while a job is created
_INSERT_BYTES = 8 * 1024 * 1024  # and at most this much of their bodies, held in memory at once

metadata = MetaData()
jobs = Table(
    "ingest_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    # The collection the job writes to (migration 0004; added to older jobs.sqlite3 files)
    Column("collection", String(63), nullable=False, default=DEFAULT_COLLECTION, index=True),
    # ISO 8601: which collection of that name (one deleted and made again is another)
    Column("collection_created_at", Text),
    Column("status", String(16), nullable=False, index=True),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("next_position", Integer, nullable=False, default=0),
    Column("owner", String(64)),
    Column("lease_until", Float, nullable=False, default=0.0),
    Column("created_at", Float, nullable=False, index=True),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("error", Text),
)
records = Table(
    "ingest_job_records",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("line", Integer),
    Column("item", Integer),
    Column("body", Text),
)
errors = Table(
    "ingest_job_errors",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("line", Integer),
    Column("item", Integer),
    Column("document_id", Text),
    Column("field", Text, nullable=False),
    Column("message", Text, nullable=False),
)
_ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
_FINISHED = tuple(status.value for status in JobStatus if status.finished)
_DEFAULT = CollectionRef()


class JobStore:
    """Jobs, their records and errors, on a SQLAlchemy engine."""

    def __init__(
        self,
        engine: sqlalchemy.Engine,
        clock: Callable[[], float] = time.time,
        limits: JobLimits = JobLimits(),  # noqa: B008 (frozen)
        storage_errors: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        """``storage_errors`` turns the database's own disk failures (a full disk) into
        storage errors (the backend knows its database's codes)."""
        self._engine = engine
        self._clock = clock
        self.limits = limits
        self._storage_errors = storage_errors

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self._storage_errors(), self._engine.begin() as connection:
                yield connection
        except OperationalError as error:  # a database away or too slow
            raise StorageUnavailableError(f"the job store: {error.orig}") from error

    # -- what clients do -----------------------------------------------------------------------

    def create(
        self,
        items: Iterable[JobRecord | RecordError],
        max_records: int,
        collection: CollectionRef = _DEFAULT,
    ) -> Job:
        """Commit a new queued job writing to ``collection`` with its records, in order;
        durable once this returns. A RecordError among ``items`` is a record refused on
        arrival (an NDJSON line too long to read): it is counted as failed at once.

        Raises:
            TooManyJobsError: ``limits.max_active`` jobs are queued or running.
            TooManyRecordsError: more than ``max_records`` records (nothing is kept).
        """
        job_id = uuid.uuid4().hex
        total = 0
        refused: list[RecordError] = []
        with self._transaction() as connection:
            self._check_room(connection)
            # a body may be as large as a whole upsert request: bound the bytes held too
            for batch in chunked(items, _INSERT_ROWS, _body_size, _INSERT_BYTES):
                total += len(batch)
                if total > max_records:
                    raise TooManyRecordsError(max_records)  # rolls the records back
                rows = [r for r in batch if isinstance(r, JobRecord)]
                if rows:
                    connection.execute(insert(records), [_record_row(job_id, r) for r in rows])
                refused.extend(r for r in batch if isinstance(r, RecordError))
            connection.execute(
                insert(jobs).values(
                    id=job_id,
                    collection=collection.name,
                    collection_created_at=_iso(collection.created_at),
                    status=JobStatus.QUEUED.value,
                    total=total,
                    done=0,
                    failed=len(refused),
                    next_position=0,
                    lease_until=0.0,
                    created_at=self._clock(),
                )
            )
            self._keep_errors(connection, job_id, refused, already=0)
        job = self.get(job_id)
        assert job is not None
        return job

    def check_room(self) -> None:
        """Raise TooManyJobsError if no job could be queued now (before a body is read)."""
        with self._transaction() as connection:
            self._check_room(connection)

    def _check_room(self, connection: Connection) -> None:
        active = connection.execute(
            select(func.count()).select_from(jobs).where(jobs.c.status.in_(_ACTIVE))
        ).scalar_one()
        if active >= self.limits.max_active:
            raise TooManyJobsError(self.limits.max_active)

    def _keep_errors(
        self, connection: Connection, job_id: str, refused: Sequence[RecordError], already: int
    ) -> None:
        """Store the refused records while the job keeps fewer than ``limits.errors_kept``
        (``already`` kept before these): only the first are ever shown."""
        kept = refused[: max(0, self.limits.errors_kept - already)]
        if kept:
            connection.execute(insert(errors), [_error_row(job_id, e) for e in kept])

    def get(self, job_id: str, collection: CollectionRef | None = None) -> Job | None:
        """The job with its first errors; None when there is none (in ``collection``, if
        given)."""
        with self._transaction() as connection:
            row = (
                connection.execute(select(jobs).where(jobs.c.id == job_id, _in(collection)))
                .mappings()
                .first()
            )
            if row is None:
                return None
            found = connection.execute(
                select(errors)
                .where(errors.c.job_id == job_id)
                .order_by(errors.c.position)
                .limit(self.limits.errors_kept)
            ).mappings()
            return _job(row, [_error(e) for e in found])

    def page(
        self,
        offset: int,
        limit: int,
        status: JobStatus | None,
        collection: CollectionRef | None = None,
    ) -> tuple[list[Job], int]:
        """A page of jobs (of ``collection``, if given), newest first (without their errors),
        and how many there are."""
        where = sqlalchemy.and_(
            jobs.c.status == status.value if status is not None else sqlalchemy.true(),
            _in(collection),
        )
        with self._transaction() as connection:
            total = connection.execute(select(func.count()).select_from(jobs).where(where))
            rows = connection.execute(
                select(jobs)
                .where(where)
                .order_by(jobs.c.created_at.desc(), jobs.c.id)
                .offset(offset)
                .limit(limit)
            ).mappings()
            return [_job(row, []) for row in rows], int(total.scalar_one())

    def cancel(self, job_id: str, collection: CollectionRef | None = None) -> Job:
        """Stop a queued or running job: what it committed stays, the rest is dropped.

        Raises:
            JobNotFoundError: no such job (in ``collection``, if given).
            JobFinishedError: the job already succeeded, failed or was cancelled.
        """
        with self._transaction() as connection:
            cancelled = connection.execute(
                update(jobs)
                .where(jobs.c.id == job_id, _in(collection), jobs.c.status.in_(_ACTIVE))
                .values(status=JobStatus.CANCELLED.value, finished_at=self._clock())
            )
            if cancelled.rowcount == 1:
                connection.execute(delete(records).where(records.c.job_id == job_id))
        job = self.get(job_id, collection)
        if job is None:
            raise JobNotFoundError(job_id)
        if cancelled.rowcount != 1:
            raise JobFinishedError(job_id, job.status)
        return job

    def forget(self, collection: str) -> int:
        """Delete every job of a deleted collection, with its records and errors (their ids
        and messages are that collection's data, and a new collection of the same name must
        not list them); returns how many. A worker running one stops at its next batch."""
        with self._transaction() as connection:
            ids = select(jobs.c.id).where(jobs.c.collection == collection)
            # The jobs' rows first, as a worker finishing one takes them (its row, then its
            # records): the other order deadlocked with it on PostgreSQL.
            connection.execute(ids.with_for_update())
            connection.execute(delete(records).where(records.c.job_id.in_(ids)))
            connection.execute(delete(errors).where(errors.c.job_id.in_(ids)))
            removed = connection.execute(delete(jobs).where(jobs.c.collection == collection))
            return int(removed.rowcount)

    def counts(self) -> dict[JobStatus, int]:
        """How many jobs are in each status."""
        with self._transaction() as connection:
            rows = connection.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))
            found = {JobStatus(status): int(count) for status, count in rows}
        return {status: found.get(status, 0) for status in JobStatus}

    # -- what workers do -----------------------------------------------------------------------

    def claim(self, owner: str, lease_seconds: float) -> Job | None:
        """The oldest queued job, or a running one whose worker stopped renewing its lease,
        now running for ``owner``; None when there is none."""
        now = self._clock()
        claimable = or_(
            jobs.c.status == JobStatus.QUEUED.value,
            and_(jobs.c.status == JobStatus.RUNNING.value, jobs.c.lease_until < now),
        )
        with self._transaction() as connection:
            candidates = connection.execute(
                select(jobs.c.id).where(claimable).order_by(jobs.c.created_at).limit(8)
            ).scalars()
            for job_id in list(candidates):
                # Conditional on still being claimable: of two replicas, one wins.
                claimed = connection.execute(
                    update(jobs)
                    .where(jobs.c.id == job_id, claimable)
                    .values(
                        status=JobStatus.RUNNING.value,
                        owner=owner,
                        lease_until=now + lease_seconds,
                        started_at=func.coalesce(jobs.c.started_at, now),
                    )
                )
                if claimed.rowcount == 1:
                    break
            else:
                return None
        return self.get(job_id)

    def records(self, job_id: str, start: int, limit: int) -> list[JobRecord]:
        """Up to ``limit`` records from position ``start`` on."""
        with self._transaction() as connection:
            rows = connection.execute(
                select(records)
                .where(records.c.job_id == job_id, records.c.position >= start)
                .order_by(records.c.position)
                .limit(limit)
            ).mappings()
            return [JobRecord(r["position"], r["line"], r["item"], r["body"]) for r in rows]

    def advance(
        self,
        job_id: str,
        owner: str,
        next_position: int,
        done: int,
        refused: Sequence[RecordError],
        lease_seconds: float,
    ) -> JobStatus | None:
        """Record a committed batch: ``done`` more ingested, ``refused`` more failed, the job
        going on from ``next_position``; renews the lease.

        Returns:
            The job's status now (cancelled: stop after this batch), or None when the job is
            no longer this owner's (its lease ran out and another worker has it: stop, and
            leave the batch to it).
        """
        with self._transaction() as connection:
            moved = connection.execute(
                update(jobs)
                .where(
                    jobs.c.id == job_id,
                    jobs.c.owner == owner,
                    jobs.c.status.in_((JobStatus.RUNNING.value, JobStatus.CANCELLED.value)),
                    jobs.c.next_position < next_position,
                )
                .values(
                    next_position=next_position,
                    done=jobs.c.done + done,
                    failed=jobs.c.failed + len(refused),
                    lease_until=self._clock() + lease_seconds,
                )
                .returning(jobs.c.failed, jobs.c.status)
            ).first()
            if moved is None:
                return None
            failed, status = moved
            self._keep_errors(connection, job_id, refused, already=failed - len(refused))
            return JobStatus(status)

    def renew(self, job_id: str, owner: str, lease_seconds: float) -> bool:
        """Extend the lease while a long batch runs; False if the job is no longer ours."""
        with self._transaction() as connection:
            renewed = connection.execute(
                update(jobs)
                .where(
                    jobs.c.id == job_id,
                    jobs.c.owner == owner,
                    jobs.c.status == JobStatus.RUNNING.value,
                )
                .values(lease_until=self._clock() + lease_seconds)
            )
            return renewed.rowcount == 1

    def finish(self, job_id: str, owner: str, status: JobStatus, error: str | None = None) -> None:
        """End a running job of ``owner``'s (a cancelled one stays cancelled) and drop its
        records, which are no longer needed."""
        with self._transaction() as connection:
            connection.execute(
                update(jobs)
                .where(
                    jobs.c.id == job_id,
                    jobs.c.owner == owner,
                    jobs.c.status == JobStatus.RUNNING.value,
                )
                .values(status=status.value, finished_at=self._clock(), error=error)
            )
            connection.execute(delete(records).where(records.c.job_id == job_id))

    def prune(self) -> int:
        """Remove finished jobs past ``limits.retention_seconds``, and the oldest beyond the
        newest ``limits.finished_kept``, with their errors; returns how many."""
        cutoff = self._clock() - self.limits.retention_seconds
        with self._transaction() as connection:
            finished = jobs.c.status.in_(_FINISHED)
            newest = (
                select(jobs.c.id)
                .where(finished)
                .order_by(jobs.c.finished_at.desc(), jobs.c.id)
                .limit(self.limits.finished_kept)
            )
            expired = select(jobs.c.id).where(
                finished,
                or_(jobs.c.finished_at < cutoff, jobs.c.id.not_in(newest.scalar_subquery())),
            )
            ids = list(connection.execute(expired).scalars())
            for batch in chunked(ids, 500):
                connection.execute(delete(errors).where(errors.c.job_id.in_(batch)))
                connection.execute(delete(records).where(records.c.job_id.in_(batch)))
                connection.execute(delete(jobs).where(jobs.c.id.in_(batch)))
            return len(ids)

    def release(self, owner: str | None = None) -> int:
        """Let running jobs be claimed again at once: ``owner``'s on a clean stop, or every
        one when this process alone can be working on the store (the embedded backend, whose
        data directory it has locked, after a crash)."""
        with self._transaction() as connection:
            where = [jobs.c.status == JobStatus.RUNNING.value]
            if owner is not None:
                where.append(jobs.c.owner == owner)
            released = connection.execute(update(jobs).where(*where).values(lease_until=0.0))
            return int(released.rowcount)


def _iso(moment: datetime | None) -> str | None:
    """A creation time as stored: ISO 8601 in UTC, so equal instants are equal strings."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _moment(stored: str | None) -> datetime | None:
    return None if stored is None else datetime.fromisoformat(stored)


def _in(collection: CollectionRef | None) -> sqlalchemy.ColumnElement[bool]:
    """Jobs of ``collection`` (every job when None): of that name and, when its creation time
    is given, of that very collection (a job kept from before collections is the default's)."""
    if collection is None:
        return sqlalchemy.true()
    if collection.created_at is None:
        return jobs.c.collection == collection.name
    return and_(
        jobs.c.collection == collection.name,
        or_(
            jobs.c.collection_created_at.is_(None),
            jobs.c.collection_created_at == _iso(collection.created_at),
        ),
    )


def _body_size(item: JobRecord | RecordError) -> int:
    return len(item.body or "") if isinstance(item, JobRecord) else 0


def _record_row(job_id: str, record: JobRecord) -> dict[str, object]:
    return {
        "job_id": job_id,
        "position": record.position,
        "line": record.line,
        "item": record.index,
        "body": record.body,
    }


def _error_row(job_id: str, error: RecordError) -> dict[str, object]:
    return {
        "job_id": job_id,
        "position": error.position,
        "line": error.line,
        "item": error.index,
        "document_id": error.document_id,
        "field": error.field,
        "message": error.message,
    }


def _error(row: Any) -> RecordError:
    return RecordError(
        row["position"], row["line"], row["item"], row["document_id"], row["field"], row["message"]
    )


def _job(row: Any, found: list[RecordError]) -> Job:
    created = timestamp(row["created_at"])
    assert created is not None
    return Job(
        id=row["id"],
        collection=row["collection"],
        collection_created_at=_moment(row["collection_created_at"]),
        status=JobStatus(row["status"]),
        total=row["total"],
        done=row["done"],
        failed=row["failed"],
        next_position=row["next_position"],
        errors=found,
        created_at=created,
        started_at=timestamp(row["started_at"]),
        finished_at=timestamp(row["finished_at"]),
        error=row["error"],
    )
