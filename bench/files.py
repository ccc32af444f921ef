"""Reading files: how long each format takes, and what the HTML extractor keeps of the seeds.

    .venv/bin/python bench/files.py [--repeats N] [--json bench/files.json]

Every file is built here from the seed articles (tests/file_fixtures.py builds the same kinds):
  - HTML: each seed saved as a web page twice over. "clean": its article (what the seed cleaner
    keeps) amid site chrome (navigation, cookie banner, share bar, comment form, sidebar,
    newsletter box, footer, scripts, styles). "raw": every line of the seed file as it is, its
    own page furniture included (breadcrumbs, category lists, "Leave a comment"), in the same
    chrome. For each it reports the share of the article's lines trafilatura keeps, the site
    chrome it lets through, and the seed's own furniture lines it keeps or drops.
  - PDF: all seeds laid out as one 30-odd page report (running header, page numbers), and the
    three-page fixture report; DOCX: all seeds as one Word file; Markdown: each seed.
Times are the median of --repeats reads in this process, and of the same reads through the
bounded worker process (FileReader: the upload's path), on this machine's CPU.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import textwrap
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import docx
from speed import _cpu_model

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.files import FileReader, extract  # noqa: E402
from index.sources import document_from_article, expand_paths  # noqa: E402
from index.text import clean_text, is_chrome_line, repair_text  # noqa: E402
from tests.file_fixtures import (  # noqa: E402
    BOILERPLATE,
    Line,
    article_page,
    pdf_file,
    report_pdf,
)

SEEDS = ROOT / "seeds"


def _median_ms(read: Callable[[], object], repeats: int) -> float:
    read()  # warm up (imports, caches)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        read()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


_MARKER = re.compile(r"\[(?:[ivxlcdm]+|\d+)\]")


def _normal(text: str) -> str:
    """Repaired (mojibake, Unicode), reference markers out, whitespace collapsed, a list
    bullet dropped: lines compared as the stored text would read them."""
    return " ".join(_MARKER.sub("", repair_text(text)).split()).removeprefix("• ")


def _is_rule(line: str) -> bool:
    return set(line) <= set("-| ")


def _html_figures(seeds: list[Path]) -> dict[str, Any]:
    """Per seed, two saved pages: its cleaned article marked up ("clean"), and every line of
    the seed file as it is, its own furniture and header lines included ("raw")."""
    kept = total = 0
    leaked: set[str] = set()
    dropped: list[str] = []
    chrome_stored: list[str] = []  # furniture still there after the engine's line cleaning
    raw_lines: dict[str, dict[str, list[str]]] = {
        kind: {"kept": [], "dropped": []} for kind in ("article", "header", "chrome")
    }
    for seed in seeds:
        article = document_from_article(seed)
        lines = [line for line in article.text.split("\n") if line.strip()]
        clean = " ".join(extract(article_page(seed)[0], "page.html").pages[0].split())
        leaked |= {chrome for chrome in BOILERPLATE if chrome.lower() in clean.lower()}
        for line in lines:
            if _is_rule(line):
                continue  # a table's "---|---|" rule: markup, not text
            total += 1
            if _normal(line) in clean:
                kept += 1
            else:
                dropped.append(line[:90])
        # The raw page: each line of the seed file sorted by what the seed cleaner makes of it.
        raw_text = seed.read_text(encoding="utf-8").split("\n")
        extracted = extract(article_page(seed, raw_text)[0], "page.html").pages[0]
        raw = _normal(extracted)
        stored = _normal(clean_text(extracted))  # what the engine then stores
        body = _normal(article.text)
        for line in raw_text:
            cleaned = _normal(line)
            if not cleaned or _is_rule(cleaned):
                continue
            if is_chrome_line(repair_text(line)):
                kind = "chrome"
            elif cleaned in body or cleaned == article.title:
                kind = "article"
            else:
                kind = "header"
            raw_lines[kind]["kept" if cleaned in raw else "dropped"].append(cleaned[:90])
            if kind == "chrome" and cleaned in stored:
                chrome_stored.append(cleaned[:90])
    return {
        "clean_pages": {
            "article_lines_kept": f"{kept}/{total}",
            "article_lines_dropped": dropped,
            "site_chrome_leaked": sorted(leaked),
        },
        "raw_pages": raw_lines,
        "raw_chrome_stored_after_cleaning": chrome_stored,
    }


def _seed_paragraphs(seeds: list[Path]) -> list[str]:
    paragraphs: list[str] = []
    for seed in seeds:
        article = document_from_article(seed)
        paragraphs.extend(line for line in article.text.split("\n") if line.strip())
    return paragraphs


def _long_pdf(paragraphs: list[str]) -> tuple[bytes, int]:
    """The paragraphs laid out 11 pt on US-letter pages (Latin-1 only, as Helvetica encodes)."""
    pages: list[list[Line]] = []
    lines: list[Line] = []
    y = 700.0
    for paragraph in paragraphs:
        text = paragraph.encode("cp1252", "replace").decode("cp1252")
        for line in textwrap.wrap(text, 90):
            if y < 72:
                pages.append(lines)
                lines, y = [], 700.0
            if not lines:
                lines.append((72, 750, 9, "Seed corpus - collected articles"))
                lines.append((300, 40, 9, f"Page {len(pages) + 1}"))
            lines.append((72, y, 10, line))
            y -= 13
        y -= 13
    pages.append(lines)
    return pdf_file(pages, {"Title": "Seed corpus"}), len(pages)


def _docx(paragraphs: list[str]) -> bytes:
    word = docx.Document()
    word.core_properties.title = "Seed corpus"
    for paragraph in paragraphs:
        word.add_paragraph(paragraph)
    out = BytesIO()
    word.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    seeds = [p for p in expand_paths([SEEDS]) if p.suffix == ".txt"]
    paragraphs = _seed_paragraphs(seeds)
    long_pdf, long_pages = _long_pdf(paragraphs)
    report = report_pdf().data
    files = {
        "html (one seed page, with chrome)": (article_page(seeds[3])[0], "page.html", 1),
        f"pdf ({long_pages} pages, all seeds)": (long_pdf, "seeds.pdf", long_pages),
        "pdf (3-page report)": (report, "report.pdf", 3),
        "docx (all seeds)": (_docx(paragraphs), "seeds.docx", 1),
        "markdown (one seed)": (
            ("# " + seeds[3].read_text(encoding="utf-8")).encode(),
            "seed.md",
            1,
        ),
    }
    reader = FileReader(max_bytes=64 << 20, seconds=120, memory_bytes=2 << 30)
    timings: dict[str, dict[str, Any]] = {}
    try:
        for name, (data, filename, pages) in files.items():
            here = _median_ms(lambda d=data, f=filename: extract(d, f), args.repeats)
            bounded = _median_ms(lambda d=data, f=filename: reader.read(d, f, None), args.repeats)
            timings[name] = {
                "bytes": len(data),
                "in_process_ms": here,
                "worker_ms": bounded,
                "per_page_ms": round(here / pages, 2) if pages > 1 else None,
            }
            print(
                f"{name:<36} {len(data):>9} B  {here:>8.2f} ms here  {bounded:>8.2f} ms "
                f"in the worker" + (f"  ({here / pages:.1f} ms/page)" if pages > 1 else "")
            )
    finally:
        reader.close()
    html = _html_figures(seeds)
    clean = html["clean_pages"]
    print(f"\nHTML, {len(seeds)} seed articles marked up amid site chrome:")
    print(f"  article lines kept {clean['article_lines_kept']}")
    print(f"  site chrome let through: {clean['site_chrome_leaked'] or 'none'}")
    for line in clean["article_lines_dropped"]:
        print(f"    dropped: {line}")
    print("The seed files' own lines, furniture included, as pages (kept / dropped):")
    for kind, outcome in html["raw_pages"].items():
        print(f"  {kind}: {len(outcome['kept'])} / {len(outcome['dropped'])}")
        for line in outcome["kept"] if kind != "article" else []:
            print(f"    + {line}")
        for line in outcome["dropped"]:
            print(f"    - {line}")
    after = html["raw_chrome_stored_after_cleaning"]
    print(f"  chrome left in the stored text after the engine's cleaning: {after or 'none'}")
    figures = {"cpu": _cpu_model(), "timings": timings, "html": html}
    print(f"\nCPU: {figures['cpu']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
