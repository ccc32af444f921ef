"""What a file's reader hands back: the text, page by page, and what the file says of itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from index.files.formats import FileFormat


@dataclass(frozen=True)
class ExtractedFile:
    """A file's text and metadata. ``pages`` holds one text per page of a PDF, and a single
    text for formats without pages; the engine cleans and joins them, keeping where each
    page starts so citations can name theirs."""

    format: FileFormat
    pages: tuple[str, ...]
    title: str | None = None
    author: str | None = None
    published_at: date | None = None
    url: str | None = None
    source: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def paged(self) -> bool:
        return self.format is FileFormat.PDF
