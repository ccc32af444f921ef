"""index/files: each format read into text and metadata from fixtures built in code; types
sniffed from the bytes; damaged, encrypted, empty and hostile files refused with the file named;
the reading processes bounded in time and memory; the PDF reader fuzzed with broken bytes."""

from __future__ import annotations

import random
import time
import zipfile
from collections.abc import Iterator
from io import BytesIO

import pytest

from index.errors import (
    FileError,
    FileTooLargeError,
    UnreadableFileError,
    UnsupportedFileError,
)
from index.files import FileFields, FileFormat, FileReader, extract, file_document
from index.files.docx_files import MAX_UNPACKED_BYTES
from tests.file_fixtures import (
    BOILERPLATE,
    article_page,
    deflate_bomb_pdf,
    encrypted_pdf,
    memo_docx,
    report_pdf,
    scanned_pdf,
    scattered_pdf,
)

# A page that is all script: its text is drawn in the browser, so there is none to read.
APP_SHELL = (
    b"<!doctype html><html><head><title>App</title><style>body{margin:0}</style>"
    b'<script src="/app.js"></script><script>window.boot()</script></head>'
    b'<body><div id="root"></div></body></html>'
)


@pytest.fixture(scope="module")
def reader() -> Iterator[FileReader]:
    files = FileReader(max_bytes=8 << 20, seconds=1.5, memory_bytes=512 << 20)
    yield files
    files.close()


def test_a_pdf_reads_page_by_page_without_running_headers_or_hyphens() -> None:
    report = report_pdf()
    read = extract(report.data, "report.pdf")
    assert read.format is FileFormat.PDF and read.paged
    assert read.pages == tuple("\n".join(page) for page in report.pages)  # exactly, in order
    assert "expansion" in read.pages[0] and "expan-" not in read.pages[0]
    assert not any(report.header in page or "Page " in page for page in read.pages)
    assert (read.title, read.author, str(read.published_at)) == (
        report.title,
        report.author,
        "2025-02-03",
    )


def test_pages_become_one_text_with_where_each_starts() -> None:
    read = extract(report_pdf().data, "report.pdf")
    document = file_document(read, FileFields(id="r", metadata={"team": "port"}))
    assert document.format == "pdf" and len(document.page_starts) == 3
    for number, start in enumerate(document.page_starts):
        assert document.text[start:].startswith(read.pages[number])
    assert document.metadata == {"author": "Harbour Authority", "team": "port"}
    assert document.title == "Annual Report 2025"
    titled = file_document(read, FileFields(title="Given", source="wire"))
    assert (titled.title, titled.source) == ("Given", "wire")  # given fields win


def test_a_word_document_keeps_headings_paragraphs_and_table_rows_in_order() -> None:
    read = extract(memo_docx(), "memo.docx")
    assert read.format is FileFormat.DOCX and not read.paged
    assert read.pages[0].split("\n") == [
        "Berth allocation",
        "Berth four is closed for resurfacing until the end of June.",
        "Berth | Length | Status",
        "Four | 220 m | Closed",
        "Five | 310 m | Open",
        "Ships longer than 250 metres are sent to berth five meanwhile.",
    ]
    assert (read.title, read.author) == ("Quarterly harbour memo", "Port Office")


def test_a_web_page_keeps_its_article_and_its_own_metadata_and_drops_the_chrome() -> None:
    page, paragraphs = article_page()
    read = extract(page, "article.html")
    text = read.pages[0]
    assert all(paragraph in text for paragraph in paragraphs)
    assert not [chrome for chrome in BOILERPLATE if chrome.lower() in text.lower()]
    assert read.title == "Pakistan, China Boost Counter-Terrorism Cooperation After Blast Kills 12"
    assert str(read.published_at) == "2025-11-18"
    assert read.author == "Amina Qureshi"
    assert read.url == "https://courier.example/world/islamabad-attack"


def test_markdown_is_rendered_to_text_with_its_first_heading_as_title() -> None:
    source = (
        "# Harbour notes\n\nThe *north* quay reopens on **Monday**; see [the plan](http://x).\n\n"
        "- tugs on standby\n- pilots doubled\n\n| Berth | Depth |\n|---|---|\n| 4 | 12 m |\n\n"
        "```\nraw line\n```\n"
    )
    read = extract(source.encode(), "notes.md")
    lines = [line for line in read.pages[0].split("\n") if line]
    assert lines == [
        "Harbour notes",
        "The north quay reopens on Monday; see the plan.",
        "tugs on standby",
        "pilots doubled",
        "Berth | Depth",
        "4 | 12 m",
        "raw line",
    ]
    assert read.title == "Harbour notes"


def test_plain_text_reads_like_a_seed_article_and_legacy_encodings_decode() -> None:
    text = "Harbour reopens after storm\n\nPublished on July 19, 2025\n\nThe quay reopened today."
    read = extract(text.encode(), "note.txt")
    assert (read.title, str(read.published_at)) == ("Harbour reopens after storm", "2025-07-19")
    legacy = extract("Café au lait près du quai, à côté du marché.".encode("cp1252"), "c.txt")
    assert "Café" in legacy.pages[0] and "près" in legacy.pages[0]


@pytest.mark.parametrize(
    ("data", "name", "content_type", "error", "says"),
    [
        (b"MZ\x90\x00" + bytes(200), "report.pdf", None, UnsupportedFileError, "Windows program"),
        (b"\x7fELF" + bytes(200), "tool", None, UnsupportedFileError, "Linux program"),
        (b"plain words", "run.exe", None, UnsupportedFileError, "(.exe)"),
        (bytes(range(256)) * 4, None, "application/octet-stream", UnsupportedFileError, "no kind"),
        (b"%PDF-1.4\n" + bytes(300), "memo.docx", None, UnsupportedFileError, "are a pdf file"),
        (b"not a zip at all", "memo.docx", None, UnreadableFileError, "not a zip archive"),
        (b"PK\x03\x04 truncated", "memo.docx", None, UnreadableFileError, "not a readable zip"),
        (b"just text", "report.pdf", None, UnreadableFileError, "no %PDF- header"),
        (b"%PDF-1.7\n1 0 obj << /Type", "report.pdf", None, UnreadableFileError, "damaged PDF"),
        (b"\x00\x01\x02binary", "notes.md", None, UnsupportedFileError, "binary data"),
        (APP_SHELL, "app.html", None, UnreadableFileError, "no text"),
    ],
)
def test_bad_files_are_refused_naming_the_file(
    data: bytes, name: str | None, content_type: str | None, error: type[FileError], says: str
) -> None:
    with pytest.raises(error) as raised:
        extract(data, name, content_type)
    assert raised.value.field == "file"
    assert raised.value.message.startswith(repr(name or "(unnamed)")), raised.value.message
    assert says in raised.value.message, raised.value.message


def test_a_zip_that_is_not_a_word_document_is_a_415() -> None:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(UnsupportedFileError, match="zip archive that is not a Word"):
        extract(out.getvalue(), "memo.docx")


def test_the_type_comes_from_the_bytes_when_the_name_says_nothing() -> None:
    assert extract(report_pdf().data, None, "application/octet-stream").format is FileFormat.PDF
    assert extract(memo_docx(), "upload", None).format is FileFormat.DOCX
    assert extract(article_page()[0], "page", None).format is FileFormat.HTML
    assert extract(b"# Title\n\nBody text here.", None, "text/markdown").format == "markdown"


def test_scanned_and_encrypted_pdfs_say_why_they_cannot_be_read() -> None:
    with pytest.raises(UnreadableFileError, match="no text layer"):
        extract(scanned_pdf(), "scan.pdf")
    with pytest.raises(UnreadableFileError, match="encrypted with a password"):
        extract(encrypted_pdf("secret"), "locked.pdf")
    # Encrypted with an empty user password: any reader opens it, and so do we.
    opened = extract(encrypted_pdf(""), "open.pdf")
    assert opened.pages[1].startswith("Storm damage in March")


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(MAX_UNPACKED_BYTES // len(block) + 1):
                member.write(block)
    assert len(out.getvalue()) < MAX_UNPACKED_BYTES // 500  # a small file that unpacks big
    with pytest.raises(FileTooLargeError, match="zip bomb"):
        extract(out.getvalue(), "bomb.docx")


@pytest.mark.system  # seconds of a worker process cut off at its bounds
def test_the_reader_bounds_size_time_and_memory_and_keeps_working(reader: FileReader) -> None:
    with pytest.raises(FileTooLargeError, match="SEMSEARCH_MAX_FILE_BYTES"):
        reader.read(bytes(reader.max_bytes + 1), "big.pdf", None)
    started = time.monotonic()
    with pytest.raises(UnreadableFileError, match=r"more than 1\.5 s"):
        reader.read(scattered_pdf(1500), "scattered.pdf", None)  # about 8 s unbounded
    assert time.monotonic() - started < 30
    with pytest.raises(UnreadableFileError, match="more than 512 MiB"):
        reader.read(deflate_bomb_pdf(1 << 30), "bomb.pdf", None)
    # The worker that was killed is replaced: the next file reads normally.
    assert reader.read(report_pdf().data, "report.pdf", None).title == "Annual Report 2025"


def test_broken_pdfs_are_refused_never_crash(reader: FileReader) -> None:
    """Fuzz: truncations, flipped bytes and spliced garbage of a real PDF. Each either reads or
    is refused as the caller's fault; nothing else escapes, and nothing runs past its bound."""
    original = report_pdf().data
    rng = random.Random(19)
    cases = [original[:cut] for cut in range(0, len(original), max(1, len(original) // 12))]
    for _ in range(36):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 24)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        cases.append(bytes(damaged))
    for _ in range(12):
        at = rng.randrange(len(original))
        cases.append(original[:at] + rng.randbytes(rng.randint(1, 400)) + original[at:])
    refused = 0
    for case in cases:
        try:
            read = reader.read(case, "fuzz.pdf", None)
        except (UnreadableFileError, UnsupportedFileError):
            refused += 1
        else:
            assert read.format is FileFormat.PDF and any(read.pages)
    assert refused >= len(cases) // 4  # the damage is real: many cases cannot be read
