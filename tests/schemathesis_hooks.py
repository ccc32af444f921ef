"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.schemathesis_hooks) for the contract fuzz run."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def filter_body(context: schemathesis.HookContext, body: Any) -> bool:
    """Skip reversed date ranges: the one documented rule JSON Schema cannot state (it gets a
    422, tested in test_hostile_input.py), which would otherwise read as valid data rejected."""
    filters = body.get("filters") if isinstance(body, dict) else None
    if not isinstance(filters, dict):
        return True
    after, before = filters.get("published_after"), filters.get("published_before")
    return not (isinstance(after, str) and isinstance(before, str) and after > before)
