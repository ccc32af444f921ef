"""How the embedded backend is configured: its data directory and the tuning only it reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.backends.embedded.saver import SAVE_AFTER_CHANGES
from index.backends.embedded.vectors import IVF_MIN_VECTORS
from index.jobs.models import JobLimits

if TYPE_CHECKING:
    from index.backends.embedded.backend import EmbeddedBackend
    from index.jobs.store import JobStore

STORE_FILE = "store.sqlite3"  # a collection's SQLite file, the source of truth
JOBS_FILE = "jobs.sqlite3"  # the data directory's ingest jobs


@dataclass(frozen=True)
class EmbeddedConfig:
    """SQLite + FAISS + tantivy in ``data_dir``, which one process owns."""

    data_dir: Path
    # From this many chunks on, a collection's vector index is IVF (approximate), not exact.
    ivf_min_vectors: int = IVF_MIN_VECTORS
    # Most collections, default included (None: no limit); creating one more is refused.
    max_collections: int | None = 1000
    # Collections are opened on use; at most this many stay open besides default (the least
    # recently used is closed), and one unused this many seconds is closed.
    max_open_collections: int = 64
    collection_idle_seconds: float = 300.0
    # A collection's vector index file is saved in the background after this many chunk
    # changes (or a quarter of its vectors, if more), and when it closes (saver.py).
    vector_save_changes: int = SAVE_AFTER_CHANGES

    @property
    def location(self) -> str:
        """Where the store is, as it may be shown."""
        return str(self.data_dir)

    def exists(self) -> bool:
        """Whether a store was ever written here."""
        return (self.data_dir / STORE_FILE).is_file()

    def refuse_if_taken(self) -> None:
        """Raise DataDirLockedError if another process serves this data directory (checked
        before a server loads anything; the backend takes the lock for good when it opens)."""
        from index.backends.embedded.lock import DataDirLock

        self.data_dir.mkdir(parents=True, exist_ok=True)
        DataDirLock(self.data_dir).release()

    def open(self, dimension: int) -> EmbeddedBackend:
        from index.backends.embedded.backend import EmbeddedBackend

        return EmbeddedBackend(self, dimension)

    def open_jobs(
        self,
        limits: JobLimits = JobLimits(),  # noqa: B008 (frozen)
        clock: Callable[[], float] = time.time,
    ) -> JobStore:
        """The data directory's ingest jobs (``jobs.sqlite3``), migrated to the newest schema."""
        from index.backends.embedded.jobs import open_jobs

        return open_jobs(self.data_dir / JOBS_FILE, limits, clock)
