"""Which format a file is: what its name or content type declares, checked against its bytes.

A declared type is trusted only when the bytes agree: a Windows program renamed ``.pdf`` is
refused (415) rather than handed to a PDF parser, and a file without a usable name is read as
whatever its bytes show.
"""

from __future__ import annotations

import zipfile
from enum import StrEnum
from io import BytesIO
from pathlib import PurePosixPath

from index.errors import UnreadableFileError, UnsupportedFileError


class FileFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"
    DOCX = "docx"
    MARKDOWN = "markdown"
    TEXT = "text"


SUFFIXES: dict[str, FileFormat] = {
    ".html": FileFormat.HTML,
    ".htm": FileFormat.HTML,
    ".xhtml": FileFormat.HTML,
    ".pdf": FileFormat.PDF,
    ".docx": FileFormat.DOCX,
    ".md": FileFormat.MARKDOWN,
    ".markdown": FileFormat.MARKDOWN,
    ".txt": FileFormat.TEXT,
}
MEDIA_TYPES: dict[str, FileFormat] = {
    "text/html": FileFormat.HTML,
    "application/xhtml+xml": FileFormat.HTML,
    "application/pdf": FileFormat.PDF,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": FileFormat.DOCX,
    "text/markdown": FileFormat.MARKDOWN,
    "text/x-markdown": FileFormat.MARKDOWN,
    "text/plain": FileFormat.TEXT,
}
SUPPORTED = ".html, .htm, .pdf, .docx, .md or .txt"
_TEXT_FAMILY = {FileFormat.HTML, FileFormat.MARKDOWN, FileFormat.TEXT}

# Magic numbers of formats we do not read, to say what a refused file is.
_FOREIGN = (
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office (OLE2) file such as a .doc"),
    (b"%!PS", "a PostScript file"),
    (b"{\\rtf", "an RTF file"),
)
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")


def declared_format(filename: str | None, content_type: str | None) -> FileFormat | None:
    """The format a file's name (first) or content type claims, if either names one we read.

    Raises:
        UnsupportedFileError: the name's suffix is one we do not read.
    """
    suffix = PurePosixPath(filename or "").suffix.lower()
    if suffix:
        if suffix in SUFFIXES:
            return SUFFIXES[suffix]
        raise UnsupportedFileError(f"is of a type not read here ({suffix}); send {SUPPORTED}")
    media_type = (content_type or "").split(";")[0].strip().lower()
    return MEDIA_TYPES.get(media_type)


def sniffed_format(data: bytes) -> FileFormat | str | None:
    """What the bytes are: one of our formats, a description of a foreign one ("a Windows
    program"), or None when they could be anything (text, or bytes of no known kind)."""
    head = data[:1024]
    if b"%PDF-" in head:
        return FileFormat.PDF
    if data.startswith(b"PK\x03\x04"):
        return "a zip archive that is not a Word document" if _other_zip(data) else FileFormat.DOCX
    for magic, description in _FOREIGN:
        if data.startswith(magic):
            return description
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith(_HTML_MARKERS) or b"<html" in lowered:
        return FileFormat.HTML
    return None


def resolve_format(data: bytes, filename: str | None, content_type: str | None) -> FileFormat:
    """The format to read ``data`` as: the declared one when the bytes agree with it.

    Raises:
        UnsupportedFileError: an unsupported declared type, or bytes of another kind than the
            declared one (or of no kind we read, when nothing is declared).
        UnreadableFileError: bytes that claim to be a PDF or Word file but are not one.
    """
    declared = declared_format(filename, content_type)
    sniffed = sniffed_format(data)
    if isinstance(sniffed, str) and not isinstance(sniffed, FileFormat):
        named = f"is named as a {declared.value} file but " if declared else ""
        raise UnsupportedFileError(f"{named}is {sniffed}; send {SUPPORTED}")
    if declared is None:
        if sniffed is not None:
            return sniffed
        if _looks_like_text(data):
            return FileFormat.TEXT
        raise UnsupportedFileError(f"holds bytes of no kind read here; send {SUPPORTED}")
    if sniffed is None or sniffed == declared:
        if declared is FileFormat.PDF and sniffed is None:
            raise UnreadableFileError("is not a PDF: it has no %PDF- header")
        if declared is FileFormat.DOCX and sniffed is None:
            raise UnreadableFileError("is not a Word (.docx) file: it is not a zip archive")
        if declared in _TEXT_FAMILY and not _looks_like_text(data):
            raise UnsupportedFileError(
                f"is named as a {declared.value} file but holds binary data; send {SUPPORTED}"
            )
        return declared
    if declared in _TEXT_FAMILY and sniffed in _TEXT_FAMILY:
        return declared  # HTML saved as .txt is read as the user named it
    raise UnsupportedFileError(
        f"is named as a {declared.value} file but its bytes are a {sniffed.value} file"
    )


def _other_zip(data: bytes) -> bool:
    """A whole zip archive without a Word document in it (a damaged one may still be a .docx:
    the Word reader says what is wrong with it)."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return "word/document.xml" not in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _looks_like_text(data: bytes) -> bool:
    """No NUL bytes and few control characters in the first 8 KiB (UTF-16 has a BOM)."""
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f")
    return controls <= len(head) // 100
