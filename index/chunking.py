"""Sentence-aware chunks bounded by the embedding model's own token count.

A chunk is a run of whole sentences whose wordpieces fit the model's window, so nothing is ever
truncated silently at embedding time. A sentence longer than the window is cut at word
boundaries into pieces that fit. Consecutive chunks share up to ``overlap_tokens`` of trailing
sentences so that a passage spanning a boundary is still found whole in one chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Span = tuple[int, int]
# Maps texts to the (start, end) character offsets of their wordpieces (no special tokens).
TokenOffsets = Callable[[Sequence[str]], list[list[Span]]]


@dataclass(frozen=True)
class Chunk:
    """A window of a document: offsets into its text, token count and the sentence spans."""

    index: int
    char_start: int
    char_end: int
    token_count: int
    sentences: tuple[Span, ...]


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int


def chunk_text(
    text: str,
    sentences: Sequence[Span],
    token_offsets: TokenOffsets,
    max_tokens: int,
    overlap_tokens: int,
) -> list[Chunk]:
    """Group sentences into token-bounded, overlapping windows.

    Args:
        text: the cleaned document text the spans index into.
        sentences: sentence (start, end) offsets, in order.
        token_offsets: the model tokenizer's wordpiece offsets for a batch of texts.
        max_tokens: most wordpieces in one chunk (the model window minus special tokens).
        overlap_tokens: most wordpieces of trailing sentences repeated at the next chunk's start.

    Returns:
        Chunks in document order; ``text[c.char_start:c.char_end]`` is each chunk's text.
    """
    if max_tokens < 1 or not 0 <= overlap_tokens < max_tokens:
        raise ValueError("need max_tokens >= 1 and 0 <= overlap_tokens < max_tokens")
    units = _units(text, sentences, token_offsets, max_tokens)
    chunks: list[Chunk] = []
    first = 0
    while first < len(units):
        last, total = first, units[first].tokens
        while last + 1 < len(units) and total + units[last + 1].tokens <= max_tokens:
            last += 1
            total += units[last].tokens
        window = units[first : last + 1]
        chunks.append(
            Chunk(
                index=len(chunks),
                char_start=window[0].start,
                char_end=window[-1].end,
                token_count=total,
                sentences=tuple((u.start, u.end) for u in window),
            )
        )
        if last + 1 >= len(units):
            break
        first = _overlap_start(units, first, last, overlap_tokens)
    return chunks


def _overlap_start(units: Sequence[_Unit], first: int, last: int, overlap_tokens: int) -> int:
    """First unit of the next window: trailing units of this one that fit in the overlap."""
    start, carried = last + 1, 0
    while start - 1 > first and carried + units[start - 1].tokens <= overlap_tokens:
        start -= 1
        carried += units[start].tokens
    return start


def _units(
    text: str, sentences: Sequence[Span], token_offsets: TokenOffsets, max_tokens: int
) -> list[_Unit]:
    """Sentences with their token counts; over-long sentences cut into window-sized pieces."""
    offsets = token_offsets([text[start:end] for start, end in sentences])
    units: list[_Unit] = []
    for (start, end), tokens in zip(sentences, offsets, strict=True):
        if not tokens:
            continue
        if len(tokens) <= max_tokens:
            units.append(_Unit(start, end, len(tokens)))
        else:
            units.extend(_split_long(text, start, tokens, max_tokens))
    return units


def _split_long(text: str, base: int, tokens: Sequence[Span], max_tokens: int) -> list[_Unit]:
    """Cut a sentence longer than the window at word starts, each piece at most max_tokens."""
    pieces: list[_Unit] = []
    first = 0
    while first < len(tokens):
        cut = min(first + max_tokens, len(tokens))
        if cut < len(tokens):
            # Back off to a token that starts a word, so no word is split between pieces.
            word_cut = cut
            while word_cut > first + 1 and not _starts_word(text, base, tokens[word_cut]):
                word_cut -= 1
            if word_cut > first + 1:
                cut = word_cut
        pieces.append(_Unit(base + tokens[first][0], base + tokens[cut - 1][1], cut - first))
        first = cut
    return pieces


def _starts_word(text: str, base: int, token: Span) -> bool:
    position = base + token[0]
    return position == 0 or text[position - 1].isspace()
