"""Storage backends behind the engine (base.py has the seam), chosen by open_backend."""

from __future__ import annotations

from pathlib import Path

from index.backends.base import StorageBackend


def open_backend(
    data_dir: Path,
    database_url: str | None,
    dimension: int,
    ivf_min_vectors: int,
    statement_timeout: float,
    ef_search: int,
    max_collections: int | None = None,
    max_open_collections: int = 64,
    collection_idle_seconds: float = 300.0,
) -> StorageBackend:
    """PostgreSQL + pgvector at ``database_url`` when given, else SQLite + FAISS in ``data_dir``
    (which keeps at most ``max_open_collections`` open, closing those idle for
    ``collection_idle_seconds``); either holds at most ``max_collections`` (None: no limit)."""
    if database_url:
        # Imported only here: the embedded default never loads psycopg, SQLAlchemy's dialect
        # or Alembic.
        from index.backends.postgres.backend import PostgresBackend

        return PostgresBackend(
            database_url,
            dimension,
            statement_timeout,
            ef_search,
            max_collections=max_collections,
        )
    from index.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(
        data_dir,
        dimension,
        ivf_min_vectors,
        max_collections,
        max_open_collections,
        collection_idle_seconds,
    )
