"""Word (.docx) files: paragraphs and headings in order, tables as text rows, title and author
from the core properties. The archive is measured before it is opened: a zip bomb is refused."""

from __future__ import annotations

import zipfile
from io import BytesIO

import docx
from docx.document import Document as WordDocument
from docx.opc.exceptions import OpcError
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import LxmlError  # type: ignore[import-untyped]

from index.errors import FileTooLargeError, UnreadableFileError
from index.files.document import ExtractedFile
from index.files.formats import FileFormat

# What the archive may unpack to: a real report is a few MB of XML and images.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_MEMBERS = 10_000
_TITLE_STYLES = {"Title", "Heading 1"}


def read_docx(data: bytes) -> ExtractedFile:
    """A Word document's text, one line per paragraph, heading and table row.

    Raises:
        UnreadableFileError: not a zip archive, or not a Word document inside.
        FileTooLargeError: the archive unpacks to more than MAX_UNPACKED_BYTES.
    """
    _check_archive(data)
    try:
        word = docx.Document(BytesIO(data))
        lines, first_heading = _lines(word)
        properties = word.core_properties
        title, author = properties.title, properties.author
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError, LxmlError, EOFError,
            OSError, AttributeError, TypeError) as error:  # fmt: skip
        raise UnreadableFileError(f"is a damaged Word file ({type(error).__name__})") from None
    text = "\n".join(lines)
    if not text.strip():
        raise UnreadableFileError("is a Word document with no text")
    return ExtractedFile(
        format=FileFormat.DOCX,
        pages=(text,),
        title=(title or "").strip() or first_heading,
        author=(author or "").strip() or None,
    )


def _check_archive(data: bytes) -> None:
    """Refuse a zip that is not one, or whose members would unpack past the limits. The sizes
    are the archive's own claims, and zipfile stops reading a member at its claimed size."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UnreadableFileError(
            "is not a Word (.docx) file: not a readable zip archive"
        ) from None
    unpacked = sum(member.file_size for member in members)
    if len(members) > MAX_MEMBERS or unpacked > MAX_UNPACKED_BYTES:
        raise FileTooLargeError(
            f"unpacks to {unpacked} bytes in {len(members)} parts; the limit is "
            f"{MAX_UNPACKED_BYTES} bytes in {MAX_MEMBERS} parts (a zip bomb?)"
        )


def _lines(word: WordDocument) -> tuple[list[str], str | None]:
    """The body's lines in order, and the text of its first title or heading-1 paragraph."""
    lines: list[str] = []
    first_heading: str | None = None
    for block in word.iter_inner_content():
        if isinstance(block, Paragraph):
            text = " ".join(block.text.split())
            style = block.style.name if block.style is not None else None
            if first_heading is None and text and style in _TITLE_STYLES:
                first_heading = text
            lines.append(text)
        elif isinstance(block, Table):
            lines.extend(_table_rows(block))
    return lines, first_heading


def _table_rows(table: Table) -> list[str]:
    """Each row as its cells' texts joined by " | " (a merged cell counted once)."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return rows
