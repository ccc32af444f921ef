"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.schemathesis_hooks) for the contract fuzz run."""

from __future__ import annotations

import copy
from typing import Any

import schemathesis
from hypothesis import strategies as st


@schemathesis.hook
def filter_body(context: schemathesis.HookContext, body: Any) -> bool:
    """Skip the documented rules JSON Schema cannot state: a reversed date range, a batch
    repeating an id, and group_size without group_by, in a request or in a batch's. Each gets
    a 422 (tested in test_hostile_input.py, test_api.py) that would otherwise read as valid
    data rejected."""
    return _follows_the_rules(body)


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: Any) -> bool:
    """The same for the coverage phase's valid cases (filter_body sees only generated ones)."""
    if case.meta is not None and not case.meta.generation.mode.is_positive:
        return True
    return _follows_the_rules(case.body)


def _follows_the_rules(body: Any) -> bool:
    if not isinstance(body, dict):
        return True
    requests = body.get("requests")
    items = [r for r in requests if isinstance(r, dict)] if isinstance(requests, list) else [body]
    return not (
        any(_reversed_dates(item.get("filters")) or _lone_group_size(item) for item in items)
        or _repeated_ids(body.get("documents"))
    )


def _lone_group_size(request: dict[str, Any]) -> bool:
    return request.get("group_size") is not None and request.get("group_by") is None


def _reversed_dates(filters: Any) -> bool:
    if not isinstance(filters, dict):
        return False
    after, before = filters.get("published_after"), filters.get("published_before")
    return isinstance(after, str) and isinstance(before, str) and after > before


def _repeated_ids(documents: Any) -> bool:
    if not isinstance(documents, list):
        return False
    ids = [d["id"] for d in documents if isinstance(d, dict) and isinstance(d.get("id"), str)]
    return len(ids) != len(set(ids))


# Values a client can send that the store could not keep, read back or compare. Each breaks a
# bound the spec states, so schemathesis re-validates a planted body as invalid and expects a
# 4xx, never a 5xx. NaN, Infinity and lone surrogates cannot pass through schemathesis (its
# JSON encoder and validator refuse them): test_hostile_input.py plants those with hypothesis.
_HOSTILE_VALUES: list[Any] = [2**64, -(2**53), 1e300, "x" * 1001]
_MANY_KEYS = {f"key-{n}": n for n in range(300)}
_UNNAMEABLE_KEY = 'quote"and\\backslash'


@schemathesis.hook
def flatmap_case(context: schemathesis.HookContext, case: Any) -> st.SearchStrategy[Any]:
    """Beside each valid body with metadata (a document's or a filter's), sometimes the same
    body with one hostile value planted in it, or 300 keys, or a key no JSON path can name."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return st.just(case)
    if not isinstance(case.body, dict) or _metadata_of(copy.deepcopy(case.body)) is None:
        return st.just(case)
    plants = st.sampled_from(
        [{"planted": value} for value in _HOSTILE_VALUES] + [_MANY_KEYS, {_UNNAMEABLE_KEY: 1}]
    )
    return st.one_of(st.just(case), plants.map(lambda plant: _planted(case, plant)))


def _metadata_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The body's metadata object (the first document's, or the filters'), made where absent."""
    documents = body.get("documents")
    if isinstance(documents, list) and documents and isinstance(documents[0], dict):
        return documents[0].setdefault("metadata", {})  # type: ignore[no-any-return]
    if "query" in body or "claim" in body:
        if not isinstance(body.get("filters"), dict):
            body["filters"] = {}
        return body["filters"].setdefault("metadata", {})  # type: ignore[no-any-return]
    return None


def _planted(case: Any, plant: dict[str, Any]) -> Any:
    body = copy.deepcopy(case.body)
    metadata = _metadata_of(body)
    assert metadata is not None
    metadata.update(plant)
    planted = case.derive(keep_auth=True)
    planted.body = body  # schemathesis re-validates a changed body: this one is invalid
    return planted


@schemathesis.serializer("application/x-ndjson")
def ndjson(_: Any, value: Any) -> bytes:
    """An ingest job's NDJSON body is declared as raw bytes: sent as they are (the example, a
    string of lines, as UTF-8)."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
