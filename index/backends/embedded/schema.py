"""The embedded store's SQLite schemas, created and upgraded by Alembic like PostgreSQL's.

Two files have a schema: each collection's ``store.sqlite3`` (migrations/store) and the data
directory's ``jobs.sqlite3`` (migrations/jobs). Files written before Alembic managed them carry
no version table: their migrations adopt what exists (release 0.1's tables, and columns added
by hand since), so every data directory ever written upgrades in place. Migrations run in
batch mode (SQLite alters a table by copying it), and only when a file is behind: opening an
up-to-date collection costs one read of its version.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
STORE = MIGRATIONS / "store"
JOBS = MIGRATIONS / "jobs"


def _config(scripts: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(scripts))
    return config


@cache
def head(scripts: Path) -> str | None:
    """The newest revision in ``scripts`` (read once per process)."""
    return ScriptDirectory.from_config(_config(scripts)).get_current_head()


def revision(engine: Engine) -> str | None:
    """The revision the file behind ``engine`` is at (None: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, scripts: Path, to: str = "head") -> None:
    """Bring the file behind ``engine`` to revision ``to`` of ``scripts`` (the newest by
    default); nothing to do for a file already there."""
    if to == "head" and revision(engine) == head(scripts):
        return
    config = _config(scripts)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, to)


def downgrade(engine: Engine, scripts: Path, to: str) -> None:
    """Take the file behind ``engine`` back to revision ``to`` ("base": no tables of ours)."""
    config = _config(scripts)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, to)
