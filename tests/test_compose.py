"""compose.yaml, the users' two-replica deployment, agrees with the image and the settings it
depends on: the tag `make docker-image` builds, the port the image serves on, a database URL
the service accepts and that names the compose database, and a start order that waits for it.
`make compose-test` (scripts/compose-test.sh) runs it for real with Docker Compose; no image
registry is reachable there, so a second file, scripts/compose.test.yaml, swaps the database
image for PostgreSQL 17 + pgvector built from Debian's packages. These checks hold that file to
swapping the image alone, so the run stays a proof of compose.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def _with_password(value: str, password: str) -> str:
    """Compose's ${VAR:?message} substitution, for one variable."""
    return re.sub(r"\$\{SEMSEARCH_DB_PASSWORD:\?[^}]*\}", password, value)


def test_two_replicas_share_the_compose_database() -> None:
    services = _compose()["services"]
    db = services["db"]
    assert "pgvector" in db["image"] and "pg_isready" in " ".join(db["healthcheck"]["test"])
    replicas = {name: s for name, s in services.items() if name.startswith("replica")}
    assert len(replicas) == 2
    build_script = (ROOT / "scripts/docker-build.sh").read_text()
    built = re.search(r'IMAGE="\$\{IMAGE:-([^}]+)\}"', build_script)
    assert built is not None
    exposed = re.search(r"SEMSEARCH_PORT=(\d+)", (ROOT / "Dockerfile").read_text())
    assert exposed is not None
    published = set()
    for replica in replicas.values():
        assert replica["image"] == built.group(1)  # what `make docker-image` tags
        assert replica["depends_on"]["db"]["condition"] == "service_healthy"
        url = _with_password(replica["environment"]["SEMSEARCH_DATABASE_URL"], "pw")
        settings = Settings(database_url=url)  # the service accepts it
        assert settings.database_url is not None
        parts = urlsplit(url)
        environment = db["environment"]
        assert (parts.hostname, parts.port) == ("db", 5432)
        assert parts.username == environment["POSTGRES_USER"]
        assert parts.path == "/" + environment["POSTGRES_DB"]
        assert parts.password == _with_password(environment["POSTGRES_PASSWORD"], "pw")
        (port,) = replica["ports"]
        host, container = port.rsplit(":", 1)
        assert container == exposed.group(1) and host.startswith("127.0.0.1:")
        published.add(host)
    assert len(published) == 2


def test_no_password_is_written_into_the_file() -> None:
    text = (ROOT / "compose.yaml").read_text()
    for line in text.splitlines():
        if "PASSWORD" in line or "postgresql://" in line:
            assert "${SEMSEARCH_DB_PASSWORD:?" in line or line.lstrip().startswith("#"), line


def test_the_compose_test_override_changes_only_the_database_image() -> None:
    override = yaml.safe_load((ROOT / "scripts/compose.test.yaml").read_text())
    assert list(override) == ["services"] and list(override["services"]) == ["db"]
    assert list(override["services"]["db"]) == ["image"]
    image = override["services"]["db"]["image"]
    assert image != _compose()["services"]["db"]["image"]
    script = (ROOT / "scripts/compose-test.sh").read_text()
    assert f'DB_IMAGE="{image}"' in script  # the image the script builds
    # compose.yaml first, the override second, both by these paths
    assert '-f "$ROOT/compose.yaml" -f "$ROOT/scripts/compose.test.yaml"' in script
