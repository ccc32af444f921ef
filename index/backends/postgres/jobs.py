"""The PostgreSQL backend's ingest jobs: tables in the shared database, made by the same
Alembic migrations as its documents (migrations/versions/0003, 0004), read through a small
pool of their own so job bookkeeping never waits behind searches."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy

from index.backends.postgres.urls import sqlalchemy_url
from index.jobs.models import JobLimits
from index.jobs.store import JobStore


def open_jobs(
    url: str, statement_timeout: float, limits: JobLimits, clock: Callable[[], float]
) -> JobStore:
    """The jobs in the database at ``url`` (migrated when a backend opened it)."""
    engine = sqlalchemy.create_engine(
        sqlalchemy_url(url),
        pool_size=2,
        max_overflow=2,
        pool_pre_ping=True,  # a database restart leaves dead connections
        connect_args={
            "connect_timeout": 5,
            "options": f"-c statement_timeout={max(1, round(statement_timeout * 1000))}",
        },
    )
    return JobStore(engine, clock, limits)
