"""PDF files: text in reading order page by page (pdfminer.six's layout analysis), lines of a
paragraph joined and words hyphenated at line ends rejoined, running headers and footers
removed, title, author and date from the document information."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from io import BytesIO
from typing import Any

from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTPage, LTTextContainer
from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1
from pdfminer.psexceptions import PSException
from pdfminer.utils import decode_text

from index.errors import UnreadableFileError
from index.files.document import ExtractedFile
from index.files.formats import FileFormat

# A word cut at a line's end: "com-" then "pany" on the next line (a lower-case letter).
_HYPHENATED = re.compile(r"(?<=[^\W\d_])-$")
_PDF_DATE = re.compile(r"^D:(\d{4})(\d{2})?(\d{2})?")
_DIGITS = re.compile(r"\d+")
# A running header or footer is a page's first or last block, repeated on this share of pages.
_RUNNING_SHARE = 0.6


def read_pdf(data: bytes) -> ExtractedFile:
    """A PDF's text page by page, with its title, author and creation date when it states them.

    Raises:
        UnreadableFileError: corrupt, truncated or encrypted with a password; no pages; or no
            text layer at all (a scanned PDF: there is no OCR here).
    """
    try:
        document = PDFDocument(PDFParser(BytesIO(data)), password="")
        pages = [_blocks(layout) for layout in _layouts(document)]
        info = _info(document)
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise UnreadableFileError("is encrypted with a password; send it unencrypted") from None
    except (PSException, ValueError, TypeError, KeyError, IndexError, AttributeError,
            AssertionError, ZeroDivisionError, OverflowError, RecursionError, UnicodeError,
            LookupError, EOFError, OSError) as error:  # fmt: skip
        # pdfminer signals damage with every kind of exception: all of them mean "corrupt".
        raise UnreadableFileError(f"is a damaged PDF ({type(error).__name__})") from None
    if not pages:
        raise UnreadableFileError("is a PDF with no pages")
    texts = tuple("\n".join(blocks) for blocks in _without_running_lines(pages))
    if not any(text.strip() for text in texts):
        raise UnreadableFileError(
            "has no text layer (a scanned PDF?): there is no text to index, and no OCR here"
        )
    return ExtractedFile(
        format=FileFormat.PDF,
        pages=texts,
        title=info.get("Title"),
        author=info.get("Author"),
        published_at=_pdf_date(info.get("CreationDate")),
    )


def _layouts(document: PDFDocument) -> Iterator[LTPage]:
    resources = PDFResourceManager(caching=True)
    device = PDFPageAggregator(resources, laparams=LAParams(all_texts=True))
    interpreter = PDFPageInterpreter(resources, device)
    for page in PDFPage.create_pages(document):
        interpreter.process_page(page)
        layout = device.get_result()
        assert isinstance(layout, LTPage)
        yield layout


def _blocks(page: LTPage) -> list[str]:
    """A page's text blocks in reading order, each a paragraph on one line."""
    blocks = []
    for element in page:
        if isinstance(element, LTTextContainer):
            text = _joined_lines(element.get_text())
            if text:
                blocks.append(text)
    return blocks


def _joined_lines(text: str) -> str:
    """A block's lines as one paragraph: a hyphen cutting a word at a line's end goes."""
    out = ""
    for raw in text.split("\n"):
        line = " ".join(raw.split())
        if not line:
            continue
        if out and _HYPHENATED.search(out) and line[0].islower():
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out


def _without_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Pages without the headers and footers repeated on most of them (page numbers differ from
    page to page, so digits are compared as one symbol)."""
    if len(pages) < 2:
        return pages
    needed = max(2, math.ceil(_RUNNING_SHARE * len(pages)))
    firsts = Counter(_shape(blocks[0]) for blocks in pages if blocks)
    lasts = Counter(_shape(blocks[-1]) for blocks in pages if blocks)
    out = []
    for blocks in pages:
        kept = list(blocks)
        if kept and firsts[_shape(kept[0])] >= needed:
            kept = kept[1:]
        if kept and lasts[_shape(kept[-1])] >= needed:
            kept = kept[:-1]
        out.append(kept)
    return out


def _shape(block: str) -> str:
    return _DIGITS.sub("#", block.casefold())


def _info(document: PDFDocument) -> dict[str, str]:
    """The document information dictionary's text entries (Title, Author, CreationDate...)."""
    out: dict[str, str] = {}
    for entries in document.info:
        for key, value in resolve1(entries).items():
            text = _text(resolve1(value))
            if text:
                out[str(key)] = text
    return out


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return " ".join(decode_text(value).split()) or None
    if isinstance(value, str):
        return " ".join(value.split()) or None
    return None


def _pdf_date(value: str | None) -> date | None:
    """A PDF date ("D:20250203120000Z"), as a date."""
    match = _PDF_DATE.match(value or "")
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        return None
