"""/v1/collections: create, list, get and delete collections (named, isolated sets of
documents; their documents, searches and jobs live under /v1/collections/{name}/...)."""

# No `from __future__ import annotations`: see service/routes/documents.py.

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from index import models
from service.auth import WRITE, CollectionPath, GrantDep, in_collection
from service.deps import StateDep
from service.errors import problem_responses
from service.guards import require_json
from service.keys import Scope
from service.schemas import Collection, CollectionList, NewCollection

router = APIRouter(prefix="/v1/collections", tags=["collections"])
Readable = Annotated[str, Depends(in_collection(Scope.READ))]
_EXISTS = {409: "A collection of that name already exists."}
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
    responses=problem_responses(401, 429, 503),
)
async def list_collections(state: StateDep, grant: GrantDep) -> CollectionList:
    """Every collection with its counts, by name (a key restricted to one sees only it)."""
    found = await state.run(state.engine.collections)
    if grant is not None and grant.collection is not None:
        found = [c for c in found if c.name == grant.collection]
    return CollectionList(items=[_view(c) for c in found])


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
