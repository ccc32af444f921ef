"""API keys, their scopes and the collection a key may be restricted to, parsed from settings
(no HTTP here: settings import it)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from index.models import COLLECTION_NAME_PATTERN


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"


_SCOPES = frozenset(scope.value for scope in Scope)
_COLLECTION_NAME = re.compile(COLLECTION_NAME_PATTERN)


@dataclass(frozen=True)
class Grant:
    """What a key may do: its scope, in one collection or (None) in all of them."""

    scope: Scope
    collection: str | None = None

    def denial(self, needed: Scope, collection: str | None) -> str | None:
        """Why this key may not do what needs ``needed`` in ``collection`` (None: an operation
        on the set of collections itself, such as creating one); None when it may."""
        if needed is Scope.WRITE and self.scope is not Scope.WRITE:
            return "this key has the read scope; this operation needs write"
        if self.collection is None:
            return None
        if collection is None:
            if needed is Scope.WRITE:
                return (
                    "this key is restricted to one collection; creating or deleting "
                    "collections needs a write key for all of them"
                )
            return None
        if collection != self.collection:
            return f"this key is restricted to the collection {self.collection!r}"
        return None


def parse_api_keys(listing: str) -> dict[str, Grant]:
    """Keys from "key1:read,key2:write,key3:read:news" (commas or new lines; `#` starts a
    comment line); a third field restricts the key to that one collection.

    Raises:
        ValueError: an entry without a scope, an unknown scope or collection name, a blank or
            repeated key.
    """
    keys: dict[str, Grant] = {}
    entries = [e.strip() for line in listing.splitlines() for e in line.split(",")]
    for entry in entries:
        if not entry or entry.startswith("#"):
            continue
        key, grant = _entry(entry)
        if not key or any(c.isspace() for c in key):
            raise ValueError("each entry must be KEY:SCOPE[:COLLECTION] with a key without spaces")
        if key in keys:
            raise ValueError("a key appears twice")
        keys[key] = grant
    return keys


def _entry(entry: str) -> tuple[str, Grant]:
    """KEY:SCOPE or KEY:SCOPE:COLLECTION (a key may itself hold colons).

    An entry that reads both ways is refused: 'k1:read:write' could be the key 'k1:read' with
    write on every collection, or the key 'k1' reading the collection 'write' (read and write
    are valid collection names), and guessing wrong grants more than was meant.
    """
    rest, _, last = entry.rpartition(":")
    if last in _SCOPES:
        key, _, scope = rest.rpartition(":")
        if key and scope in _SCOPES:
            raise ValueError(
                f"an entry ending in ':{scope}:{last}' is ambiguous: a key ending in ':{scope}' "
                f"with the {last} scope, or a {scope} key of the collection {last!r}; rename "
                "the key (or the collection)"
            )
        return rest, Grant(Scope(last))
    key, _, scope = rest.rpartition(":")
    if scope in _SCOPES:
        if not _COLLECTION_NAME.fullmatch(last):
            raise ValueError(f"collection must match {COLLECTION_NAME_PATTERN}, not {last!r}")
        return key, Grant(Scope(scope), last)
    raise ValueError(f"scope must be 'read' or 'write', not {last!r}")


def read_api_keys_file(path: Path) -> dict[str, Grant]:
    return parse_api_keys(path.read_text(encoding="utf-8"))


class KeyRing:
    """The configured keys, kept as SHA-256 digests: every presented key is hashed and compared
    with every digest in constant time, so neither a key's bytes nor its length show in the
    time an answer takes."""

    def __init__(self, keys: Mapping[str, Grant]) -> None:
        self._digests = [(_digest(key), grant) for key, grant in keys.items()]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def grant_of(self, presented: str) -> Grant | None:
        """What the presented key may do, or None for an unknown key."""
        digest = _digest(presented)
        found: Grant | None = None
        for known, grant in self._digests:
            if hmac.compare_digest(known, digest):
                found = grant
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
