"""The search page at / and /ui: static HTML, CSS and JavaScript shipped in the package, calling
the public API like any other client (never a second way into the engine).

Served with a Content-Security-Policy that lets the page load and call nothing but this
server, so a page rendering stored documents cannot be made to fetch from elsewhere.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

ASSETS_URL = "/ui/assets"
PAGE_PATHS = ("/", "/ui")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def static_directory() -> Path:
    return Path(str(files("service.ui") / "static"))


class _Assets(StaticFiles):
    """The page's scripts and styles, with the page's security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def install_ui(app: FastAPI) -> None:
    """Serve the page at / and /ui, its assets under /ui/assets (not in the API spec)."""
    page = static_directory() / "index.html"
    app.mount(ASSETS_URL, _Assets(directory=static_directory()), name="ui-assets")

    async def search_page() -> FileResponse:
        return FileResponse(page, media_type="text/html", headers=SECURITY_HEADERS)

    for path in PAGE_PATHS:
        app.add_api_route(path, search_page, methods=["GET"], include_in_schema=False)
