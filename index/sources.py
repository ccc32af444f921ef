"""Documents from files: .txt/.md articles (id = file stem) and .jsonl batches."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from index.article import parse_article
from index.models import DocumentInput

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIX = ".jsonl"
_JSONL_FIELDS = {"id", "title", "text", "source", "url", "published_at", "metadata"}


@dataclass(frozen=True)
class SkippedFile:
    """A file that could not be read as documents, and why."""

    path: Path
    reason: str


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files to ingest: the given files, and the supported files found under directories."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and p.suffix.lower() in (*TEXT_SUFFIXES, JSONL_SUFFIX)
                )
            )
        else:
            found.append(path)
    return found


def document_from_article(path: Path) -> DocumentInput:
    """A .txt/.md web article: cleaned, with the metadata its text states; id = file stem."""
    article = parse_article(path.read_text(encoding="utf-8"))
    return DocumentInput(
        id=path.stem,
        text=article.text,
        title=article.title,
        source=article.source,
        published_at=article.published_at,
        metadata=dict(article.metadata),
    )


def documents_from_jsonl(path: Path) -> Iterator[DocumentInput]:
    """One JSON document per line with the fields of the upsert API."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise ValueError(f"line {number}: expected an object with a string 'text'")
            unknown = set(record) - _JSONL_FIELDS
            if unknown:
                raise ValueError(f"line {number}: unknown fields {sorted(unknown)}")
            published = record.get("published_at")
            yield DocumentInput(
                id=None if record.get("id") is None else str(record["id"]),
                text=record["text"],
                title=record.get("title"),
                source=record.get("source"),
                url=record.get("url"),
                published_at=date.fromisoformat(published) if published else None,
                metadata=record.get("metadata") or {},
            )


def read_documents(path: Path) -> list[DocumentInput]:
    """The documents in one file.

    Raises:
        ValueError: the file is not UTF-8, not a supported type or malformed.
    """
    suffix = path.suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            return [document_from_article(path)]
        if suffix == JSONL_SUFFIX:
            return list(documents_from_jsonl(path))
    except UnicodeDecodeError as error:
        raise ValueError(f"not valid UTF-8 (byte {error.start})") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON at line {error.lineno}: {error.msg}") from error
    raise ValueError(f"unsupported file type {suffix or '(none)'}; use .txt, .md or .jsonl")
