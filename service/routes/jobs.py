"""/v1/ingest-jobs and /v1/collections/{name}/ingest-jobs: queue a large load (JSON or
NDJSON), follow it, list jobs, cancel one. A job writes to the collection it was queued in and
is seen only there."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import IO, Annotated, Literal

from fastapi import Path, Query, Request, Response, status

from index.jobs.models import Job, JobNotFoundError, JobStatus, TooManyRecordsError
from index.models import CollectionRef
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
from service.keys import Scope
from service.routes.places import (
    CollectionName,
    Place,
    PlacedRouter,
    Responses,
    ResponsesAt,
    errors,
)
from service.schemas import MAX_OFFSET, IngestJob, IngestJobError, IngestJobPage, next_offset

# The paths whose bodies the job route streams under its own limit (SEMSEARCH_MAX_JOB_BYTES)
STREAMED_PATHS = re.compile(r"^/v1(/collections/[^/]+)?/ingest-jobs$")
JOB_ID_PATTERN = r"^[0-9a-f]{32}$"
JobId = Annotated[str, Path(pattern=JOB_ID_PATTERN, description="The job's id.")]
_NOT_FOUND = {404: "No such ingest job in this collection."}
_NOT_FOUND_NAMED = {404: "No such collection, or no such ingest job in it."}
_FINISHED = {409: "The ingest job already finished: it can no longer be cancelled."}
_TOO_MANY = {
    429: "Busy: SEMSEARCH_MAX_ACTIVE_JOBS jobs (default 100) are already queued or running, or "
    "every engine slot is taken. Nothing was stored; retry after the Retry-After seconds."
}
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
        collection=job.collection,
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


def _accepted(place: Place) -> Responses:
    """A queued job's answer at ``place``: its URL is under the place's paths."""
    return {
        202: {
            "description": "Accepted: the job and its records are stored; follow it at the "
            "`Location` URL.",
            "headers": {
                "Location": {
                    "description": "The job's URL.",
                    "schema": {"type": "string"},
                    "example": f"{place.prefix}/ingest-jobs/5f0c6a1e9b7d4c2a8e3f1d6b0a9c7e21",
                }
            },
        },
        **problem_responses(
            *place.errors(400, 401, 413, 415, 422, 429, 503, 507), descriptions=_TOO_MANY
        ),
    }


def _job_errors(*statuses: int, descriptions: Mapping[int, str] | None = None) -> ResponsesAt:
    """The errors of an operation on one job: at each place, a 404 says what may be missing
    there (in a named collection, the collection itself)."""

    def at(place: Place) -> Responses:
        not_found = _NOT_FOUND_NAMED if place.scoped else _NOT_FOUND
        return problem_responses(
            *place.errors(*statuses), descriptions={**not_found, **(descriptions or {})}
        )

    return at


router = PlacedRouter(prefix="/ingest-jobs", tags=["ingest jobs"])


@router.post(
    "",
    operation_id="createIngestJob",
    needs=Scope.WRITE,
    summary="Queue documents for ingest",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_accepted,
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def create_ingest_job(
    request: Request, response: Response, state: StateDep, collection: CollectionName
) -> IngestJob:
    """Store the documents as a job and answer at once; a worker ingests them in committed
    batches. Nothing accepted is lost: a server stopped mid-job goes on from its last batch
    when it (or, on PostgreSQL, another replica) runs again."""
    target = await _resolved(state, collection)  # before the body is read: 404 first
    kind = body_format(request.headers.get("content-type"))
    await state.run_job_call(state.jobs.check_room)  # and 429 before it is read
    settings = state.settings
    body = await spooled(
        request.stream(), request.headers.get("content-length"), settings.max_job_bytes
    )
    job = await state.run_job_call(_create, state, body, kind, target)
    state.job_runner.wake()
    response.headers["Location"] = f"{request.url.path}/{job.id}"
    return job_view(job)


@router.get(
    "",
    operation_id="listIngestJobs",
    needs=Scope.READ,
    summary="List ingest jobs",
    responses=errors(401, 422, 429, 503),
)
async def list_ingest_jobs(
    state: StateDep,
    collection: CollectionName,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Jobs to skip (at most 10^12).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="Most jobs returned.")] = 50,
    status: Annotated[
        Literal["queued", "running", "succeeded", "failed", "cancelled"] | None,
        Query(description="Only jobs in this status."),
    ] = None,
) -> IngestJobPage:
    """The collection's jobs newest first, without their errors (get a job to see them)."""
    target = await _resolved(state, collection)
    jobs, total = await state.run_job_call(
        state.jobs.page, offset, limit, JobStatus(status) if status else None, target
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
    needs=Scope.READ,
    summary="Get an ingest job",
    responses=_job_errors(401, 404, 422, 429, 503),
)
async def get_ingest_job(job_id: JobId, state: StateDep, collection: CollectionName) -> IngestJob:
    """The job's progress: `done` and `failed` of `total`, and the records it refused."""
    job = await state.run_job_call(state.jobs.get, job_id, await _resolved(state, collection))
    if job is None:
        raise JobNotFoundError(job_id)
    return job_view(job)


@router.delete(
    "/{job_id}",
    operation_id="cancelIngestJob",
    needs=Scope.WRITE,
    summary="Cancel an ingest job",
    responses=_job_errors(401, 404, 409, 422, 429, 503, 507, descriptions=_FINISHED),
)
async def cancel_ingest_job(
    job_id: JobId, state: StateDep, collection: CollectionName
) -> IngestJob:
    """Stop a queued or running job: the batches it committed stay, the rest is dropped.
    A job that already finished answers 409."""
    target = await _resolved(state, collection)
    return job_view(await state.run_job_call(state.jobs.cancel, job_id, target))


async def _resolved(state: AppState, collection: str) -> CollectionRef:
    """The collection by name and creation time: a job belongs to the one it was queued in,
    not to one made later under its name (CollectionNotFoundError, 404, when there is none)."""
    created_at = await state.run_job_call(state.engine.created_at, collection)
    return CollectionRef(collection, created_at)


def _create(state: AppState, body: IO[bytes], kind: str, collection: CollectionRef) -> Job:
    with body:
        records = (
            ndjson_records(body, state.settings.max_request_bytes)
            if kind == NDJSON
            else json_records(body)
        )
        try:  # an empty NDJSON body is a job of no documents, done at once
            return state.jobs.create(records, state.settings.max_job_documents, collection)
        except TooManyRecordsError as error:
            raise ContentTooLargeError("body", f"{error} (SEMSEARCH_MAX_JOB_DOCUMENTS)") from None
