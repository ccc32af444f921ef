"""Files to documents: the format resolved from the name and the bytes, then read by its reader;
``FileReader`` runs that in worker processes with a time and a memory bound, so one hostile or
pathological file costs its own process, never the server's event loop or memory."""

from __future__ import annotations

import multiprocessing
import resource
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import date

from pebble import ProcessExpired, ProcessPool

from index.article import parse_article
from index.errors import FileError, FileTooLargeError, UnreadableFileError
from index.files.document import ExtractedFile
from index.files.docx_files import read_docx
from index.files.formats import FileFormat, resolve_format
from index.files.html_files import read_html
from index.files.pdf_files import read_pdf
from index.files.text_files import decoded, markdown_text
from index.models import DocumentInput, Metadata


def extract(data: bytes, filename: str | None, content_type: str | None = None) -> ExtractedFile:
    """A file's text and metadata, in this process (``FileReader`` bounds it).

    Raises:
        UnsupportedFileError: a type not read here, or bytes that are not the declared type.
        UnreadableFileError: a file of a supported type that cannot be read, or has no text.
        FileTooLargeError: an archive that unpacks past its limit.
    """
    try:
        return _extract(data, resolve_format(data, filename, content_type))
    except FileError as error:
        raise error.naming(filename or "(unnamed)") from None


def _extract(data: bytes, kind: FileFormat) -> ExtractedFile:
    if kind is FileFormat.PDF:
        return read_pdf(data)
    if kind is FileFormat.DOCX:
        return read_docx(data)
    if kind is FileFormat.HTML:
        return read_html(data)
    text = decoded(data)
    if kind is FileFormat.MARKDOWN:
        body, title = markdown_text(text)
        return ExtractedFile(format=kind, pages=(body,), title=title)
    # Plain text reads as the seed articles do: the header lines stating a headline, a date,
    # a source or an author become fields.
    article = parse_article(text)
    return ExtractedFile(
        format=kind,
        pages=(article.text,),
        title=article.title,
        published_at=article.published_at,
        source=article.source,
        author=article.metadata.get("author"),
        metadata={k: v for k, v in article.metadata.items() if k != "author"},
    )


@dataclass(frozen=True)
class FileFields:
    """What the caller says of a file; each given field wins over what the file states."""

    id: str | None = None
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published_at: date | None = None
    metadata: Metadata | None = None


def file_document(extracted: ExtractedFile, fields: FileFields) -> DocumentInput:
    """The document to upsert: the file's pages joined (a blank line between two), and where
    each page starts when the file has pages."""
    starts: list[int] = []
    text = ""
    for page in extracted.pages:
        if text:
            text += "\n\n"
        starts.append(len(text))
        text += page
    metadata: Metadata = dict(extracted.metadata)
    if extracted.author:
        metadata["author"] = extracted.author
    metadata.update(fields.metadata or {})
    return DocumentInput(
        text=text,
        id=fields.id,
        title=fields.title or extracted.title,
        source=fields.source or extracted.source,
        url=fields.url or extracted.url,
        published_at=fields.published_at or extracted.published_at,
        metadata=metadata,
        format=extracted.format.value,
        page_starts=tuple(starts) if extracted.paged else (),
    )


def _bound_memory(budget: int) -> None:
    """A worker's address space is capped at what it holds once started plus ``budget``: a
    file that needs more fails with MemoryError. (A spawned worker first imports its parent's
    main module: under a server, the model runtime's 600 MB of address space, little of it
    resident, which the budget should not have to cover.)"""
    with open("/proc/self/statm") as statm:  # Linux: the size in pages comes first
        held = int(statm.read().split()[0]) * resource.getpagesize()
    limit = held + budget
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class FileReader:
    """Reads files in up to ``workers`` processes (started on first use), each file within
    ``seconds`` and ``memory_bytes``; a worker that overruns is killed and replaced."""

    def __init__(self, max_bytes: int, seconds: float, memory_bytes: int, workers: int = 1) -> None:
        self.max_bytes = max_bytes
        self.seconds = seconds
        self.memory_bytes = memory_bytes
        self.workers = workers
        self._pool: ProcessPool | None = None
        self._starting = threading.Lock()

    def read(self, data: bytes, filename: str | None, content_type: str | None) -> ExtractedFile:
        """``extract`` in a worker process, bounded.

        Raises:
            FileTooLargeError: more than ``max_bytes``.
            UnreadableFileError: parsing took longer than ``seconds``, needed more memory than
                ``memory_bytes``, or crashed its process; and every error ``extract`` raises.
        """
        name = filename or "(unnamed)"
        if len(data) > self.max_bytes:
            raise FileTooLargeError(
                f"has {len(data)} bytes; the limit is {self.max_bytes} (SEMSEARCH_MAX_FILE_BYTES)"
            ).naming(name)
        future = self._workers().schedule(
            extract, args=(data, filename, content_type), timeout=self.seconds
        )
        try:
            return future.result()
        except FutureTimeout:
            problem = f"took more than {self.seconds:g} s to read (SEMSEARCH_FILE_PARSE_SECONDS)"
        except MemoryError:
            megabytes = self.memory_bytes // 2**20
            problem = f"needs more than {megabytes} MiB to read (SEMSEARCH_FILE_PARSE_MEMORY_MB)"
        except ProcessExpired as error:
            problem = f"made its reading process fail (exit code {error.exitcode})"
        raise UnreadableFileError(problem).naming(name)

    def _workers(self) -> ProcessPool:
        with self._starting:
            return self._started()

    def _started(self) -> ProcessPool:
        if self._pool is None:
            # spawn: a fork of a server holding threads and a loaded model is neither safe nor
            # small; a worker is replaced after 100 files, so a leak cannot grow without end.
            self._pool = ProcessPool(
                max_workers=self.workers,
                max_tasks=100,
                initializer=_bound_memory,
                initargs=(self.memory_bytes,),
                context=multiprocessing.get_context("spawn"),
            )
        return self._pool

    def close(self) -> None:
        with self._starting:
            if self._pool is None:
                return
            self._pool.stop()  # type: ignore[no-untyped-call]
            self._pool.join()
            self._pool = None
