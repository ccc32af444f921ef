"""The manual's links do not rot: every relative link in README.md, CHANGELOG.md and docs/*.md
names a file that exists and, with an anchor, a heading of that page; every page of docs/ is
linked from the README and from the documentation index; every setting has its line in
docs/settings.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.settings import Settings
from tests.conftest import ROOT

DOCS = ROOT / "docs"
MANUAL = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
_INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:|^//")


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where brackets are not links."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def anchors(page: Path) -> set[str]:
    """The anchors GitHub gives the page's headings: lower case, punctuation dropped, spaces
    as hyphens, a repeated one suffixed -1, -2..."""
    seen: dict[str, int] = {}
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        if count:
            seen[f"{slug}-{count}"] = 1
    return set(seen)


def links(page: Path) -> list[str]:
    text = _prose(page.read_text(encoding="utf-8"))
    return _INLINE_LINK.findall(text) + _REFERENCE.findall(text)


def broken_links(page: Path) -> list[str]:
    """Each relative link of ``page`` whose file or heading does not exist, with the reason."""
    broken = []
    for target in links(page):
        if _SCHEME.match(target):
            continue  # another site: not checked here
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with this anchor in {resolved.name}")
    return broken


@pytest.mark.parametrize("page", MANUAL, ids=[p.relative_to(ROOT).as_posix() for p in MANUAL])
def test_every_relative_link_of_the_manual_resolves(page: Path) -> None:
    assert not broken_links(page)


def test_every_docs_page_is_linked_from_the_readme_and_the_index() -> None:
    pages = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert pages, "docs/ holds no page"
    from_readme = {Path(t.partition("#")[0]).name for t in links(ROOT / "README.md")}
    from_index = {Path(t.partition("#")[0]).name for t in links(DOCS / "README.md")}
    assert pages <= from_readme, sorted(pages - from_readme)
    assert pages <= from_index, sorted(pages - from_index)


def test_the_checker_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## The `Run` step, again\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md#the-run-step-again) [self](#page) [web](https://example.org)\n"
        "`[not a link](gone.md)`\n\n```\n[not a link either](gone.md)\n```\n"
        "[gone](gone.md) [no heading](other.md#nothing-here)\n"
    )
    assert broken_links(page) == [
        "gone.md: no such file",
        "other.md#nothing-here: no heading with this anchor in other.md",
    ]


def test_every_setting_is_in_the_settings_page() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    missing = [name for name in Settings.model_fields if f"`SEMSEARCH_{name.upper()}`" not in page]
    assert not missing, f"docs/settings.md does not describe {missing}"
