"""The search page in a real browser (headless Chromium from Debian's packages, driven by
Playwright): search, check claims, open a document at the cited span, with and without keys.

Every host but 127.0.0.1 is unresolvable for the browser, and the test fails on any request
the page tries to send elsewhere. Screenshots go to the test's temporary folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import Server, free_port

pytestmark = pytest.mark.system  # a live server and a browser

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip(
        "chromium is not installed: `make chromium` installs Debian's package (as root)",
        allow_module_level=True,
    )
from playwright.sync_api import (  # noqa: E402
    Browser,
    Locator,
    Page,
    Route,
    expect,
    sync_playwright,
)

SUPPORTED = "The bombing near the district courts in Islamabad killed 12 people."
OFF_TOPIC = "Sourdough bread needs a long fermentation at room temperature."
CONTRADICTED = "The suicide bombing near the Islamabad district courts killed 40 people."
MIXED = (
    "Festival notes 🎉🎆: the lantern parade 灯笼游行 crossed the old bridge at dusk. "
    "Vendors sold dumplings 饺子 and tea 🍵 until midnight. The parade ended by the river."
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # nothing but the server under test resolves
            args=["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    elsewhere: list[str] = []

    def local_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context.route("**/*", local_only)
    opened = context.new_page()
    yield opened
    context.close()
    assert not elsewhere, f"the page tried to reach {elsewhere}"


def _api(server: Server, method: str, path: str, body: Any = None, key: str = "") -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = httpx.request(method, server.url + path, json=body, headers=headers, timeout=60)
    response.raise_for_status()
    return response.json() if response.content else None


def _search(page: Page, query: str) -> None:
    _textbox(page, "Query").fill(query)
    page.get_by_role("button", name="Search", exact=True).click()


def _textbox(page: Page, name: str) -> Locator:
    return page.get_by_role("textbox", name=name, exact=True)


def _open_first(page: Page, listing: str) -> None:
    page.get_by_role("list", name=listing).get_by_role("button", name="Open document").first.click()


def _document_marks(page: Page) -> Locator:
    return page.get_by_role("region", name="Document").locator("mark")


def test_a_query_lists_the_hits_the_api_returns_with_its_words_marked(
    page: Page, server: Server
) -> None:
    page.goto(server.url + "/")
    _search(page, "suicide bombing in Islamabad")
    results = page.get_by_role("list", name="Results")
    expected = _api(server, "POST", "/v1/search", {"query": "suicide bombing in Islamabad"})
    items = results.get_by_role("listitem")
    expect(items).to_have_count(len(expected["hits"]))
    first = expected["hits"][0]
    expect(items.first).to_contain_text(
        first["citation"]["title"] or first["citation"]["document_id"]
    )
    # The best-matching sentence marked whole, the query's words marked in the rest.
    expect(items.first.locator("mark.highlight")).to_have_text(first["highlights"][0]["text"])
    marked = {t.lower() for t in items.first.locator("mark.term").all_text_contents()}
    assert marked <= {"suicide", "bombing", "in", "islamabad"}


def test_one_per_document_lists_each_document_once(page: Page, server: Server) -> None:
    page.goto(server.url + "/")
    page.get_by_label("One per document").check()
    _search(page, "China Pakistan counter-terrorism cooperation")
    items = page.get_by_role("list", name="Results").get_by_role("listitem")
    body = {"query": "China Pakistan counter-terrorism cooperation", "group_by": "document"}
    expected = _api(server, "POST", "/v1/search", body)
    expect(items).to_have_count(len(expected["groups"]))
    citations = [g["hits"][0]["citation"] for g in expected["groups"]]
    titles = [c["title"] or c["document_id"] for c in citations]  # as the page names them
    for item, title in zip(items.all(), titles, strict=True):
        expect(item).to_contain_text(title)


def test_opening_a_hit_highlights_exactly_the_cited_span(
    page: Page, server: Server, tmp_path: Path
) -> None:
    page.goto(server.url + "/ui")
    _search(page, "counter-terrorism cooperation between China and Pakistan")
    hit = _api(
        server,
        "POST",
        "/v1/search",
        {"query": "counter-terrorism cooperation between China and Pakistan"},
    )["hits"][0]
    _open_first(page, "Results")
    view = page.get_by_role("region", name="Document")
    expect(view).to_be_visible()
    highlighted = view.locator("mark")
    expect(highlighted).to_have_count(1)
    assert highlighted.text_content() == hit["text"]
    expect(highlighted).to_be_focused()  # keyboard and screen reader land on the span
    page.screenshot(path=str(tmp_path / "document-view.png"), full_page=True)


def test_claims_get_their_verdicts_and_evidence_marked_in_place(
    page: Page, server: Server, tmp_path: Path
) -> None:
    page.goto(server.url + "/")
    _textbox(page, "Claim").fill(SUPPORTED)
    page.get_by_role("button", name="Check claim").click()
    expect(page.get_by_label("Verdict")).to_have_text("supported")
    expected = _api(server, "POST", "/v1/passages/support", {"claim": SUPPORTED, "k": 5})
    passages = page.get_by_role("list", name="Passages").get_by_role("listitem")
    expect(passages).to_have_count(len(expected["passages"]))
    shown = passages.first.locator("mark").all_text_contents()
    assert shown == [e["text"] for e in expected["passages"][0]["evidence"]]
    page.screenshot(path=str(tmp_path / "claim.png"), full_page=True)

    _textbox(page, "Claim").fill(OFF_TOPIC)
    page.get_by_role("button", name="Check claim").click()
    expect(page.get_by_label("Verdict")).to_have_text("insufficient_evidence")

    _textbox(page, "Claim").fill(CONTRADICTED)
    page.get_by_role("button", name="Check claim").click()
    expect(page.get_by_label("Verdict")).to_have_text("contradicted")
    expected = _api(server, "POST", "/v1/passages/support", {"claim": CONTRADICTED, "k": 5})
    first = expected["passages"][0]["evidence"][0]
    assert first["stance"] == "contradicts"
    # Marked in place, coloured by its stance (marks follow the text's order).
    assert first["text"] in passages.first.locator("mark.contradicts").all_text_contents()


def test_offsets_hold_in_a_document_with_emoji_and_cjk(page: Page, tmp_path: Path) -> None:
    server = Server(data_dir=tmp_path / "data", port=free_port(), env={"SEMSEARCH_SEED_DIR": ""})
    server.start()
    try:
        document = {"id": "festival", "title": "Lantern night 🏮", "text": MIXED}
        _api(server, "POST", "/v1/documents", {"documents": [document]})
        page.goto(server.url + "/")
        claim = "Vendors sold dumplings and tea until midnight."
        _textbox(page, "Claim").fill(claim)
        page.get_by_role("button", name="Check claim").click()
        expected = _api(server, "POST", "/v1/passages/support", {"claim": claim, "k": 5})
        evidence = [e["text"] for e in expected["passages"][0]["evidence"]]
        assert any("饺子" in text and "🍵" in text for text in evidence)
        expect(page.get_by_role("list", name="Passages").locator("mark")).to_have_text(evidence)
        _open_first(page, "Passages")
        expect(_document_marks(page)).to_have_text(evidence)
        _search(page, "lantern parade")
        _open_first(page, "Results")
        hit = _api(server, "POST", "/v1/search", {"query": "lantern parade"})["hits"][0]
        expect(_document_marks(page)).to_have_text(hit["text"])
    finally:
        server.stop()


def test_with_keys_the_page_asks_for_one_and_keeps_it_out_of_the_address(
    page: Page, tmp_path: Path
) -> None:
    server = Server(
        data_dir=tmp_path / "data",
        port=free_port(),
        env={"SEMSEARCH_API_KEYS": "page-reader:read"},
    )
    server.start()
    try:
        page.goto(server.url + "/")
        _search(page, "floods")
        problem = page.get_by_role("alert")
        expect(problem).to_contain_text("401")
        expect(problem).to_contain_text("API key")
        page.get_by_text("API key", exact=True).first.click()  # open the key panel
        _textbox(page, "API key").fill("page-reader")
        page.get_by_role("button", name="Use key").click()
        _search(page, "floods")
        results = page.get_by_role("list", name="Results")
        expect(results.get_by_role("listitem").first).to_be_visible()
        expect(problem).to_be_hidden()
        assert "page-reader" not in page.url
        assert page.evaluate("sessionStorage.getItem('semsearch.apiKey')") == "page-reader"
    finally:
        server.stop()
