"""What a document's metadata may hold, checked before anything is stored.

Metadata comes back in every listing and is compared by every metadata filter, so whatever is
stored must read back and compare: finite numbers that every JSON parser reads exactly, valid
Unicode without NUL (PostgreSQL's text and jsonb cannot hold U+0000), keys a JSON path can name,
and a bounded size. The HTTP schema declares the same limits. The same rules hold for a
document's title, source and URL and for the filters, on both backends alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from index.errors import InvalidInputError

MAX_KEYS = 64
MAX_KEY_CHARS = 128
MAX_STRING_CHARS = 1000
# I-JSON's interoperable range (RFC 7493): a double holds every integer in it exactly, so a
# JavaScript client reads back what was stored and a value compares the same everywhere.
NUMBER_MIN, NUMBER_MAX = -(2**53 - 1), 2**53 - 1
# No quote, backslash or control character: SQLite's JSON paths cannot name such a key.
KEY_PATTERN = rf'^[^"\\\x00-\x1f\x7f]{{1,{MAX_KEY_CHARS}}}$'
_KEY = re.compile(KEY_PATTERN)


NO_NUL_PATTERN = "^[^\\u0000]*$"  # what the spec declares of a stored string


def storable_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored and compared as text on every backend: a NUL (U+0000,
    which PostgreSQL refuses in text and jsonb) or a lone surrogate; None when it can."""
    nul = value.find("\x00")
    if nul >= 0:
        return f"must not contain the NUL character (U+0000), found at character {nul}"
    return unicode_problem(value)


def unicode_problem(value: str) -> str | None:
    """Why ``value`` is not valid Unicode (a lone surrogate, which JSON's \\u escapes allow and
    UTF-8 cannot store), or None."""
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"is not valid Unicode: a lone surrogate at character {error.start}"
    return None


def check_text(value: str | None, field: str) -> None:
    """Raise InvalidInputError naming ``field`` when the string cannot be stored."""
    problem = storable_problem(value) if value is not None else None
    if problem:
        raise InvalidInputError(field, problem)


# Schemes a browser runs rather than follows: a citation's URL is rendered as a link by clients
# this service does not control, so one of these would run in their readers' pages.
_SCRIPT_SCHEME = re.compile(r"^\s*(javascript|vbscript|data)\s*:", re.IGNORECASE)
_IGNORED_BY_BROWSERS = re.compile(r"[\x00-\x20\x7f]")


def check_url(value: str | None, field: str) -> None:
    """Raise InvalidInputError naming ``field`` for a URL that cannot be stored or would run
    as script where it is shown as a link (javascript:, vbscript:, data:)."""
    check_text(value, field)
    scheme = _SCRIPT_SCHEME.match(_IGNORED_BY_BROWSERS.sub("", value or ""))
    if scheme:
        name = scheme.group(1).lower()
        raise InvalidInputError(field, f"must not be a {name}: URL (it runs as script)")


def check_metadata(metadata: Mapping[str, object], field: str) -> None:
    """Raise InvalidInputError naming the first key or value that could not be stored, read
    back or compared (``field`` is the metadata's own path, e.g. documents[2].metadata)."""
    if len(metadata) > MAX_KEYS:
        raise InvalidInputError(field, f"has {len(metadata)} keys; the limit is {MAX_KEYS}")
    for key, value in metadata.items():
        problem = key_problem(key)
        if problem:
            raise InvalidInputError(field, f"key {key!r} {problem}")
        problem = value_problem(value)
        if problem:
            raise InvalidInputError(f"{field}.{key}", problem)


def key_problem(key: object) -> str | None:
    """Why ``key`` cannot be a metadata key, or None."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        return (
            f"must be 1-{MAX_KEY_CHARS} characters without quotes, backslashes or control "
            "characters"
        )
    return unicode_problem(key)


def value_problem(value: object) -> str | None:
    """Why ``value`` cannot be a metadata value, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if not NUMBER_MIN <= value <= NUMBER_MAX:
            return "must be between -(2^53-1) and 2^53-1 (I-JSON's exact range)"
        return None
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            return f"has {len(value)} characters; the limit is {MAX_STRING_CHARS}"
        return storable_problem(value)
    return "must be a string, number or boolean"
