"""/v1/collections: create, list, get and delete collections (named, isolated sets of
documents; their documents, searches and jobs live under /v1/collections/{name}/...)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from index import models
from index.engine import SearchEngine
from index.errors import CollectionNotFoundError
from service.auth import WRITE, CollectionPath, GrantDep, in_collection
from service.deps import StateDep
from service.errors import problem_responses
from service.guards import require_json
from service.keys import Scope
from service.schemas import MAX_OFFSET, Collection, CollectionList, NewCollection, next_offset

router = APIRouter(prefix="/v1/collections", tags=["collections"])
Readable = Annotated[str, Depends(in_collection(Scope.READ))]
# 409, not 507 or 422: the request is valid and the disk has room; it conflicts with the
# store's state (the collections it holds), which the client can change by deleting one.
_EXISTS = {
    409: "A collection of that name already exists, or the store holds as many collections "
    "as SEMSEARCH_MAX_COLLECTIONS allows (default included): delete one first."
}
_PROTECTED = {409: "The default collection cannot be deleted: it always exists."}


def _view(collection: models.Collection) -> Collection:
    return Collection.model_validate(collection, from_attributes=True)


@router.post(
    "",
    operation_id="createCollection",
    summary="Create a collection",
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {
            "description": "Created, empty.",
            "headers": {
                "Location": {
                    "description": "The collection's URL.",
                    "schema": {"type": "string"},
                    "example": "/v1/collections/news",
                }
            },
        },
        **problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 503, 507, descriptions=_EXISTS),
    },
    dependencies=[WRITE, Depends(require_json)],
)
async def create_collection(body: NewCollection, response: Response, state: StateDep) -> Collection:
    """Create an empty collection. Needs a write key not restricted to a collection."""
    created = await state.run_write(state.engine.create_collection, body.name)
    response.headers["Location"] = f"{router.prefix}/{created.name}"
    return _view(created)


@router.get(
    "",
    operation_id="listCollections",
    summary="List collections",
    responses=problem_responses(401, 422, 429, 503),
)
async def list_collections(
    state: StateDep,
    grant: GrantDep,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Collections to skip (at most 10^12).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="Most collections returned.")] = 50,
) -> CollectionList:
    """Collections with their counts, by name, offset-paginated (a key restricted to one
    collection sees only it)."""
    if grant is not None and grant.collection is not None:
        page = await state.run(_only, state.engine, grant.collection, offset, limit)
    else:
        page = await state.run(state.engine.collection_page, offset, limit)
    return CollectionList(
        items=[_view(c) for c in page.items],
        total=page.total,
        offset=offset,
        limit=limit,
        next_offset=next_offset(offset, len(page.items), page.total),
    )


def _only(engine: SearchEngine, name: str, offset: int, limit: int) -> models.CollectionPage:
    """The page of a listing that holds one collection, if it exists."""
    try:
        found = [engine.collection(name)]
    except CollectionNotFoundError:
        found = []
    return models.CollectionPage(found[offset : offset + limit], len(found), offset, limit)


@router.get(
    "/{name}",
    operation_id="getCollection",
    summary="Get a collection",
    responses=problem_responses(401, 403, 404, 422, 429, 503),
)
async def get_collection(name: Readable, state: StateDep) -> Collection:
    """One collection with its counts."""
    return _view(await state.run(state.engine.collection, name))


@router.delete(
    "/{name}",
    operation_id="deleteCollection",
    summary="Delete a collection",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404, 409, 422, 429, 503, 507, descriptions=_PROTECTED),
    dependencies=[WRITE],  # a key of every collection's
)
async def delete_collection(name: CollectionPath, state: StateDep) -> None:
    """Delete a collection with all its documents, chunks and vectors, whole or not at all,
    and its ingest jobs. Searches already running in it finish; later requests get 404.
    Needs a write key not restricted to a collection; `default` cannot be deleted (409)."""
    await state.run_write(state.engine.delete_collection, name)
    await state.run_job_call(state.jobs.forget, name)
