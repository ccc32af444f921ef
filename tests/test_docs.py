"""/docs and /redoc work offline: the pages reference no external host, and every asset they
load is served by the service itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


class _References(HTMLParser):
    """Collects every src/href attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_loads_only_local_assets(client: httpx.Client, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    # No scheme-qualified or protocol-relative URL anywhere in the page, not only in tags.
    assert not re.search(r"(https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", html), html
    parser = _References()
    parser.feed(html)
    assets = [url for url in parser.urls if not url.startswith("#")]
    assert len(assets) >= 2, html  # script and favicon (and stylesheet for Swagger UI)
    for url in assets:
        assert url.startswith("/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rfind(".") :]
        assert ASSET_TYPES[suffix] in asset.headers["content-type"], url
        assert len(asset.content) > 1000, url


def test_docs_point_at_the_served_spec(client: httpx.Client) -> None:
    assert "/openapi.json" in client.get("/docs").text
    assert "/openapi.json" in client.get("/redoc").text
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "semsearch"
