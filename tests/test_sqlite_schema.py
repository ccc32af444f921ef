"""The embedded backend's SQLite files are versioned by Alembic like PostgreSQL's: a new file is
made by the migrations and stamped at head, upgrading again does nothing, downgrading removes
what they made, a file from before versioning (release 0.1) is adopted and upgraded to exactly
the schema a new file has, and the tables the code reads are the tables the migrations make."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from index.backends.embedded import schema
from index.backends.embedded.database import SqliteDatabase, sqlite_engine
from index.jobs.store import metadata as job_tables

STORES = Path(__file__).resolve().parent / "stores"


def _columns(engine: Engine) -> dict[str, dict[str, tuple[str, bool]]]:
    """Each table's columns with their type and nullability (Alembic's own table left out)."""
    found = inspect(engine)
    return {
        table: {c["name"]: (str(c["type"]), bool(c["nullable"])) for c in found.get_columns(table)}
        for table in found.get_table_names()
        if table != "alembic_version" and not table.startswith("chunks_fts_")
    }


@pytest.mark.parametrize("scripts", [schema.STORE, schema.JOBS], ids=["store", "jobs"])
def test_migrations_create_upgrade_idempotently_and_downgrade(
    scripts: Path, tmp_path: Path
) -> None:
    engine = sqlite_engine(tmp_path / "file.sqlite3")
    schema.upgrade(engine, scripts)
    assert schema.revision(engine) == schema.head(scripts) is not None
    made = _columns(engine)
    schema.upgrade(engine, scripts)  # the next open: nothing to do
    assert _columns(engine) == made
    schema.downgrade(engine, scripts, "base")
    assert _columns(engine) == {} and schema.revision(engine) is None
    schema.upgrade(engine, scripts)
    assert _columns(engine) == made
    engine.dispose()


@pytest.mark.parametrize(
    ("name", "scripts"), [("store.sqlite3", schema.STORE), ("jobs.sqlite3", schema.JOBS)]
)
def test_a_release_0_1_file_is_adopted_and_upgraded_to_a_new_files_schema(
    name: str, scripts: Path, tmp_path: Path
) -> None:
    old = tmp_path / name
    shutil.copy(STORES / "release-0.1" / name, old)
    with sqlite3.connect(old) as connection:  # written before the schema was versioned
        assert not connection.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'"
        ).fetchall()
        rows_before = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    upgraded, new = sqlite_engine(old), sqlite_engine(tmp_path / f"new-{name}")
    schema.upgrade(upgraded, scripts)
    schema.upgrade(new, scripts)
    assert schema.revision(upgraded) == schema.head(scripts)
    assert _columns(upgraded) == _columns(new)
    with sqlite3.connect(old) as connection:
        assert connection.execute("SELECT count(*) FROM sqlite_master").fetchone() >= rows_before
    upgraded.dispose()
    new.dispose()


def test_the_tables_the_code_reads_are_the_tables_the_migrations_make(tmp_path: Path) -> None:
    store = SqliteDatabase(tmp_path / "store.sqlite3", dimension=4)
    store_columns = _columns(sqlite_engine(tmp_path / "store.sqlite3"))
    store.close()
    jobs = sqlite_engine(tmp_path / "jobs.sqlite3")
    schema.upgrade(jobs, schema.JOBS)
    job_columns = _columns(jobs)
    jobs.dispose()
    for tables, migrated in (
        (SQLModel.metadata.tables, store_columns),
        (job_tables.tables, job_columns),
    ):
        for table in tables.values():
            assert table.name in migrated, table.name
            assert {c.name for c in table.columns} == set(migrated[table.name]), table.name
