"""Documents from files: .txt articles, HTML, PDF, Word and Markdown files (id = file stem) and
.jsonl batches."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from index.article import parse_article
from index.errors import FileError
from index.files import SUFFIXES, SUPPORTED, FileFields, FileReader, extract, file_document
from index.models import DocumentInput

ARTICLE_SUFFIX = ".txt"
JSONL_SUFFIX = ".jsonl"
READ_SUFFIXES = (*SUFFIXES, JSONL_SUFFIX)
_JSONL_FIELDS = {"id", "title", "text", "source", "url", "published_at", "metadata"}


@dataclass(frozen=True)
class Record:
    """A document read from a file, and where it was: ``path`` or ``path:line``."""

    document: DocumentInput
    where: str


@dataclass(frozen=True)
class BadRecord:
    """A part of a file that is not a document (a line, or the whole file), and why."""

    where: str
    reason: str


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files to ingest: the given files, and the supported files found under directories."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in READ_SUFFIXES
                )
            )
        else:
            found.append(path)
    return found


def document_from_article(path: Path) -> DocumentInput:
    """A .txt web article: cleaned, with the metadata its text states; id = file stem."""
    article = parse_article(path.read_text(encoding="utf-8"))
    return DocumentInput(
        id=path.stem,
        text=article.text,
        title=article.title,
        source=article.source,
        published_at=article.published_at,
        metadata=dict(article.metadata),
    )


def _jsonl_document(line: str) -> DocumentInput:
    """One JSON document with the fields of the upsert API; ValueError says what is wrong."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON: {error.msg} (column {error.colno})") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError("expected an object with a string 'text'")
    unknown = set(record) - _JSONL_FIELDS
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    published = record.get("published_at")
    try:
        published_at = date.fromisoformat(published) if published else None
    except (TypeError, ValueError):
        raise ValueError(f"published_at: not a YYYY-MM-DD date: {published!r}") from None
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ValueError("metadata: expected an object")
    return DocumentInput(
        id=None if record.get("id") is None else str(record["id"]),
        text=record["text"],
        title=record.get("title"),
        source=record.get("source"),
        url=record.get("url"),
        published_at=published_at,
        metadata=metadata,
    )


def _jsonl_records(path: Path) -> Iterator[Record | BadRecord]:
    # Lines are decoded one by one: a line that is not UTF-8 is one bad record, not the end.
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                line = raw.decode("utf-8")
                if line.strip():
                    yield Record(_jsonl_document(line), where)
            except UnicodeDecodeError as error:
                yield BadRecord(where, f"not valid UTF-8 (byte {error.start} of the line)")
            except ValueError as error:
                yield BadRecord(where, str(error))


def read_records(path: Path, files: FileReader | None = None) -> Iterator[Record | BadRecord]:
    """Every document in one file with where it was, and every part that is not one: a
    malformed .jsonl line is one bad record and the lines around it are still read; a file that
    cannot be read, or a file of an unsupported type, is one bad record. HTML, PDF, Word and
    Markdown files are read by ``files`` (bounded worker processes), or here without one."""
    suffix = path.suffix.lower()
    if suffix == JSONL_SUFFIX:
        yield from _jsonl_records(path)
    elif suffix == ARTICLE_SUFFIX:
        try:
            yield Record(document_from_article(path), str(path))
        except UnicodeDecodeError as error:
            yield BadRecord(str(path), f"not valid UTF-8 (byte {error.start})")
    elif suffix in SUFFIXES:
        try:
            data = path.read_bytes()
            extracted = files.read(data, path.name, None) if files else extract(data, path.name)
        except FileError as error:
            yield BadRecord(str(path), error.message)
        except OSError as error:
            yield BadRecord(str(path), f"cannot be read: {error.strerror or error}")
        else:
            yield Record(file_document(extracted, FileFields(id=path.stem)), str(path))
    else:
        yield BadRecord(
            str(path), f"unsupported file type {suffix or '(none)'}; use {SUPPORTED} or .jsonl"
        )


def read_documents(path: Path) -> list[DocumentInput]:
    """The documents in one file, all or nothing (the seed corpus).

    Raises:
        ValueError: the file is not UTF-8, not a supported type, or has a malformed line.
    """
    documents = []
    for item in read_records(path):
        if isinstance(item, BadRecord):
            raise ValueError(
                item.reason if item.where == str(path) else f"{item.where}: {item.reason}"
            )
        documents.append(item.document)
    return documents
