"""The PostgreSQL schema, created and upgraded by the Alembic migrations beside this module.

Run on every start of a server that uses the database (several replicas may start at once:
Alembic's version table and PostgreSQL's transactional DDL make a second run a no-op).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

from index.backends.postgres.urls import sqlalchemy_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(url: str) -> Config:
    from alembic.config import Config  # only servers on PostgreSQL need Alembic loaded

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (the newest by default)."""
    from alembic import command

    command.upgrade(_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` back to ``revision`` ("base": no tables of ours)."""
    from alembic import command

    command.downgrade(_config(url), revision)
