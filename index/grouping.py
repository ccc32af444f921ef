"""One hit per document: the best ``k`` documents, each with up to ``group_size`` of its best
passages, best first. A document ranks by its best passage's score."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

Hit = TypeVar("Hit")


def grouped(ranked: Iterable[tuple[str, Hit]], k: int, group_size: int) -> list[list[Hit]]:
    """Group ``ranked`` (document id, hit) pairs, best first, into at most ``k`` documents of
    at most ``group_size`` hits each, in first-seen order (a document ranks by its best).
    Reads ``ranked`` only until every group is full."""
    groups: dict[str, list[Hit]] = {}
    full = 0
    for document_id, hit in ranked:
        group = groups.get(document_id)
        if group is None:
            if len(groups) == k:
                continue  # a later document's hit: its group would not be returned
            groups[document_id] = group = []
        if len(group) < group_size:
            group.append(hit)
            full += len(group) == group_size
            if full == k:
                break
    return list(groups.values())
