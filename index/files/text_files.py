"""Plain text and Markdown files: bytes decoded, Markdown rendered to text."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes
from markdown_it import MarkdownIt
from markdown_it.token import Token

from index.errors import UnreadableFileError

_MARKDOWN = MarkdownIt("commonmark").enable("table").enable("strikethrough")
# Blocks whose inline text becomes one line each (a heading, a paragraph, a table cell).
_LINE_BLOCKS = {"heading_open", "paragraph_open"}


def decoded(data: bytes) -> str:
    """The text of a file: UTF-8 (or UTF-16 with its byte-order mark), else Windows-1252 (what
    browsers fall back to), else the encoding charset-normalizer finds most likely. (Guessing
    first misreads short Western texts: "près" came back as Baltic "prčs".)

    Raises:
        UnreadableFileError: no encoding reads it as text.
    """
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(bom):
            return _decode(data, encoding)
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data[:1_000_000]).best()
    if best is None or best.encoding is None:
        raise UnreadableFileError("is not text in any encoding recognised")
    return _decode(data, best.encoding)


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise UnreadableFileError(f"is not valid {encoding} text") from None


def markdown_text(source: str) -> tuple[str, str | None]:
    """Markdown rendered to plain text, one line per heading, paragraph, list item, table row
    and code line, markup removed; and the first top-level heading, as the title."""
    lines: list[str] = []
    title: str | None = None
    tokens = _MARKDOWN.parse(source)
    row: list[str] | None = None
    for position, token in enumerate(tokens):
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            lines.append(" | ".join(cell for cell in row if cell))
            row = None
        elif token.type == "inline":
            text = _inline_text(token)
            if row is not None:
                row.append(text)
            else:
                lines.append(text)
                opener = tokens[position - 1] if position else None
                if title is None and opener is not None and opener.tag == "h1":
                    title = text or None
        elif token.type in {"fence", "code_block"}:
            lines.extend(token.content.rstrip("\n").split("\n"))
        elif token.type in _LINE_BLOCKS and lines and lines[-1]:
            lines.append("")  # a blank line between blocks, as the source had
    return "\n".join(lines), title


def _inline_text(token: Token) -> str:
    """An inline token's visible text: words, code, image alt texts; soft breaks as spaces."""
    parts: list[str] = []
    for child in token.children or ():
        if child.type in {"text", "code_inline"}:
            parts.append(child.content)
        elif child.type == "image":
            parts.append(_inline_text(child))
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
    return "".join(parts).strip()
