"""One process owns a data directory: an exclusive, non-blocking lock on `<data_dir>/lock`.

Two writers on one SQLite file plus one FAISS file would each keep an index the other's commits
never reach. The lock is an flock(2) on an open file: the kernel drops it when the process
exits, however it exits, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from index.errors import EngineError


class DataDirLockedError(EngineError):
    """Another process has the data directory open."""

    def __init__(self, data_dir: Path, owner: str) -> None:
        holder = f"process {owner}" if owner else "another process"
        super().__init__(
            f"data directory {data_dir} is in use by {holder}; one semsearch process owns a "
            "data directory (stop it, or give this one its own SEMSEARCH_DATA_DIR)"
        )
        self.data_dir = data_dir


class DataDirLock:
    """Held from construction until release(); the lock file records the owner's pid."""

    def __init__(self, data_dir: Path) -> None:
        path = data_dir / "lock"
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self._fd, 32, 0).decode(errors="replace").strip()
            os.close(self._fd)
            self._fd = None
            raise DataDirLockedError(data_dir, owner) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
