"""What an ingest job is: its records (as received), its progress and the records it refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from index.errors import EngineError


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class JobRecord:
    """One document as received: the JSON text of an NDJSON ``line`` (1-based) or of the
    ``index``-th (0-based) element of a JSON body; ``body`` None for a line that was not UTF-8."""

    position: int  # 0-based order in the job: where a resumed job goes on from
    line: int | None
    index: int | None
    body: str | None


@dataclass(frozen=True)
class RecordError:
    """A record that was not ingested, and why: ``field`` is "" for the record as a whole."""

    position: int
    line: int | None
    index: int | None
    document_id: str | None
    field: str
    message: str


@dataclass(frozen=True)
class Job:
    id: str
    collection: str  # where its documents go
    # when that collection was created (None: a job from before collections, the default's)
    collection_created_at: datetime | None
    status: JobStatus
    total: int
    done: int  # records ingested (created, updated or unchanged)
    failed: int  # records refused (their errors say why)
    next_position: int  # records before this one are done or failed
    errors: list[RecordError]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None  # why a failed job stopped


def timestamp(seconds: float | None) -> datetime | None:
    """A stored epoch time as an aware UTC datetime."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class JobNotFoundError(EngineError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"no ingest job with id {job_id!r}")
        self.job_id = job_id


class JobFinishedError(EngineError):
    """A finished job cannot be cancelled."""

    def __init__(self, job_id: str, status: JobStatus) -> None:
        super().__init__(f"ingest job {job_id!r} already {status.value}")
        self.job_id = job_id
        self.status = status


class TooManyRecordsError(EngineError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"holds more than {limit} documents")
        self.limit = limit


class TooManyJobsError(EngineError):
    """As many jobs as allowed are queued or running: a new one waits for one of them."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"{limit} ingest jobs are already queued or running (SEMSEARCH_MAX_ACTIVE_JOBS); "
            "retry when one has finished"
        )
        self.limit = limit


@dataclass(frozen=True)
class JobLimits:
    """What the job store keeps: ``errors_kept`` refused records per job (``failed`` counts
    them all), at most ``max_active`` jobs queued or running, and finished jobs for
    ``retention_seconds`` and no more than the newest ``finished_kept`` of them."""

    errors_kept: int = 1000
    max_active: int = 100
    finished_kept: int = 1000
    retention_seconds: float = 7 * 24 * 3600.0


class RecordProblem(ValueError):
    """Raised by a record parser: the record is not a document (``field`` "" for the whole)."""

    def __init__(self, field: str, message: str, document_id: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.document_id = document_id  # when the record names one
