"""API keys with scopes: `read` (search, support, get, list, stats) or `write` (also upsert and
delete), in every collection or (a third field) in one: a key restricted to a collection gets
403 anywhere else, the default collection included, and cannot create or delete collections.

Off while no key is configured. With keys, every request needs one, sent as
`Authorization: Bearer <key>` or `X-API-Key: <key>`, except a GET or HEAD of health, readiness,
the docs, the search page and its assets (and metrics, unless SEMSEARCH_METRICS_NEED_KEY). A
request without a known key is refused by KeyGuard from its headers alone, before its body is
read; the route dependencies then check the scope (and declare the schemes in the spec). Keys
are never logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from index.models import COLLECTION_NAME_PATTERN, DEFAULT_COLLECTION
from service.deps import AppState, StateDep
from service.errors import ForbiddenError, RequestRejectedError, UnauthorizedError, rejection
from service.keys import Grant, KeyRing
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
# What anyone may GET when keys are configured; everything else, unknown paths included,
# needs a key, so no anonymous body is ever read.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/docs", "/redoc", "/", "/ui"})
OPEN_PREFIXES = ("/docs-assets/", "/ui/assets/")  # the search page asks for the key itself


def _authorize(
    keys: KeyRing, bearer: str | None, header: str | None, needed: KeyScope
) -> tuple[str, Grant] | None:
    """Raise 401 for a missing or unknown key, 403 for a read key where write is needed;
    return the header the key came in and what it may do (None: no keys configured)."""
    if not keys:
        return None
    field = "Authorization" if bearer else "X-API-Key"
    presented = bearer or header
    if not presented:
        raise UnauthorizedError(
            "Authorization", "an API key is needed: 'Authorization: Bearer KEY' or 'X-API-Key'"
        )
    grant = keys.grant_of(presented)
    if grant is None:
        raise UnauthorizedError(field, "unknown API key")
    if needed is KeyScope.WRITE and grant.scope is not KeyScope.WRITE:
        raise ForbiddenError(field, "this key has the read scope; this operation needs write")
    return field, grant


class KeyGuard:
    """ASGI middleware: with keys configured, a request for anything but the open paths
    answers 401 without a known key before a byte of its body is read, so an anonymous client
    cannot make the server buffer and parse 16 MiB."""

    def __init__(self, app: ASGIApp, keys: KeyRing, metrics_need_key: bool) -> None:
        self.app = app
        self.keys = keys
        self.metrics_need_key = metrics_need_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.keys and not self._open(scope["method"], scope["path"]):
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

    def _open(self, method: str, path: str) -> bool:
        if method not in ("GET", "HEAD"):
            return False
        if path == "/metrics":
            return not self.metrics_need_key
        return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
KeyHeader = Annotated[str | None, Depends(_HEADER)]


def _check(
    state: AppState,
    bearer: Bearer,
    header: KeyHeader,
    needed: KeyScope,
    collection: str | None,
) -> Grant | None:
    """Let the request through with a key that may do what needs ``needed`` in
    ``collection`` (None: on the set of collections itself); 403 otherwise."""
    found = _authorize(state.api_keys, bearer.credentials if bearer else None, header, needed)
    if found is None:
        return None
    field, grant = found
    denial = grant.denial(needed, collection)
    if denial is not None:
        raise ForbiddenError(field, denial)
    return grant


def requires(needed: KeyScope) -> Callable[..., Awaitable[None]]:
    """A dependency for an operation on the set of collections (listing, creating, deleting
    one): a key of the ``needed`` scope, and for a write, one not restricted to a collection."""

    async def check(state: StateDep, bearer: Bearer, header: KeyHeader) -> None:
        _check(state, bearer, header, needed, None)

    return check


async def presented_grant(state: StateDep, bearer: Bearer, header: KeyHeader) -> Grant | None:
    """What the request's key may do (None: no keys configured); a read key is enough."""
    return _check(state, bearer, header, KeyScope.READ, None)


CollectionPath = Annotated[
    str,
    Path(
        description="The collection's name.",
        pattern=COLLECTION_NAME_PATTERN,
        max_length=63,
        examples=["news"],
    ),
]


def in_collection(needed: KeyScope) -> Callable[..., Awaitable[str]]:
    """A dependency for an operation in the collection the path names: a key of the
    ``needed`` scope allowed in it (403 otherwise); yields the name."""

    async def check(
        name: CollectionPath, state: StateDep, bearer: Bearer, header: KeyHeader
    ) -> str:
        _check(state, bearer, header, needed, name)
        return name

    return check


def in_default(needed: KeyScope) -> Callable[..., Awaitable[str]]:
    """A dependency for an unscoped operation, which acts on the default collection: a key
    of the ``needed`` scope allowed in it; yields its name."""

    async def check(state: StateDep, bearer: Bearer, header: KeyHeader) -> str:
        _check(state, bearer, header, needed, DEFAULT_COLLECTION)
        return DEFAULT_COLLECTION

    return check


async def metrics_access(state: StateDep, bearer: Bearer, header: KeyHeader) -> None:
    """/metrics is open unless SEMSEARCH_METRICS_NEED_KEY is set; then it needs a read key."""
    if state.settings.metrics_need_key:
        _check(state, bearer, header, KeyScope.READ, None)


READ = Depends(requires(KeyScope.READ))
WRITE = Depends(requires(KeyScope.WRITE))
GrantDep = Annotated[Grant | None, Depends(presented_grant)]
