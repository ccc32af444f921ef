"""API keys and their scopes, parsed from settings (no HTTP here: settings import it)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"


def parse_api_keys(listing: str) -> dict[str, Scope]:
    """Keys from "key1:read,key2:write" (commas or new lines; `#` starts a comment line).

    Raises:
        ValueError: an entry without a scope, an unknown scope, a blank or repeated key.
    """
    keys: dict[str, Scope] = {}
    entries = [e.strip() for line in listing.splitlines() for e in line.split(",")]
    for entry in entries:
        if not entry or entry.startswith("#"):
            continue
        key, _, scope = entry.rpartition(":")
        if not key or any(c.isspace() for c in key):
            raise ValueError("each entry must be KEY:SCOPE with a key without spaces")
        if scope not in Scope.__members__.values():
            raise ValueError(f"scope must be 'read' or 'write', not {scope!r}")
        if key in keys:
            raise ValueError("a key appears twice")
        keys[key] = Scope(scope)
    return keys


def read_api_keys_file(path: Path) -> dict[str, Scope]:
    return parse_api_keys(path.read_text(encoding="utf-8"))


class KeyRing:
    """The configured keys, kept as SHA-256 digests: every presented key is hashed and compared
    with every digest in constant time, so neither a key's bytes nor its length show in the
    time an answer takes."""

    def __init__(self, keys: Mapping[str, Scope]) -> None:
        self._digests = [(_digest(key), scope) for key, scope in keys.items()]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def scope_of(self, presented: str) -> Scope | None:
        """The presented key's scope, or None for an unknown key."""
        digest = _digest(presented)
        found: Scope | None = None
        for known, scope in self._digests:
            if hmac.compare_digest(known, digest):
                found = scope
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
