"""Citation metadata stated inside a web article's text: headline, date, publisher, author.

Files ingested from disk carry their metadata as lines of text ("Published on July 19, 2025",
"Source: South China Morning Post", "Author: ..."). These lines are moved into fields and removed
from the stored body; the headline stays as the body's first line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from index.text import clean_text, normalise_whitespace

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_WEEKDAY = r"(?:(?:mon|tues|wed|thurs|fri|sat|sun)(?:day)?|tue|thu|wed),?\s+"
_DATE = (
    rf"(?:{_WEEKDAY})?(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})"
)
_DATE_LINE = re.compile(
    rf"^(?:(?:published|posted|updated)(?:\s+on)?:?\s+)?(?P<date>{_DATE})$", re.IGNORECASE
)
_PUBLISHED_IN = re.compile(
    rf"^published\s+(?:in|by)\s+(?P<source>[^,]+?)(?:,\s*(?P<date>{_DATE}))?\.?$", re.IGNORECASE
)
_SOURCE_LINE = re.compile(r"^source\s*:\s*(?P<source>.+)$", re.IGNORECASE)
_AUTHOR_LINE = re.compile(r"^(?:author\s*:|by)\s+(?P<author>[^\d:]{2,80})$", re.IGNORECASE)
# "Area of Work: Regional Cooperation" in an article's header: a short label and a short value.
_LABEL_LINE = re.compile(r"^(?P<label>[A-Z][A-Za-z]*(?: [A-Za-z]+){0,3})\s*:\s+(?P<value>.{1,80})$")
_BREADCRUMB = re.compile(r"^(?:home|start)\s*[»›>]", re.IGNORECASE)

_HEADER_LINES = 8  # metadata lines are looked for this far into the article
_MAX_HEADLINE_WORDS = 25


@dataclass(frozen=True)
class Article:
    """A cleaned article body and the citation metadata its text stated."""

    text: str
    title: str | None = None
    published_at: date | None = None
    source: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def parse_date(value: str) -> date | None:
    """Parse the date formats news pages print ("Tuesday, November 18th, 2025", "2025-11-18")."""
    value = re.sub(rf"^{_WEEKDAY}", "", value.strip(), flags=re.IGNORECASE)
    value = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", value).replace(",", " ").replace(".", " ")
    value = " ".join(value.split())
    for fmt in ("%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def parse_article(raw: str) -> Article:
    """Clean a web article and lift its stated metadata out of the body.

    Returns:
        The cleaned body (headline first, metadata lines removed) with title, date, source and
        any other header labels (``author`` among them) in ``metadata``.
    """
    crumb_title = _breadcrumb_title(raw)
    lines = clean_text(raw).split("\n")
    if crumb_title is not None:
        lines = _from_headline(lines, crumb_title)
    title: str | None = None
    published: date | None = None
    source: str | None = None
    metadata: dict[str, str] = {}
    body: list[str] = []
    in_header = True
    for index, line in enumerate(lines):
        if match := _PUBLISHED_IN.match(line):
            source = match.group("source").strip()
            published = published or parse_date(match.group("date") or "")
            continue
        if match := _SOURCE_LINE.match(line):
            source = match.group("source").strip()
            continue
        if in_header and line and index < _HEADER_LINES * 2:
            if _is_prose(line):
                in_header = False
            elif match := _DATE_LINE.match(line):
                published = published or parse_date(match.group("date"))
                continue
            elif match := _AUTHOR_LINE.match(line):
                metadata["author"] = match.group("author").strip()
                continue
            elif match := _LABEL_LINE.match(line):
                metadata[_snake(match.group("label"))] = match.group("value").strip()
                continue
            elif title is None and _looks_like_headline(line):
                title = line
            elif title is not None and _repeats_title(line, title):
                continue
        body.append(line)
    return Article(
        text=normalise_whitespace("\n".join(body)),
        title=title or crumb_title,
        published_at=published,
        source=source,
        metadata=metadata,
    )


def _breadcrumb_title(raw: str) -> str | None:
    """The last crumb of a breadcrumb line ("Home » Blog » Title") is the page's headline."""
    for line in raw.split("\n")[:_HEADER_LINES]:
        if _BREADCRUMB.match(line.strip()):
            return clean_text(re.split(r"\s*[»›>]\s*", line.strip())[-1]) or None
    return None


def _from_headline(lines: list[str], title: str) -> list[str]:
    """Drop header furniture (category lists) that stands before the headline line."""
    for index, line in enumerate(lines[: _HEADER_LINES * 2]):
        if line == title:
            return lines[index:]
    return lines


def _looks_like_headline(line: str) -> bool:
    words = line.split()
    return 2 <= len(words) <= _MAX_HEADLINE_WORDS and not line.endswith((".", ":", ";", ","))


def _repeats_title(line: str, title: str) -> bool:
    """The headline printed again, or followed by a comma-separated keyword list."""
    return line == title or (line.startswith(title + ",") and "." not in line[len(title) :])


def _is_prose(line: str) -> bool:
    return len(line.split()) > _MAX_HEADLINE_WORDS or line.endswith((".", "!", "?", '"', "”"))


def _snake(label: str) -> str:
    return "_".join(label.lower().split())
