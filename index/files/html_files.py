"""Web pages: the main content and the page's own citation metadata, by trafilatura."""

from __future__ import annotations

from datetime import date

import trafilatura

from index.errors import UnreadableFileError
from index.files.document import ExtractedFile
from index.files.formats import FileFormat


def read_html(data: bytes) -> ExtractedFile:
    """The main content of a page: navigation, scripts, styles, cookie banners, comments and
    share bars out; title (og:title, <title>), date (article:published_time, JSON-LD...),
    author and canonical URL from the page's metadata.

    Raises:
        UnreadableFileError: the page holds no text trafilatura sees as content.
    """
    found = trafilatura.bare_extraction(
        data,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        # Dates from the page's markup only: never guessed from its URL or the clock.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if not isinstance(found, trafilatura.settings.Document) or not (found.text or "").strip():
        raise UnreadableFileError("has no text that reads as a page's content")
    return ExtractedFile(
        format=FileFormat.HTML,
        pages=(found.text or "",),
        title=found.title or None,
        author=found.author or None,
        published_at=_date(found.date),
        url=found.url or None,
    )


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
