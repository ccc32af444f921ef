"""/v1/ingest-jobs: queue a large load (JSON or NDJSON), follow it, list jobs, cancel one."""

from __future__ import annotations

from typing import IO, Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status

from index.jobs.models import Job, JobNotFoundError, JobStatus, TooManyRecordsError
from service.auth import READ, WRITE
from service.deps import AppState, StateDep
from service.errors import ContentTooLargeError, problem_responses
from service.job_intake import (
    JSON,
    NDJSON,
    body_format,
    json_records,
    ndjson_records,
    spooled,
)
from service.schemas import MAX_OFFSET, IngestJob, IngestJobError, IngestJobPage, next_offset

router = APIRouter(prefix="/v1/ingest-jobs", tags=["ingest jobs"])
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
JobId = Annotated[str, Path(pattern=JOB_ID_PATTERN, description="The job's id.")]
_NOT_FOUND = {404: "No such ingest job."}
_REQUEST_BODY = {
    "required": True,
    "description": 'The documents, as `application/json` (`{"documents": [...]}`, checked '
    "against the schema on arrival: 422 naming the field) or `application/x-ndjson` (one "
    "NewDocument per line, streamed; each line is checked when the job runs, and a bad one is "
    "skipped and listed in the job's `errors` with its line). At most "
    "SEMSEARCH_MAX_JOB_DOCUMENTS documents (default 1,000,000) and SEMSEARCH_MAX_JOB_BYTES "
    "bytes (default 1 GiB); 413 above.",
    "content": {
        JSON: {"schema": {"$ref": "#/components/schemas/IngestJobRequest"}},
        # The raw bytes of a file, so a generated client can stream one (JSON lines are not
        # one JSON value a schema could describe).
        NDJSON: {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": "UTF-8 lines, each one NewDocument as JSON; blank lines skipped.",
            },
            "example": '{"id": "a", "text": "First document."}\n'
            '{"id": "b", "text": "Second document."}\n',
        },
    },
}


def job_view(job: Job) -> IngestJob:
    return IngestJob(
        id=job.id,
        status=job.status.value,
        total=job.total,
        done=job.done,
        failed=job.failed,
        errors=[
            IngestJobError(
                line=e.line, index=e.index, id=e.document_id, field=e.field, message=e.message
            )
            for e in job.errors
        ],
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
    )


@router.post(
    "",
    operation_id="createIngestJob",
    summary="Queue documents for ingest",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        202: {
            "description": "Accepted: the job and its records are stored; follow it at the "
            "`Location` URL.",
            "headers": {
                "Location": {
                    "description": "The job's URL.",
                    "schema": {"type": "string"},
                    "example": "/v1/ingest-jobs/5f0c6a1e9b7d4c2a8e3f1d6b0a9c7e21",
                }
            },
        },
        **problem_responses(400, 401, 403, 413, 415, 422, 429, 503, 507),
    },
    dependencies=[WRITE],
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def create_ingest_job(request: Request, response: Response, state: StateDep) -> IngestJob:
    """Store the documents as a job and answer at once; a worker ingests them in committed
    batches. Nothing accepted is lost: a server stopped mid-job goes on from its last batch
    when it (or, on PostgreSQL, another replica) runs again."""
    kind = body_format(request.headers.get("content-type"))
    settings = state.settings
    body = await spooled(
        request.stream(), request.headers.get("content-length"), settings.max_job_bytes
    )
    job = await state.run_job_call(_create, state, body, kind)
    state.job_runner.wake()
    response.headers["Location"] = f"{router.prefix}/{job.id}"
    return job_view(job)


def _create(state: AppState, body: IO[bytes], kind: str) -> Job:
    with body:
        records = ndjson_records(body) if kind == NDJSON else json_records(body)
        try:  # an empty NDJSON body is a job of no documents, done at once
            return state.jobs.create(records, state.settings.max_job_documents)
        except TooManyRecordsError as error:
            raise ContentTooLargeError("body", f"{error} (SEMSEARCH_MAX_JOB_DOCUMENTS)") from None


@router.get(
    "",
    operation_id="listIngestJobs",
    summary="List ingest jobs",
    responses=problem_responses(401, 422, 429, 503),
    dependencies=[READ],
)
async def list_ingest_jobs(
    state: StateDep,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Jobs to skip (at most 10^12).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="Most jobs returned.")] = 50,
    status: Annotated[
        Literal["queued", "running", "succeeded", "failed", "cancelled"] | None,
        Query(description="Only jobs in this status."),
    ] = None,
) -> IngestJobPage:
    """Jobs newest first, without their errors (get a job to see them)."""
    jobs, total = await state.run_job_call(
        state.jobs.page, offset, limit, JobStatus(status) if status else None
    )
    return IngestJobPage(
        items=[job_view(job) for job in jobs],
        total=total,
        offset=offset,
        limit=limit,
        next_offset=next_offset(offset, len(jobs), total),
    )


@router.get(
    "/{job_id}",
    operation_id="getIngestJob",
    summary="Get an ingest job",
    responses=problem_responses(401, 404, 422, 429, 503, descriptions=_NOT_FOUND),
    dependencies=[READ],
)
async def get_ingest_job(job_id: JobId, state: StateDep) -> IngestJob:
    """The job's progress: `done` and `failed` of `total`, and the records it refused."""
    job = await state.run_job_call(state.jobs.get, job_id)
    if job is None:
        raise JobNotFoundError(job_id)
    return job_view(job)


@router.delete(
    "/{job_id}",
    operation_id="cancelIngestJob",
    summary="Cancel an ingest job",
    responses=problem_responses(401, 403, 404, 409, 422, 429, 503, 507, descriptions=_NOT_FOUND),
    dependencies=[WRITE],
)
async def cancel_ingest_job(job_id: JobId, state: StateDep) -> IngestJob:
    """Stop a queued or running job: the batches it committed stay, the rest is dropped.
    A job that already finished answers 409."""
    return job_view(await state.run_job_call(state.jobs.cancel, job_id))
