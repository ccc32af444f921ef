"""The worker: claims ingest jobs and writes their records in committed batches, recording
progress after each, so a job killed mid-way goes on from its last committed batch.

One job at a time per process: a batch already keeps every core busy embedding (or a whole Ray
cluster). A record written before a crash but after its batch's progress was lost is written
again on resume; its content hash matches, so it is not embedded again and appears once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from index.bulk import BatchReport, Item, Preparation, ingest
from index.engine import SearchEngine
from index.errors import ClusterUnavailableError, EngineError, StorageError
from index.jobs.models import Job, JobRecord, JobStatus, RecordError, RecordProblem
from index.jobs.store import JobStore
from index.models import CollectionRef, DocumentInput

log = logging.getLogger(__name__)
_RECORDS_PER_READ = 1000
_PRUNE_EVERY = 600.0  # seconds between removals of expired jobs (and after each job)

Parse = Callable[[str], DocumentInput]  # raises RecordProblem


@dataclass
class JobTotals:
    """What this process's worker has done since it started (for metrics)."""

    ingested: int = 0
    failed: int = 0
    seconds: float = 0.0  # spent working on jobs


class JobRunner:
    """Works through queued jobs in a background thread until stopped."""

    def __init__(
        self,
        engine: SearchEngine,
        store: JobStore,
        parse: Parse,
        max_chars: int | None = None,
        batch_size: int = 64,
        preparation: Preparation | None = None,
        poll_seconds: float = 2.0,
        lease_seconds: float = 60.0,
    ) -> None:
        self._engine = engine
        self._store = store
        self._parse = parse
        self._max_chars = max_chars
        self._batch_size = batch_size
        self._preparation = preparation
        self._poll = poll_seconds
        self._lease = lease_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.totals = JobTotals()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ingest-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the batch in hand, then stop; a job left unfinished can be claimed at once."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._preparation is not None:
            self._preparation.close()
        try:
            self._store.release(self.owner)
        except StorageError as error:
            log.warning("could not release this worker's jobs: %s", error)

    def _loop(self) -> None:
        pruned = -_PRUNE_EVERY
        while not self._stopping.is_set():
            if time.monotonic() - pruned >= _PRUNE_EVERY:
                self._prune()
                pruned = time.monotonic()
            try:
                job = self._store.claim(self.owner, self._lease)
            except StorageError as error:
                log.warning("cannot claim ingest jobs: %s", error)
                job = None
            if job is None:
                self._wake.wait(self._poll)
                self._wake.clear()
                continue
            self._run(job)
            pruned = -_PRUNE_EVERY  # a job finished: the kept ones may be one too many

    def _prune(self) -> None:
        """Remove finished jobs past their retention (JobLimits), as the store is bounded."""
        try:
            removed = self._store.prune()
        except StorageError as error:
            log.warning("could not remove expired ingest jobs: %s", error)
            return
        if removed:
            log.info("removed %d expired ingest jobs", removed)

    def _run(self, job: Job) -> None:
        fields = {
            "job_id": job.id,
            "collection": job.collection,
            "total": job.total,
            "from_position": job.next_position,
        }
        log.info("ingest job started", extra={"fields": fields})
        heartbeat = _Heartbeat(self._store, job.id, self.owner, self._lease)
        started = time.monotonic()
        try:
            items = (self._item(record) for record in self._records(job))
            for report in ingest(
                self._engine,
                items,
                self._max_chars,
                self._batch_size,
                self._preparation,
                collection=CollectionRef(job.collection, job.collection_created_at),
            ):
                status = self._advance(job, report)
                if status is not JobStatus.RUNNING:
                    log.info(
                        "ingest job stopped",
                        extra={"fields": {"job_id": job.id, "status": str(status)}},
                    )
                    return
                if self._stopping.is_set():
                    return  # released on stop: the next start goes on from here
            self._store.finish(job.id, self.owner, JobStatus.SUCCEEDED)
            log.info("ingest job succeeded", extra={"fields": {"job_id": job.id}})
        except (StorageError, ClusterUnavailableError) as error:
            # The store or the cluster may come back: the job stays running, and is claimed
            # again once its lease runs out.
            log.warning("ingest job paused: %s", error, extra={"fields": {"job_id": job.id}})
        except EngineError as error:
            self._fail(job, str(error))
        except Exception as error:  # a bug must not kill the worker, nor leave the job running
            log.exception("ingest job failed", extra={"fields": {"job_id": job.id}})
            self._fail(job, f"internal error: {type(error).__name__}")
        finally:
            heartbeat.stop()
            self.totals.seconds += time.monotonic() - started

    def _advance(self, job: Job, report: BatchReport[JobRecord]) -> JobStatus | None:
        refused = [
            RecordError(r.key.position, r.key.line, r.key.index, r.document_id, r.field, r.message)
            for r in report.refused
        ]
        next_position = report.keys[-1].position + 1
        status = self._store.advance(
            job.id,
            self.owner,
            next_position,
            len(report.written),
            refused,
            self._lease,
        )
        self.totals.ingested += len(report.written)
        self.totals.failed += len(refused)
        log.info(
            "ingest job batch committed",
            extra={
                "fields": {
                    "job_id": job.id,
                    "next_position": next_position,
                    "ingested": len(report.written),
                    "failed": len(refused),
                }
            },
        )
        return status

    def _fail(self, job: Job, reason: str) -> None:
        log.error("ingest job failed: %s", reason, extra={"fields": {"job_id": job.id}})
        try:
            self._store.finish(job.id, self.owner, JobStatus.FAILED, reason)
        except StorageError as error:
            log.warning("could not record the failure of job %s: %s", job.id, error)

    def _records(self, job: Job) -> Iterator[JobRecord]:
        start = job.next_position
        while True:
            page = self._store.records(job.id, start, _RECORDS_PER_READ)
            if not page:
                return
            yield from page
            start = page[-1].position + 1

    def _item(self, record: JobRecord) -> Item[JobRecord]:
        if record.body is None:
            return Item(record, None, "", "not valid UTF-8")
        try:
            return Item(record, self._parse(record.body))
        except RecordProblem as problem:
            return Item(record, None, problem.field, problem.message, problem.document_id)


class _Heartbeat:
    """Renews a job's lease while a long batch (or a Ray window) runs."""

    def __init__(self, store: JobStore, job_id: str, owner: str, lease: float) -> None:
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(store, job_id, owner, lease), daemon=True
        )
        self._thread.start()

    def _beat(self, store: JobStore, job_id: str, owner: str, lease: float) -> None:
        while not self._stopped.wait(lease / 3):
            try:
                if not store.renew(job_id, owner, lease):
                    return
            except StorageError as error:
                log.warning("could not renew the lease of job %s: %s", job_id, error)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()
