"""What crosses the storage seam in a write: a document cleaned, chunked and embedded, and the
byte form its vectors travel in between stores (a copy or a snapshot re-embeds nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from index.embedding import Vectors
from index.models import Document, Metadata


@dataclass(frozen=True)
class NewChunk:
    chunk_index: int
    char_start: int
    char_end: int
    token_count: int
    sentences: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class PreparedDocument:
    """A cleaned, chunked and embedded document, ready to be written in one transaction."""

    id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: date | None
    metadata: Metadata
    text: str
    content_hash: str
    chunks: list[NewChunk] | None = None  # None: text unchanged, keep the stored chunks
    vectors: Vectors | None = None
    # per chunk: one row per sentence span (None for a chunk copied from a store written
    # before sentence vectors were kept)
    sentence_vectors: Sequence[NDArray[np.floating[Any]] | None] | None = None
    format: str | None = None
    page_starts: tuple[int, ...] | None = None  # where each page starts in text; None: no pages
    # the text's MinHash (index/duplicates.py), made with its chunks; None: made when written
    fingerprint: bytes | None = None
    # Copied from another store (snapshot, migrate): the copy it was there, kept as it was
    # (``linked``) instead of found again.
    duplicate_of: str | None = None
    linked: bool = False


def sentence_bytes(vectors: NDArray[np.floating[Any]] | None) -> bytes | None:
    """Sentence vectors as stored: float16 rows."""
    return None if vectors is None else np.asarray(vectors, dtype=np.float16).tobytes()


def exported(
    document: Document,
    content_hash: str,
    chunks: Sequence[tuple[NewChunk, bytes, bytes | None]],
    dimension: int,
) -> PreparedDocument:
    """A stored document with its chunks, float32 vectors and float16 sentence vectors, as a
    write of another store takes it (nothing re-embedded)."""
    return PreparedDocument(
        id=document.id,
        title=document.title,
        source=document.source,
        url=document.url,
        published_at=document.published_at,
        metadata=document.metadata,
        text=document.text,
        content_hash=content_hash,
        format=document.format,
        page_starts=document.page_starts,
        duplicate_of=document.duplicate_of,
        linked=True,
        chunks=[chunk for chunk, _, _ in chunks],
        vectors=chunk_vectors([v for _, v, _ in chunks], dimension),
        sentence_vectors=[stored_sentence_vectors(s, dimension) for _, _, s in chunks],
    )


def chunk_vectors(stored: Sequence[bytes], dimension: int) -> Vectors:
    """Chunk vectors from their stored float32 bytes, one row per chunk."""
    return np.frombuffer(b"".join(stored), dtype=np.float32).reshape(len(stored), dimension)


def stored_sentence_vectors(
    stored: bytes | None, dimension: int
) -> NDArray[np.floating[Any]] | None:
    """A chunk's sentence vectors from their stored float16 bytes (``sentence_bytes``)."""
    return (
        None if stored is None else np.frombuffer(stored, dtype=np.float16).reshape(-1, dimension)
    )
