"""Preparing documents for the store: checking, cleaning and hashing what a caller sent, then
chunking and embedding what is new. The engine runs it in process; a Ray actor runs the same
code on another machine (index/distributed.py), so a document is prepared the same way
wherever it is.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

from index.backends.records import NewChunk, PreparedDocument
from index.chunking import chunk_text
from index.duplicates import fingerprint
from index.embedding import Embedder
from index.errors import InputTooLargeError, InvalidInputError
from index.metadata import check_metadata, check_text, check_url
from index.models import DOCUMENT_ID_PATTERN, DocumentInput
from index.text import clean_text, repair_text, sentence_spans

_DOCUMENT_ID = re.compile(DOCUMENT_ID_PATTERN)


@dataclass(frozen=True)
class ChunkingConfig:
    """How documents are cut and what each chunk's model input holds."""

    chunk_tokens: int = 128
    chunk_overlap_tokens: int = 32
    # Embed "title\nchunk" so a chunk carries its document's subject; the title is cut to the
    # tokens the window has left, so nothing is ever truncated by the model.
    embed_titles: bool = True


class Preparer:
    """Checks, cleans and hashes documents, cuts them into chunks and embeds them with one
    model."""

    def __init__(self, embedder: Embedder, config: ChunkingConfig) -> None:
        self.embedder = embedder
        self.config = config
        # Identifies how chunks are made: a change re-embeds a document on its next upsert.
        self.chunking_key = (
            f"{embedder.name}|{embedder.precision}|{config.chunk_tokens}"
            f"|{config.chunk_overlap_tokens}|{config.embed_titles}"
        )

    def validated(
        self, documents: Sequence[DocumentInput], max_chars: int | None = None
    ) -> list[PreparedDocument]:
        """Each document cleaned, checked and hashed, not yet chunked: what an upsert writes
        (ids generated where missing, and unique within the batch).

        Raises:
            InvalidInputError: the first bad record, named ``documents[i].field``.
            InputTooLargeError: a text longer than ``max_chars``.
        """
        seen: set[str] = set()
        out: list[PreparedDocument] = []
        for position, document in enumerate(documents):
            document_id = document.id if document.id is not None else uuid.uuid4().hex
            if not _DOCUMENT_ID.fullmatch(document_id):  # match() let "abc\n" through
                raise InvalidInputError(
                    f"documents[{position}].id", f"must match {DOCUMENT_ID_PATTERN}"
                )
            if document_id in seen:
                raise InvalidInputError(
                    f"documents[{position}].id", f"{document_id!r} appears twice in the batch"
                )
            seen.add(document_id)
            field = f"documents[{position}]"
            for name in ("title", "source"):
                check_text(getattr(document, name), f"{field}.{name}")
            check_url(document.url, f"{field}.url")
            check_metadata(document.metadata, f"{field}.metadata")
            if document.page_starts:
                _check_page_starts(document, f"{field}.page_starts")
            text, starts = _cleaned_text(
                document.text, f"{field}.text", max_chars, document.page_starts or (0,)
            )
            pages = starts if document.page_starts else None
            title = repair_text(document.title) or None if document.title else None
            # Pages are part of what is stored: the same text cut into other pages is a change.
            page_key = "" if pages is None else f"\npages {','.join(map(str, pages))}"
            out.append(
                PreparedDocument(
                    id=document_id,
                    title=title,
                    source=document.source,
                    url=document.url,
                    published_at=document.published_at,
                    metadata=dict(document.metadata),
                    text=text,
                    content_hash=hashlib.sha256(
                        f"{self.chunking_key}\n{self.embedded_title(title)}\n{text}"
                        f"{page_key}".encode()
                    ).hexdigest(),
                    format=document.format,
                    page_starts=pages,
                )
            )
        return out

    def embedded_title(self, title: str | None) -> str:
        """The part of a title that heads every chunk's model input ("" for none)."""
        return title if title and self.config.embed_titles else ""

    def chunks(self, text: str) -> list[NewChunk]:
        """The chunks of a cleaned text (none when it holds no token)."""
        chunks = chunk_text(
            text,
            sentence_spans(text),
            self.embedder.token_offsets,
            self.config.chunk_tokens,
            self.config.chunk_overlap_tokens,
        )
        return [
            NewChunk(c.index, c.char_start, c.char_end, c.token_count, c.sentences) for c in chunks
        ]

    def prepared(self, documents: Sequence[PreparedDocument]) -> list[PreparedDocument]:
        """Each document chunked, embedded and fingerprinted (a document with no chunk gets an
        empty list)."""
        return self.embedded(
            [
                replace(d, chunks=self.chunks(d.text), fingerprint=fingerprint(d.text).to_bytes())
                for d in documents
            ]
        )

    def embedded(self, batch: Sequence[PreparedDocument]) -> list[PreparedDocument]:
        """Embed the chunks of every document that has new chunks, and their sentences from
        the same model pass (support scores evidence with those)."""
        inputs = [
            self._embedding_input(document, chunk)
            for document in batch
            for chunk in document.chunks or ()
        ]
        vectors, sentence_vectors = self.embedder.embed_with_spans(
            [text for text, _ in inputs], [spans for _, spans in inputs]
        )
        out: list[PreparedDocument] = []
        offset = 0
        for document in batch:
            if document.chunks is None:
                out.append(document)
                continue
            end = offset + len(document.chunks)
            out.append(
                replace(
                    document,
                    vectors=vectors[offset:end],
                    sentence_vectors=sentence_vectors[offset:end],
                )
            )
            offset = end
        return out

    def _embedding_input(
        self, document: PreparedDocument, chunk: NewChunk
    ) -> tuple[str, list[tuple[int, int]]]:
        """The chunk text, headed by as much of the title as the model window leaves room for,
        and where the chunk's sentences lie in it."""
        text = document.text[chunk.char_start : chunk.char_end]
        title = self.embedded_title(document.title)
        room = self.embedder.max_tokens - chunk.token_count - 1  # one token for the separator
        if title and room >= 1:
            offsets = self.embedder.token_offsets([title])[0]
            if len(offsets) > room:
                title = title[: offsets[room - 1][1]]
            text = f"{title}\n{text}"
        shift = len(text) - (chunk.char_end - chunk.char_start) - chunk.char_start
        return text, [(start + shift, end + shift) for start, end in chunk.sentences]


def _check_page_starts(document: DocumentInput, field: str) -> None:
    starts = document.page_starts
    if starts[0] != 0 or any(b < a for a, b in pairwise(starts)) or starts[-1] > len(document.text):
        raise InvalidInputError(field, "must start at 0 and never decrease, within the text")


def _cleaned_text(
    raw: str, field: str, limit: int | None, page_starts: tuple[int, ...]
) -> tuple[str, tuple[int, ...]]:
    """The text cleaned page by page (one page: the whole text) and joined with a blank line
    between pages, within ``limit`` characters; and where each page starts in it (an empty page
    starts where the next page's text does). The normalised length is checked before the slower
    repair runs (18 M characters took it 10 s), and the cleaned length after."""
    if limit is not None:
        normalised = _normalised_length(raw, limit)
        if normalised > limit:
            raise InputTooLargeError(
                field,
                f"has over {limit} characters once Unicode-normalised (NFKC): at least "
                f"{normalised}",
            )
    text = ""
    cleaned_starts: list[int] = []
    waiting = 0  # empty pages before the next page with text
    for start, end in zip(page_starts, (*page_starts[1:], len(raw)), strict=True):
        page = clean_text(raw[start:end])
        if not page:
            waiting += 1
            continue
        if text:
            text += "\n\n"
        cleaned_starts.extend([len(text)] * (waiting + 1))
        waiting = 0
        text += page
    cleaned_starts.extend([len(text)] * waiting)
    if not text:
        raise InvalidInputError(field, "must contain text")
    if limit is not None and len(text) > limit:
        raise InputTooLargeError(field, f"has {len(text)} characters; the limit is {limit}")
    return text, tuple(cleaned_starts)


def _normalised_length(text: str, limit: int, piece: int = 65_536) -> int:
    """The NFKC length of ``text``, a piece at a time and only until it passes ``limit``: one
    call on a million characters holds the GIL for 0.7 s, stalling every other request. (A
    piece boundary can only keep a composition from happening, so this never undercounts.)"""
    total = 0
    for start in range(0, len(text), piece):
        total += len(unicodedata.normalize("NFKC", text[start : start + piece]))
        if total > limit:
            break
    return total
