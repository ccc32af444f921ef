"""Chunking and embedding of cleaned documents: what an upsert does between checking a batch and
writing it. The engine runs it in process; a Ray actor runs the same code on another machine
(index/distributed.py), so a document is chunked and embedded the same way wherever it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from index.chunking import chunk_text
from index.embedding import Embedder
from index.store import NewChunk, PreparedDocument
from index.text import sentence_spans


@dataclass(frozen=True)
class ChunkingConfig:
    """How documents are cut and what each chunk's model input holds."""

    chunk_tokens: int = 128
    chunk_overlap_tokens: int = 32
    # Embed "title\nchunk" so a chunk carries its document's subject; the title is cut to the
    # tokens the window has left, so nothing is ever truncated by the model.
    embed_titles: bool = True


class Preparer:
    """Cuts cleaned texts into chunks and embeds them with one model."""

    def __init__(self, embedder: Embedder, config: ChunkingConfig) -> None:
        self.embedder = embedder
        self.config = config

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
        """Each document chunked and embedded (a document with no chunk gets an empty list)."""
        return self.embedded([replace(d, chunks=self.chunks(d.text)) for d in documents])

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
