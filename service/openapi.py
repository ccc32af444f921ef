"""Print the OpenAPI document of the app (make openapi writes it to openapi/openapi.json)."""

from __future__ import annotations

import json
from typing import Any

from service.app import create_app
from service.settings import Settings


def openapi_document() -> dict[str, Any]:
    """The spec as the app serves it; building it opens no engine."""
    return create_app(Settings()).openapi()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
