"""API key listings: KEY:SCOPE, or KEY:SCOPE:COLLECTION for a key of one collection."""

from __future__ import annotations

import pytest

from service.keys import Grant, KeyRing, Scope, parse_api_keys


def test_keys_with_and_without_a_collection() -> None:
    keys = parse_api_keys("k1:write, k2:read:news\n# comment\nk:3:write:papers-2026")
    assert keys == {
        "k1": Grant(Scope.WRITE),
        "k2": Grant(Scope.READ, "news"),
        "k:3": Grant(Scope.WRITE, "papers-2026"),  # a key may hold colons
    }
    ring = KeyRing(keys)
    assert ring.grant_of("k2") == Grant(Scope.READ, "news") and ring.grant_of("k") is None


@pytest.mark.parametrize(
    ("listing", "problem"),
    [
        ("k1", "scope must be"),
        ("k1:admin", "scope must be"),
        ("k1:read:News", "collection must match"),
        ("k1:read:../x", "collection must match"),
        ("k1:read:news:extra", "scope must be"),
        (":read:news", "KEY:SCOPE"),
        ("k1:read,k1:write:news", "twice"),
        # read and write are valid collection names: each of these reads two ways
        ("admin:write,k1:read:write", "ambiguous"),
        ("k1:write:read", "ambiguous"),
        ("k:1:read:read", "ambiguous"),
    ],
)
def test_bad_listings_are_refused_naming_the_problem(listing: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_api_keys(listing)


def test_what_each_grant_may_do() -> None:
    everywhere, reader, writer = (
        Grant(Scope.WRITE),
        Grant(Scope.READ, "news"),
        Grant(Scope.WRITE, "news"),
    )
    assert everywhere.denial(Scope.WRITE, None) is None  # create or delete collections
    assert everywhere.denial(Scope.WRITE, "default") is None
    assert reader.denial(Scope.READ, "news") is None
    assert reader.denial(Scope.READ, None) is None  # list collections (its own only)
    assert "read scope" in str(reader.denial(Scope.WRITE, "news"))
    assert "restricted to the collection 'news'" in str(reader.denial(Scope.READ, "default"))
    assert writer.denial(Scope.WRITE, "news") is None
    assert "creating or deleting" in str(writer.denial(Scope.WRITE, None))
    assert "restricted" in str(writer.denial(Scope.WRITE, "other"))
