"""The search page as served (in process): where it lives, what it may load, that keys do not
hide it, and that a setting turns it off. The browser tests are tests/test_ui_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from service.ui import static_directory


def _client(tmp_path: Path, **settings: object) -> Iterator[TestClient]:
    app = create_app(Settings(data_dir=tmp_path / "data", seed_dir="", **settings))  # type: ignore[arg-type]
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from _client(tmp_path, api_keys="reader:read")


@pytest.mark.parametrize("path", ["/", "/ui"])
def test_the_page_is_served_without_a_key_and_may_load_only_from_this_server(
    client: TestClient, path: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "http" not in policy  # no other origin
    assets = re.findall(r'(?:src|href)="(/ui/assets/[^"]+)"', page.text)
    assert len(assets) == 2  # the script and the style sheet
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.headers["x-content-type-options"] == "nosniff"
    assert client.post("/v1/search", json={"query": "x"}).status_code == 401  # the API still asks


def test_the_page_references_nothing_outside_this_server() -> None:
    for asset in static_directory().iterdir():
        text = asset.read_text()
        # no CDN, web font or analytics: every URL the page could load is a path here
        assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", text), asset
        assert "@import" not in text and "fonts.googleapis" not in text


def test_the_page_asks_the_api_for_utf16_offsets() -> None:
    script = (static_directory() / "app.js").read_text()
    assert script.count('offset_encoding: "utf-16"') == 2  # search and support
    assert "offset_encoding=utf-16" in script  # the document view


def test_a_setting_turns_the_page_off(tmp_path: Path) -> None:
    for client in _client(tmp_path, ui=False):
        for path in ("/", "/ui", "/ui/assets/app.js"):
            assert client.get(path).status_code == 404, path
        assert client.get("/healthz").status_code == 200
