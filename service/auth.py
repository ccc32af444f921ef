"""API keys with scopes: `read` (search, support, get, list, stats) or `write` (also upsert and
delete).

Off while no key is configured. With keys, every data endpoint needs one, sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`; health, readiness, docs (and metrics,
unless SEMSEARCH_METRICS_NEED_KEY) stay open. A request to a data endpoint without a known key
is refused by KeyGuard from its headers alone, before its body is read; the route dependencies
then check the scope (and declare the schemes in the spec). Keys are never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from service.deps import AppState, StateDep
from service.errors import ForbiddenError, RequestRejectedError, UnauthorizedError, rejection
from service.keys import KeyRing
from service.keys import Scope as KeyScope

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
DATA_PREFIX = "/v1/"  # every data endpoint lives under it


def _authorize(keys: KeyRing, bearer: str | None, header: str | None, needed: KeyScope) -> None:
    """Raise 401 for a missing or unknown key, 403 for a read key where write is needed."""
    if not keys:
        return
    field = "Authorization" if bearer else "X-API-Key"
    presented = bearer or header
    if not presented:
        raise UnauthorizedError(
            "Authorization", "an API key is needed: 'Authorization: Bearer KEY' or 'X-API-Key'"
        )
    scope = keys.scope_of(presented)
    if scope is None:
        raise UnauthorizedError(field, "unknown API key")
    if needed is KeyScope.WRITE and scope is not KeyScope.WRITE:
        raise ForbiddenError(field, "this key has the read scope; this operation needs write")


class KeyGuard:
    """ASGI middleware: with keys configured, a data endpoint (and /metrics when it needs a
    key) answers 401 to a request without a known key before reading a byte of its body, so
    an anonymous client cannot make the server buffer and parse 16 MiB."""

    def __init__(self, app: ASGIApp, keys: KeyRing, metrics_need_key: bool) -> None:
        self.app = app
        self.keys = keys
        self.metrics_need_key = metrics_need_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.keys and self._guarded(scope["path"]):
            headers = Headers(scope=scope)
            scheme, _, token = headers.get("authorization", "").partition(" ")
            bearer = token.strip() if scheme.lower() == "bearer" else None
            try:
                _authorize(self.keys, bearer, headers.get("x-api-key"), KeyScope.READ)
            except RequestRejectedError as error:
                # Close the connection: the body the client may still be sending is not read.
                response = rejection(error, {"Connection": "close"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _guarded(self, path: str) -> bool:
        return path.startswith(DATA_PREFIX) or (self.metrics_need_key and path == "/metrics")


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
KeyHeader = Annotated[str | None, Depends(_HEADER)]


def _check(state: AppState, bearer: Bearer, header: KeyHeader, needed: KeyScope) -> None:
    _authorize(state.api_keys, bearer.credentials if bearer else None, header, needed)


def requires(needed: KeyScope) -> Callable[..., None]:
    """A dependency that lets a request through only with a key of the ``needed`` scope."""

    def check(state: StateDep, bearer: Bearer, header: KeyHeader) -> None:
        _check(state, bearer, header, needed)

    return check


def metrics_access(state: StateDep, bearer: Bearer, header: KeyHeader) -> None:
    """/metrics is open unless SEMSEARCH_METRICS_NEED_KEY is set; then it needs a read key."""
    if state.settings.metrics_need_key:
        _check(state, bearer, header, KeyScope.READ)


READ = Depends(requires(KeyScope.READ))
WRITE = Depends(requires(KeyScope.WRITE))
