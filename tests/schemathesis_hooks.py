"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.schemathesis_hooks) for the contract fuzz run."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def filter_body(context: schemathesis.HookContext, body: Any) -> bool:
    """Skip the two documented rules JSON Schema cannot state: a reversed date range and a
    batch repeating an id. Each gets a 422 (tested in test_hostile_input.py) that would
    otherwise read as valid data rejected."""
    if not isinstance(body, dict):
        return True
    return not (_reversed_dates(body.get("filters")) or _repeated_ids(body.get("documents")))


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
