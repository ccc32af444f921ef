"""The embedded backend's ingest jobs: ``jobs.sqlite3`` in the data directory, its schema
migrated like the collections' stores (schema.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from index.backends.embedded import schema
from index.backends.embedded.database import sqlite_engine, storage_errors
from index.jobs.models import JobLimits
from index.jobs.store import JobStore


def open_jobs(path: Path, limits: JobLimits, clock: Callable[[], float]) -> JobStore:
    """The jobs kept in the SQLite file ``path``, created or upgraded to the newest schema."""
    engine = sqlite_engine(path)
    schema.upgrade(engine, schema.JOBS)
    return JobStore(engine, clock, limits, storage_errors)
