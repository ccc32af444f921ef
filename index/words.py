"""Words as every lexical part of the service reads them: the content words of a query, and BM25
among a handful of texts (a claim's words against candidate sentences)."""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Sequence
from contextlib import closing

# Porter stemming over unicode61 ("bombing" finds "bombings", "bomb"); chosen on SciFact, where
# it beat plain unicode61 (see docs/quality.md).
TOKENIZER = "porter unicode61 remove_diacritics 2"
_WORD = re.compile(r"\w+", re.UNICODE)
# Words that match nearly every chunk: they cost time and carry no ranking signal.
_STOPWORDS = frozenset(
    (  # noqa: SIM905
        "a an and are as at be but by for from has have in into is it its of on or that the their "
        "this to was were which with"
    ).split()
)


def query_words(query: str) -> list[str]:
    """The distinct words of free text a lexical search looks for, lowercased: its content
    words, or every word if it has none but stopwords."""
    words = [w for w in _WORD.findall(query.lower()) if w not in _STOPWORDS]
    if not words:
        words = _WORD.findall(query.lower())
    return list(dict.fromkeys(words))


def match_expression(query: str) -> str | None:
    """An FTS5 query matching any content word of free text; None if it has none.

    Each word is quoted, so user text can never be read as FTS5 syntax (NEAR, *, ^, columns).
    """
    words = query_words(query)
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words) or None


def bm25_among(query: str, texts: Sequence[str]) -> list[float]:
    """BM25 of each text for the query, with term statistics taken from the texts themselves.

    Used to weigh a claim's words against a handful of candidate sentences: an in-memory FTS5
    table with the same tokenizer as the index, built and dropped per call.
    """
    expression = match_expression(query)
    if expression is None or not texts:
        return [0.0] * len(texts)
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.execute(f"CREATE VIRTUAL TABLE t USING fts5(body, tokenize='{TOKENIZER}')")
        connection.executemany("INSERT INTO t(rowid, body) VALUES (?, ?)", enumerate(texts))
        scores = dict(
            connection.execute("SELECT rowid, -bm25(t) FROM t WHERE t MATCH ?", (expression,))
        )
    return [max(float(scores.get(i, 0.0)), 0.0) for i in range(len(texts))]


def bm25_plain(query: str, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    """BM25 of each text for the query's content words, like ``bm25_among`` but in Python
    on lowercased whole words (no stemming): a tenth of its cost on a few dozen sentences,
    for rankings that run on every search (highlights)."""
    wanted = set(query_words(query))
    if not wanted or not texts:
        return [0.0] * len(texts)
    counted = [_WORD.findall(text.lower()) for text in texts]
    average = sum(len(words) for words in counted) / len(counted) or 1.0
    frequencies = [
        {word: words.count(word) for word in wanted.intersection(words)} for words in counted
    ]
    holding = {word: sum(word in f for f in frequencies) for word in wanted}
    n = len(texts)
    idf = {w: math.log(1 + (n - holding[w] + 0.5) / (holding[w] + 0.5)) for w in wanted}
    return [
        sum(
            idf[word] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(words) / average))
            for word, tf in f.items()
        )
        for words, f in zip(counted, frequencies, strict=True)
    ]
