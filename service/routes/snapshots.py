"""/v1/snapshots and /v1/collections/{name}/snapshots: take, list, download and delete
snapshots of a live service (index/snapshot.py has the archive, index/snapshot_dir.py where
they are kept). A snapshot holds every document of what it copies, so every operation needs a
write key not restricted to a collection."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from fastapi.responses import FileResponse

from index.snapshot import bytes_at_least, check_room
from index.snapshot_dir import SNAPSHOT_ID_PATTERN, SnapshotInfo, SnapshotNotFoundError
from service.auth import WRITE, CollectionPath
from service.deps import AppState, StateDep
from service.errors import problem_responses
from service.schemas import Snapshot, SnapshotList

log = logging.getLogger(__name__)

router = APIRouter(tags=["snapshots"], dependencies=[WRITE])
SnapshotId = Annotated[
    str,
    Path(
        description="The snapshot's id.",
        pattern=SNAPSHOT_ID_PATTERN,
        examples=["20261205T214500Z-5f0c6a1e"],
    ),
]
_NOT_FOUND = {404: "No snapshot has that id (or it failed: nothing to download)."}
_FULL = {
    507: "The snapshot directory has less room than the snapshot needs at the least (its "
    "vectors, twice); nothing was started. A disk that fills up while a snapshot is written "
    "fails that snapshot instead (status failed, no archive kept)."
}
_RUNNING = {409: "The snapshot is still being written."}


_ACCEPTED: dict[int | str, dict[str, object]] = {
    202: {
        "description": "Accepted: the snapshot is being written; poll its URL.",
        "headers": {
            "Location": {
                "description": "The snapshot's URL.",
                "schema": {"type": "string"},
                "example": "/v1/snapshots/20261205T214500Z-5f0c6a1e",
            }
        },
    }
}


def _view(info: SnapshotInfo) -> Snapshot:
    return Snapshot.model_validate(info, from_attributes=True)


async def _begin(state: AppState, response: Response, collection: str | None) -> Snapshot:
    """Record a snapshot of ``collection`` (None: every collection), write it in the
    background after any before it, and answer with where to follow it."""
    info = await state.run(_start, state, collection)
    response.headers["Location"] = f"/v1/snapshots/{info.id}"
    return _view(info)


def _start(state: AppState, collection: str | None) -> SnapshotInfo:
    if collection is None:
        copied = state.engine.collections()
    else:
        copied = [state.engine.collection(collection)]  # 404 now, not a failed snapshot
    names = [c.name for c in copied]
    snapshots = state.snapshots
    dimension = state.engine.embedder.dimension
    check_room(snapshots.directory, bytes_at_least(sum(c.chunks for c in copied), dimension))
    info = snapshots.begin(names)

    def take() -> None:
        try:
            snapshots.take(info, lambda path: state.engine.snapshot(path, collection))
        except Exception:  # recorded as failed, with its reason
            log.exception("snapshot %s failed", info.id)

    state.snapshot_writer.submit(take)
    return info


@router.post(
    "/v1/snapshots",
    operation_id="createSnapshot",
    summary="Snapshot every collection",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **_ACCEPTED,
        **problem_responses(401, 403, 429, 503, 507, descriptions=_FULL),
    },
)
async def create_snapshot(response: Response, state: StateDep) -> Snapshot:
    """Begin a snapshot of every collection as of now and answer at once. What was
    acknowledged before it began is in it and nothing written after is, while searches and
    writes go on. Once `ready`, download it; `semsearch snapshot restore` restores it into a
    data directory or a PostgreSQL database."""
    return await _begin(state, response, None)


@router.post(
    "/v1/collections/{name}/snapshots",
    operation_id="createCollectionSnapshot",
    summary="Snapshot one collection",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **_ACCEPTED,
        **problem_responses(401, 403, 404, 422, 429, 503, 507, descriptions=_FULL),
    },
)
async def create_collection_snapshot(
    name: CollectionPath, response: Response, state: StateDep
) -> Snapshot:
    """Begin a snapshot of one collection, as `createSnapshot` does for all of them; it is
    listed with the others under /v1/snapshots."""
    return await _begin(state, response, name)


@router.get(
    "/v1/snapshots",
    operation_id="listSnapshots",
    summary="List snapshots",
    responses=problem_responses(401, 403, 429, 503),
)
async def list_snapshots(state: StateDep) -> SnapshotList:
    """Every snapshot kept (the newest SEMSEARCH_SNAPSHOT_KEEP), newest first."""
    return SnapshotList(items=[_view(i) for i in await state.run(state.snapshots.list)])


@router.get(
    "/v1/snapshots/{snapshot_id}",
    operation_id="getSnapshot",
    summary="Get a snapshot",
    responses=problem_responses(401, 403, 404, 422, 429, 503, descriptions=_NOT_FOUND),
)
async def get_snapshot(snapshot_id: SnapshotId, state: StateDep) -> Snapshot:
    """One snapshot: its status, what it holds, its size and checksum."""
    info = await state.run(state.snapshots.get, snapshot_id)
    if info is None:
        raise SnapshotNotFoundError(snapshot_id)
    return _view(info)


@router.get(
    "/v1/snapshots/{snapshot_id}/download",
    operation_id="downloadSnapshot",
    summary="Download a snapshot",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The archive: a POSIX tar, named semsearch-ID.tar (its manifest.json "
            "lists each member's SHA-256).",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        **problem_responses(
            401, 403, 404, 409, 422, 429, 503, descriptions={**_NOT_FOUND, **_RUNNING}
        ),
    },
)
async def download_snapshot(snapshot_id: SnapshotId, state: StateDep) -> FileResponse:
    """The archive of a ready snapshot, streamed."""
    path = await state.run(state.snapshots.ready, snapshot_id)
    return FileResponse(
        path, media_type="application/octet-stream", filename=f"semsearch-{snapshot_id}.tar"
    )


@router.delete(
    "/v1/snapshots/{snapshot_id}",
    operation_id="deleteSnapshot",
    summary="Delete a snapshot",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(
        401, 403, 404, 409, 422, 429, 503, descriptions={**_NOT_FOUND, **_RUNNING}
    ),
)
async def delete_snapshot(snapshot_id: SnapshotId, state: StateDep) -> None:
    """Delete a snapshot and its archive (one still being written: 409)."""
    await state.run(state.snapshots.delete, snapshot_id)
