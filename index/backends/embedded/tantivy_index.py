"""The top-k lexical index: a derived, rebuildable BM25 index of one collection's chunks, kept
by tantivy beside the FAISS file.

FTS5 scores every chunk that matches any query word before it can rank them (a median SciFact
claim matches 5,244 of 18,062 chunks: 4-5 ms); tantivy's block-max WAND skips the blocks that
cannot reach the top k (0.2 ms), with the same BM25 (k1 1.2, b 0.75). The words are FTS5's
(``words.query_words``), tokenized alike: split on non-alphanumerics, lowercased, accents
folded, English (Porter 2) stemming; the title is indexed twice ahead of the text, as FTS5's
title weight 2 counts it (SciFact train lexical nDCG@10 0.6811 against FTS5's 0.6808).

The store stays the truth and keeps FTS5 (in its own transactions) for filtered searches. This
index records the store generation it reflects in a file beside it, written only after the
commit that reaches that generation, so a missing, damaged or stale index is detected on
start and rebuilt from the store.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import tantivy

from index import words
from index.backends.embedded.vectors import temporary_path
from index.durable import fsync_directory

log = logging.getLogger(__name__)

_ANALYZER = "semsearch_en"
_BODY = "body"
_CHUNK_ID = "chunk_id"
_GENERATION_FILE = "generation"
_WRITER_HEAP = 64_000_000  # bytes buffered before the writer flushes a segment on its own
_LONGEST_TOKEN = 40  # longer "words" (base64, hashes) are noise; FTS5 keeps them, they never rank


def _analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(_LONGEST_TOKEN))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field(_BODY, tokenizer_name=_ANALYZER, index_option="freq")
    builder.add_unsigned_field(_CHUNK_ID, indexed=True, fast=True)
    return builder.build()


def _body(title: str, text: str) -> str:
    """What is indexed for a chunk: its document's title twice (weight 2), then its text."""
    return f"{title} {title} {text}" if title else text


class TantivyIndex:
    """Chunk-id-keyed BM25 search over one directory. Writes are applied by ``add`` and
    ``remove`` and become visible, and durable, together at ``commit``."""

    def __init__(self, directory: Path) -> None:
        """Open the index in ``directory``, or create an empty one there.

        Raises:
            ValueError, OSError: the files there are not a readable index.
        """
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._schema = _schema()
        self._index = tantivy.Index(self._schema, path=str(directory), reuse=True)
        self._analyzer = _analyzer()
        self._index.register_tokenizer(_ANALYZER, self._analyzer)
        self._index.config_reader(reload_policy="Manual")
        self._writer: tantivy.IndexWriter | None = None
        self._searcher = self._index.searcher()

    @classmethod
    def opened(cls, directory: Path) -> tuple[TantivyIndex, int | None]:
        """The index in ``directory`` and the store generation it reflects (None: unknown, so
        it must be rebuilt); a damaged index is replaced by an empty one."""
        record = directory / _GENERATION_FILE
        temporary_path(record).unlink(missing_ok=True)  # a record cut off by a crash
        generation = _read_generation(record)
        try:
            return cls(directory), generation
        except (ValueError, OSError) as error:
            log.warning("lexical index %s is unreadable (%s): rebuilding", directory, error)
            shutil.rmtree(directory, ignore_errors=True)
            return cls(directory), None

    def close(self) -> None:
        """Release the writer (and its lock file); the committed index stays on disk."""
        if self._writer is not None:
            self._writer.wait_merging_threads()
            self._writer = None

    def __len__(self) -> int:
        return int(self._searcher.num_docs)

    # -- writes --------------------------------------------------------------------------------

    def add(self, rows: Iterable[tuple[int, str, str]]) -> None:
        """Index (chunk id, title, text) rows."""
        writer = self._writing()
        for chunk_id, title, text in rows:
            document = tantivy.Document()
            document.add_unsigned(_CHUNK_ID, chunk_id)
            document.add_text(_BODY, _body(title, text))
            writer.add_document(document)

    def remove(self, chunk_ids: Sequence[int]) -> None:
        if chunk_ids:
            # a query built from the schema makes u64 terms; a bare int would be read as i64
            matching = tantivy.Query.term_set_query(self._schema, _CHUNK_ID, list(chunk_ids))
            self._writing().delete_documents_by_query(matching)

    def clear(self) -> None:
        self._writing().delete_all_documents()

    def commit(self, generation: int) -> None:
        """Make the added and removed rows durable and visible, and record that the index now
        reflects the store at ``generation``.

        Raises:
            OSError, ValueError: the commit failed; the index on disk is as it was, and the
                rows given since the last commit are lost: ``invalidate`` it.
        """
        self._writing().commit()
        self._index.reload()
        self._searcher = self._index.searcher()
        _write_generation(self.directory / _GENERATION_FILE, generation)

    def invalidate(self) -> None:
        """Forget the generation recorded, so the next start rebuilds the index."""
        try:
            _write_generation(self.directory / _GENERATION_FILE, None)
        except OSError as error:
            log.error("could not mark the lexical index %s stale: %s", self.directory, error)

    def _writing(self) -> tantivy.IndexWriter:
        if self._writer is None:
            self._writer = self._index.writer(_WRITER_HEAP, 1)
        return self._writer

    # -- reads ---------------------------------------------------------------------------------

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The k best chunks as (chunk id, BM25 > 0), best first: any of the query's words."""
        terms = [
            tantivy.Query.term_query(self._schema, _BODY, token, index_option="freq")
            for word in words.query_words(query)
            for token in self._analyzer.analyze(word)
        ]
        if not terms or k <= 0:
            return []
        should = tantivy.Occur.Should
        query_ = tantivy.Query.boolean_query([(should, term) for term in terms])
        searcher = self._searcher  # a snapshot: a commit meanwhile swaps in another
        hits = searcher.search(query_, k, count=False).hits
        ids = searcher.fast_field_values(_CHUNK_ID, [address for _, address in hits])
        return [
            (i, float(score))
            for (score, _), i in zip(hits, ids, strict=True)
            if isinstance(i, int)  # every chunk has its id; None would be a foreign segment
        ]

    def ids(self) -> set[int]:
        """Every indexed chunk id (for consistency checks)."""
        searcher = self._searcher
        count = int(searcher.num_docs)
        if not count:
            return set()
        hits = searcher.search(tantivy.Query.all_query(), count, count=False).hits
        found = searcher.fast_field_values(_CHUNK_ID, [address for _, address in hits])
        return {i for i in found if isinstance(i, int)}


def _read_generation(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def _write_generation(path: Path, generation: int | None) -> None:
    """Record the generation (None: remove the record) atomically and durably."""
    if generation is None:
        path.unlink(missing_ok=True)
    else:
        staged = temporary_path(path)
        with open(staged, "w") as out:
            out.write(str(generation))
            out.flush()
            os.fsync(out.fileno())
        os.replace(staged, path)
    fsync_directory(path.parent)
