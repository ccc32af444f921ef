"""Where a router's operations act: the default collection, under the unscoped paths every
client has used (/v1/search), or the collection the path names (/v1/collections/{name}/search).

A data router (a PlacedRouter) declares its operations once, as module-level functions, and is
built at each place, so both sets of paths run the same code; the scoped operations' ids insert
"Collection" after the verb (searchPassages, searchCollectionPassages).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request, params

from index.models import DEFAULT_COLLECTION
from service.auth import in_collection, in_default
from service.errors import problem_responses
from service.keys import Scope as KeyScope

_VERB = re.compile(r"^[a-z]+")
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
Responses = dict[int | str, dict[str, Any]]


@dataclass(frozen=True)
class Place:
    prefix: str  # the paths' beginning
    scoped: bool  # the path names the collection

    def access(self, needed: KeyScope) -> Callable[..., Awaitable[str]]:
        """A dependency checking the key may do what needs ``needed`` here; yields the
        collection's name."""
        return in_collection(needed) if self.scoped else in_default(needed)

    def operation_id(self, unscoped: str) -> str:
        return (
            _VERB.sub(lambda verb: f"{verb.group()}Collection", unscoped)
            if self.scoped
            else unscoped
        )

    def errors(self, *statuses: int) -> tuple[int, ...]:
        """The error statuses an operation declares: with every key a 403 (a key restricted
        to another collection) and, in a named collection, a 404 (no such collection) and a
        422 (a name that cannot be one)."""
        extra = (403, 404, 422) if self.scoped else (403,)
        return tuple(sorted({*statuses, *extra}))


ResponsesAt = Callable[[Place], Responses]  # an operation's responses at a place

DEFAULT = Place("/v1", scoped=False)
NAMED = Place("/v1/collections/{name}", scoped=True)
PLACES = (DEFAULT, NAMED)


def errors(*statuses: int, descriptions: Mapping[int, str] | None = None) -> ResponsesAt:
    """An operation's error responses at each place: ``statuses`` and the place's own."""
    return lambda place: problem_responses(*place.errors(*statuses), descriptions=descriptions)


async def _collection(request: Request) -> str:
    name: str = request.path_params.get("name", DEFAULT_COLLECTION)
    return name


# The collection an operation acts on: the one its path names, else the default one. The
# place's access dependency (PlacedRouter.at) has validated the name and checked the key first.
CollectionName = Annotated[str, Depends(_collection)]


@dataclass(frozen=True)
class _Operation:
    method: str
    path: str
    endpoint: Callable[..., Any]
    operation_id: str  # at the default collection
    needs: KeyScope
    responses: ResponsesAt
    dependencies: list[params.Depends]  # the operation's own, checked before the key's scope
    options: dict[str, Any]  # the rest of APIRouter.add_api_route's arguments


@dataclass
class PlacedRouter:
    """Operations on a collection, declared once and served at every place.

    Each is declared as on an APIRouter, on a module-level function, with its unscoped
    ``operation_id``, the scope the key ``needs`` in the collection and its ``responses`` as a
    function of the place; ``app.include_router(router.at(place))`` serves them there.

    Each place gets routes of its own rather than one router included under two prefixes: the
    responses and operation ids differ by place, and so must the routes' full paths, which
    label request logs and metrics."""

    tags: list[str | Enum]
    prefix: str = ""  # after the place's
    _operations: list[_Operation] = field(default_factory=list, init=False)

    def get(self, path: str, **declared: Any) -> Callable[[Endpoint], Endpoint]:
        return self._operation("GET", path, **declared)

    def post(self, path: str, **declared: Any) -> Callable[[Endpoint], Endpoint]:
        return self._operation("POST", path, **declared)

    def delete(self, path: str, **declared: Any) -> Callable[[Endpoint], Endpoint]:
        return self._operation("DELETE", path, **declared)

    def _operation(
        self,
        method: str,
        path: str,
        *,
        operation_id: str,
        needs: KeyScope,
        responses: ResponsesAt,
        dependencies: list[params.Depends] | None = None,
        **options: Any,
    ) -> Callable[[Endpoint], Endpoint]:
        def declare(endpoint: Endpoint) -> Endpoint:
            self._operations.append(
                _Operation(
                    method,
                    path,
                    endpoint,
                    operation_id,
                    needs,
                    responses,
                    dependencies or [],
                    options,
                )
            )
            return endpoint

        return declare

    def at(self, place: Place) -> APIRouter:
        """The operations at ``place``: under its prefix, with its operation ids and errors,
        and the key checked for the collection it names."""
        routes = APIRouter(prefix=f"{place.prefix}{self.prefix}", tags=self.tags)
        for operation in self._operations:
            routes.add_api_route(
                operation.path,
                operation.endpoint,
                methods=[operation.method],
                operation_id=place.operation_id(operation.operation_id),
                responses=operation.responses(place),
                # After the operation's own (a body of the wrong type is a 415 before a 403);
                # a name the path cannot hold fails validation (422) before the key is checked.
                dependencies=[*operation.dependencies, Depends(place.access(operation.needs))],
                **operation.options,
            )
        return routes
