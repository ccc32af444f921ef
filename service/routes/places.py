"""Where a router's operations act: the default collection, under the unscoped paths every
client has used (/v1/search), or the collection the path names (/v1/collections/{name}/search).

Each data router is built once per place, so both sets of paths run the same code; the scoped
operations' ids insert "Collection" after the verb (searchPassages, searchCollectionPassages).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from service.auth import in_collection, in_default
from service.keys import Scope as KeyScope

_VERB = re.compile(r"^[a-z]+")


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


DEFAULT = Place("/v1", scoped=False)
NAMED = Place("/v1/collections/{name}", scoped=True)
PLACES = (DEFAULT, NAMED)
