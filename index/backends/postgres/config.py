"""How the PostgreSQL backend is configured: its database and the tuning only it reads.

Nothing here imports psycopg, SQLAlchemy's dialect or Alembic: the embedded default never
loads them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from index.backends.postgres import urls
from index.jobs.models import JobLimits

if TYPE_CHECKING:
    from index.backends.postgres.backend import PostgresBackend
    from index.jobs.store import JobStore


@dataclass(frozen=True)
class PostgresConfig:
    """PostgreSQL + pgvector at ``url``, shared by every server given it."""

    url: str = field(repr=False)  # never shown: it may hold a password
    # Longest any one database statement may run, in seconds.
    statement_timeout: float = 30.0
    # Candidates pgvector's HNSW search keeps: higher finds more of the true nearest chunks.
    # None: by the collection's size (index/backends/postgres/__init__.py, ef_search_for).
    ef_search: int | None = None
    # Most collections, default included (None: no limit); creating one more is refused.
    max_collections: int | None = 1000
    # Connections one server keeps for searches and writes (ingest-job bookkeeping has up to
    # four of its own): a call finding none free waits up to 5 s for one.
    pool_size: int = 8

    def __post_init__(self) -> None:
        urls.check(self.url)

    @property
    def location(self) -> str:
        """Where the store is, as it may be shown (password hidden)."""
        return urls.redacted(self.url)

    def exists(self) -> bool:
        """A database is there to be migrated whenever it can be reached: always True."""
        return True

    def refuse_if_taken(self) -> None:
        """Nothing to refuse: any number of servers share the database."""

    def open(self, dimension: int) -> PostgresBackend:
        from index.backends.postgres.backend import PostgresBackend

        return PostgresBackend(self, dimension)

    def open_jobs(
        self,
        limits: JobLimits = JobLimits(),  # noqa: B008 (frozen)
        clock: Callable[[], float] = time.time,
    ) -> JobStore:
        """The database's ingest jobs (tables made by the backend's migrations)."""
        from index.backends.postgres.jobs import open_jobs

        return open_jobs(self.url, self.statement_timeout, limits, clock)
