"""Files built in code for the file tests: PDFs written operator by operator, Word documents
by python-docx, web pages around a seed article. Nothing opaque is committed; each fixture
states what its reader must find in it."""

from __future__ import annotations

import textwrap
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import docx
from pypdf import PdfReader, PdfWriter

from index.sources import document_from_article

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
BOMBING_SEED = SEEDS / "003_997123c907f1ca25.txt"  # the Islamabad bombing


# -- PDF -------------------------------------------------------------------------------------

Line = tuple[float, float, float, str]  # x, y, font size, text (Helvetica, cp1252)


def pdf_file(pages: Sequence[Sequence[Line]], info: dict[str, str] | None = None) -> bytes:
    """A PDF of text lines placed on US-letter pages, with a document information dictionary."""
    contents = []
    for lines in pages:
        operators = [
            f"BT /F1 {size:g} Tf {x:g} {y:g} Td ({_pdf_string(text)}) Tj ET"
            for x, y, size, text in lines
        ]
        contents.append("\n".join(operators).encode("cp1252"))
    return _pdf_objects(contents, info)


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _pdf_objects(
    contents: Sequence[bytes], info: dict[str, str] | None, filters: str = ""
) -> bytes:
    """Font, one content stream and page per page, the page tree, catalog and info; with an
    exact cross-reference table."""
    objects: list[bytes] = [
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    ]
    first_content = len(objects) + 1
    for content in contents:
        objects.append(
            f"<< /Length {len(content)}{filters} >>\nstream\n".encode() + content + b"\nendstream"
        )
    tree = first_content + 2 * len(contents)  # the page tree follows the pages
    kids = []
    for number in range(len(contents)):
        kids.append(len(objects) + 1)
        objects.append(
            f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 1 0 R >> >> "
            f"/Contents {first_content + number} 0 R >>".encode()
        )
    references = " ".join(f"{kid} 0 R" for kid in kids)
    objects.append(f"<< /Type /Pages /Kids [{references}] /Count {len(kids)} >>".encode())
    objects.append(f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    catalog = len(objects)
    trailer = f"/Size {len(objects) + 1 + (1 if info else 0)} /Root {catalog} 0 R"
    if info:
        entries = " ".join(f"/{key} ({_pdf_string(value)})" for key, value in info.items())
        objects.append(f"<< {entries} >>".encode())
        trailer += f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    table = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< {trailer} >>\nstartxref\n{table}\n%%EOF\n".encode()
    return bytes(out)


REPORT_HEADER = "Harbour Authority - Annual Report 2025"


@dataclass(frozen=True)
class Report:
    """A three-page PDF report: a running header and a page-number footer on every page, a
    word hyphenated across two lines on page 1, and one topic per page."""

    data: bytes
    title: str
    author: str
    pages: tuple[tuple[str, ...], ...]  # each page's paragraphs, as the reader must give them
    header: str = REPORT_HEADER


REPORT_PAGES = (
    (
        "The harbour authority handled a record volume of container traffic this year, and the "
        "expansion of the northern terminal was completed ahead of schedule.",
        "Dredging of the main channel continued through the winter months.",
    ),
    (
        "Storm damage in March closed the eastern breakwater for eleven days. Repairs to the "
        "breakwater cost four million euros and were paid from the reserve fund.",
        "Flood barriers were raised twice during the spring tides. No berth was flooded and no "
        "vessel was damaged while the barriers were up.",
        "The insurer agreed to cover half of the repair costs after an independent survey of "
        "the breakwater.",
    ),
    (
        "Passenger ferries carried more travellers than in any year since the terminal opened.",
        "The board expects ticket revenue to grow again next year as two new routes open.",
    ),
)


def report_pdf() -> Report:
    """The report, page 1's first paragraph wrapped so that "expansion" is cut "expan-"/"sion"."""
    pages = []
    for number, paragraphs in enumerate(REPORT_PAGES, start=1):
        lines: list[Line] = [(72, 750, 9, REPORT_HEADER)]
        y = 700.0
        for paragraph in paragraphs:
            for text in _wrapped(paragraph, hyphenate="expansion" if number == 1 else None):
                lines.append((72, y, 11, text))
                y -= 14
            y -= 14
        lines.append((300, 40, 9, f"Page {number} of {len(REPORT_PAGES)}"))
        pages.append(lines)
    data = pdf_file(
        pages,
        {
            "Title": "Annual Report 2025",
            "Author": "Harbour Authority",
            "CreationDate": "D:20250203",
        },
    )
    return Report(data, "Annual Report 2025", "Harbour Authority", REPORT_PAGES)


def _wrapped(paragraph: str, hyphenate: str | None) -> list[str]:
    lines = textwrap.wrap(paragraph, 80)
    if (
        hyphenate and hyphenate in paragraph
    ):  # cut the word at a line's end: "... the expan-" / "sion of ..."
        head, tail = paragraph.split(hyphenate, 1)
        cut = len(hyphenate) // 2
        lines = [
            *textwrap.wrap(head + hyphenate[:cut] + "-", 80),
            *textwrap.wrap(hyphenate[cut:] + tail, 80),
        ]
    return lines


def scanned_pdf() -> bytes:
    """Two pages with drawing but no text: what a scan without OCR looks like to a parser."""
    return _pdf_objects([b"0 0 m 300 300 l S", b"10 10 200 200 re f"], None)


def encrypted_pdf(user_password: str) -> bytes:
    """The report encrypted (AES-128); an empty user password still opens it without one."""
    writer = PdfWriter(clone_from=PdfReader(BytesIO(report_pdf().data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def scattered_pdf(characters: int) -> bytes:
    """One page of single letters scattered over it: pdfminer's layout analysis groups text
    boxes pairwise, so its time grows with the square of their number (2,000 took 19 s)."""
    lines: list[Line] = [
        ((37 * n) % 560 + 20, (53 * n) % 740 + 20, 6, "x") for n in range(characters)
    ]
    return pdf_file([lines])


def deflate_bomb_pdf(unpacked_bytes: int) -> bytes:
    """A page whose content stream is ``unpacked_bytes`` of spaces packed by Flate into a few
    hundred kilobytes: reading it needs that much memory."""
    packer = zlib.compressobj(9)
    block = b" " * (1 << 20)
    packed = b"".join(packer.compress(block) for _ in range(unpacked_bytes >> 20)) + packer.flush()
    return _pdf_objects([packed], None, filters=" /Filter /FlateDecode")


# -- Word ------------------------------------------------------------------------------------


def memo_docx() -> bytes:
    """A memo: core title and author, a heading, paragraphs and a table with a merged cell."""
    word = docx.Document()
    word.core_properties.title = "Quarterly harbour memo"
    word.core_properties.author = "Port Office"
    word.add_heading("Berth allocation", level=1)
    word.add_paragraph("Berth four is closed for resurfacing until the end of June.")
    table = word.add_table(rows=3, cols=3)
    for row, cells in enumerate(
        [("Berth", "Length", "Status"), ("Four", "220 m", "Closed"), ("Five", "310 m", "Open")]
    ):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    word.add_paragraph("Ships longer than 250 metres are sent to berth five meanwhile.")
    out = BytesIO()
    word.save(out)
    return out.getvalue()


# -- HTML ------------------------------------------------------------------------------------

BOILERPLATE = (
    "Accept all cookies",
    "Subscribe to our newsletter",
    "Share this on Facebook",
    "Leave a Reply",
    "All rights reserved",
    "var tracking",
    "color: red",
    "Most read this week",
)


def article_page(
    seed: Path = BOMBING_SEED, lines: list[str] | None = None
) -> tuple[bytes, list[str]]:
    """A saved web page holding a seed article (or ``lines``) as a site would mark it up
    (headings, paragraphs, lists, tables) amid navigation, a cookie banner, a share bar, a
    comment form, scripts and styles, with its metadata in the head (title, og:title,
    article:published_time, JSON-LD author, canonical link). Returns the page and the
    article's paragraphs (each must survive; nothing of BOILERPLATE may)."""
    article = document_from_article(seed)
    body_lines = article.text.split("\n") if lines is None else lines
    paragraphs = [line for line in body_lines if len(line.split()) > 8]
    body = article_markup(body_lines)
    title = _escaped(article.title or "Untitled")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | The Daily Courier</title>
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="2025-11-18T08:30:00+05:00">
<link rel="canonical" href="https://courier.example/world/islamabad-attack">
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "{title}", "datePublished": "2025-11-18",
"author": {{"@type": "Person", "name": "Amina Qureshi"}}}}</script>
<style>body {{ color: red }}</style>
<script>var tracking = {{"page": "article"}};</script>
</head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/business">Business</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<div class="cookie-banner" id="cookie-consent">We use cookies to improve your experience.
<button>Accept all cookies</button></div>
<main><article><h1>{title}</h1>
<p class="byline">By Amina Qureshi</p>
{body}
</article>
<div class="share-bar social"><a href="#">Share this on Facebook</a> <a href="#">Tweet</a></div>
<aside class="sidebar"><h3>Most read this week</h3><ul><li><a href="/a">Markets rally</a></li>
<li><a href="/b">Cup final tickets</a></li></ul></aside>
<section id="comments" class="comments"><h3>Leave a Reply</h3><form>
<p>Your email address will not be published.</p><textarea name="c"></textarea>
<button>Post Comment</button></form></section>
<div class="newsletter">Subscribe to our newsletter for daily updates.</div></main>
<footer><p>&copy; 2025 The Daily Courier. All rights reserved.</p></footer>
</body></html>"""
    return page.encode(), paragraphs


def article_markup(lines: Sequence[str]) -> str:
    """Lines of an article as HTML: "•" items as a list, "a | b |" rows as a table (their
    "---|---|" rule dropped), short lines without a full stop as headings, the rest paragraphs."""
    out: list[str] = []
    open_list = open_table = False
    for raw in lines:
        line = raw.strip()
        item = line.startswith("•")
        row = line.count("|") >= 2
        if open_list and not item:
            out.append("</ul>")
            open_list = False
        if open_table and not row:
            out.append("</table>")
            open_table = False
        if not line or set(line) <= set("-| "):
            continue
        if item:
            out.append(("" if open_list else "<ul>") + f"<li>{_escaped(line[1:].strip())}</li>")
            open_list = True
        elif row:
            cells = "".join(f"<td>{_escaped(c.strip())}</td>" for c in line.split("|") if c.strip())
            out.append(("" if open_table else "<table>") + f"<tr>{cells}</tr>")
            open_table = True
        elif len(line.split()) <= 14 and not line.endswith((".", "?", "!", '"', "”", ":")):
            out.append(f"<h2>{_escaped(line)}</h2>")
        else:
            out.append(f"<p>{_escaped(line)}</p>")
    out.append("</ul>" if open_list else "")
    out.append("</table>" if open_table else "")
    return "\n".join(out)


def _escaped(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
