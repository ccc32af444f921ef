"""index/chunking.py with the real model tokenizer."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from index.article import parse_article
from index.chunking import chunk_text
from index.embedding import Embedder
from index.text import sentence_spans

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))


def _count(embedder: Embedder, text: str) -> int:
    return len(embedder.token_offsets([text])[0])


@pytest.mark.parametrize("max_tokens", [32, 128, 254])
@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.stem)
def test_chunks_fit_the_window_and_cover_the_text(
    embedder: Embedder, path: Path, max_tokens: int
) -> None:
    text = parse_article(path.read_text(encoding="utf-8")).text
    sentences = sentence_spans(text)
    chunks = chunk_text(text, sentences, embedder.token_offsets, max_tokens, max_tokens // 4)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        # The tokenizer's own count of the chunk text, never above the window.
        assert chunk.token_count == _count(embedder, text[chunk.char_start : chunk.char_end])
        assert chunk.token_count <= max_tokens
        assert chunk.sentences[0][0] == chunk.char_start
        assert chunk.sentences[-1][1] == chunk.char_end
    # Every sentence lies in some chunk; chunks advance through the document.
    for start, end in sentences:
        assert any(c.char_start <= start and end <= c.char_end for c in chunks) or (
            max_tokens < _count(embedder, text[start:end])
        )
    assert all(b.char_start > a.char_start for a, b in itertools.pairwise(chunks))
    assert chunks[-1].char_end == sentences[-1][1]


def test_overlap_repeats_trailing_sentences_within_the_budget(embedder: Embedder) -> None:
    text = " ".join(f"Sentence number {n} talks about topic {n}." for n in range(40))
    sentences = sentence_spans(text)
    chunks = chunk_text(text, sentences, embedder.token_offsets, 40, 12)
    for previous, current in itertools.pairwise(chunks):
        shared = set(previous.sentences) & set(current.sentences)
        assert shared, "consecutive chunks share a sentence"
        assert sum(_count(embedder, text[s:e]) for s, e in shared) <= 12
    no_overlap = chunk_text(text, sentences, embedder.token_offsets, 40, 0)
    assert all(not set(a.sentences) & set(b.sentences) for a, b in itertools.pairwise(no_overlap))


def test_a_sentence_longer_than_the_window_is_cut_at_word_starts(embedder: Embedder) -> None:
    text = " ".join(["counterterrorism cooperation"] * 200) + "."
    chunks = chunk_text(text, sentence_spans(text), embedder.token_offsets, 50, 0)
    assert len(chunks) > 1
    for chunk in chunks:
        piece = text[chunk.char_start : chunk.char_end]
        assert _count(embedder, piece) <= 50
        assert chunk.char_start == 0 or text[chunk.char_start - 1] == " "
    assert "".join(text[c.char_start : c.char_end] for c in chunks).replace(" ", "") == (
        text.replace(" ", "")
    )


def test_bad_bounds_are_rejected(embedder: Embedder) -> None:
    with pytest.raises(ValueError):
        chunk_text("A b.", [(0, 4)], embedder.token_offsets, 10, 10)
