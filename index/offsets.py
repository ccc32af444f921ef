"""Offsets in the unit a caller's language counts in, as the Language Server Protocol does.

The engine stores and computes code-point offsets (what Python slices). JavaScript, Java, C# and
Dart index strings in UTF-16 code units, Go and Rust in UTF-8 bytes: a citation is only exact
for them in their own unit. Every text here is valid Unicode (cleaning drops lone surrogates).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from index.models import Citation, OffsetEncoding, SearchHit, SupportingPassage


def length(text: str, encoding: OffsetEncoding) -> int:
    """How long ``text`` is in ``encoding``'s units."""
    if encoding is OffsetEncoding.UTF32 or text.isascii():
        return len(text)
    if encoding is OffsetEncoding.UTF16:
        return len(text.encode("utf-16-le")) // 2  # an astral character is two units
    return len(text.encode("utf-8"))


def converter(text: str, encoding: OffsetEncoding) -> Callable[[int], int]:
    """Maps a code-point offset into ``text`` to the same place in ``encoding``'s units."""
    if encoding is OffsetEncoding.UTF32:
        return lambda offset: offset
    return lambda offset: length(text[:offset], encoding)


def hit_in(hit: SearchHit, prefix: str, encoding: OffsetEncoding) -> SearchHit:
    """A hit whose citation and highlights count in ``encoding``; ``prefix`` is its
    document's text before the hit (the hit's own text follows it)."""
    start = length(prefix, encoding)
    citation = replace(hit.citation, char_start=start, char_end=start + length(hit.text, encoding))
    within = hit.citation.char_start  # code points before the hit

    def at(offset: int) -> int:
        return start + length(hit.text[: offset - within], encoding)

    marks = tuple(
        replace(mark, char_start=at(mark.char_start), char_end=at(mark.char_end))
        for mark in hit.highlights
    )
    return replace(hit, citation=citation, highlights=marks)


def passage_in(
    passage: SupportingPassage, document_text: str, encoding: OffsetEncoding
) -> SupportingPassage:
    """A passage whose citation and evidence count in ``encoding``."""
    at = converter(document_text, encoding)
    citation: Citation = replace(
        passage.citation,
        char_start=at(passage.citation.char_start),
        char_end=at(passage.citation.char_end),
    )
    evidence = [
        replace(item, char_start=at(item.char_start), char_end=at(item.char_end))
        for item in passage.evidence
    ]
    return replace(passage, citation=citation, evidence=evidence)
