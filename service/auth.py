"""API keys with scopes: `read` (search, support, get, list, stats) or `write` (also upsert and
delete).

Off while no key is configured. With keys, every data endpoint needs one, sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`; health, readiness, docs (and metrics,
unless SEMSEARCH_METRICS_NEED_KEY) stay open.
Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.deps import AppState, StateDep
from service.errors import ForbiddenError, UnauthorizedError
from service.keys import Scope

_BEARER = HTTPBearer(
    auto_error=False,
    description="An API key as a bearer token. Needed only when the server has keys configured "
    "(SEMSEARCH_API_KEYS or SEMSEARCH_API_KEYS_FILE).",
)
_HEADER = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="An API key in the X-API-Key header, as an alternative to the bearer token.",
)


def _scope_of(keys: dict[str, Scope], presented: str) -> Scope | None:
    """The presented key's scope; every configured key is compared, in constant time each."""
    found: Scope | None = None
    for key, scope in keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            found = scope
    return found


def _authorize(
    state: AppState,
    bearer: HTTPAuthorizationCredentials | None,
    header: str | None,
    needed: Scope,
) -> None:
    if not state.api_keys:
        return
    field = "Authorization" if bearer else "X-API-Key"
    presented = bearer.credentials if bearer else header
    if not presented:
        raise UnauthorizedError(
            "Authorization", "an API key is needed: 'Authorization: Bearer KEY' or 'X-API-Key'"
        )
    scope = _scope_of(state.api_keys, presented)
    if scope is None:
        raise UnauthorizedError(field, "unknown API key")
    if needed is Scope.WRITE and scope is not Scope.WRITE:
        raise ForbiddenError(field, "this key has the read scope; this operation needs write")


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
KeyHeader = Annotated[str | None, Depends(_HEADER)]


def requires(needed: Scope) -> Callable[..., None]:
    """A dependency that lets a request through only with a key of the ``needed`` scope."""

    def check(state: StateDep, bearer: Bearer, header: KeyHeader) -> None:
        _authorize(state, bearer, header, needed)

    return check


def metrics_access(state: StateDep, bearer: Bearer, header: KeyHeader) -> None:
    """/metrics is open unless SEMSEARCH_METRICS_NEED_KEY is set; then it needs a read key."""
    if state.settings.metrics_need_key:
        _authorize(state, bearer, header, Scope.READ)


READ = Depends(requires(Scope.READ))
WRITE = Depends(requires(Scope.WRITE))
