"""The snapshot directory: archives (index/snapshot.py) under ids, each with a small record of
its status, counts, size and checksum beside it, the newest ``keep`` kept.

A snapshot being taken is recorded as running; once its archive is whole the record says
ready (or failed, with the reason, and no archive). A record still running when a server starts
was cut off by a crash: it and its partial file are removed, so no partial snapshot is ever
listed. The directory must not be inside a collection's data (the data directory's own files
and ``collections/``), so a snapshot never copies snapshots.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from index.errors import EngineError
from index.snapshot import Manifest
from index.stance import file_sha256

log = logging.getLogger(__name__)

SNAPSHOT_ID_PATTERN = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"
_SNAPSHOT_ID = re.compile(SNAPSHOT_ID_PATTERN)


class SnapshotNotFoundError(EngineError):
    """No snapshot has the requested id."""

    def __init__(self, snapshot_id: str) -> None:
        super().__init__(f"no snapshot with id {snapshot_id!r}")


class SnapshotRunningError(EngineError):
    """The snapshot is still being written."""

    def __init__(self, snapshot_id: str) -> None:
        super().__init__(f"the snapshot {snapshot_id!r} is still being written")


@dataclass(frozen=True)
class SnapshotInfo:
    id: str
    status: str  # running, ready or failed
    created_at: datetime
    collections: list[str]
    documents: int | None = None
    chunks: int | None = None
    bytes: int | None = None
    sha256: str | None = None  # of the whole archive, for a copy to be checked against
    error: str | None = None
    generations: dict[str, str] | None = None  # each collection's store state it reflects

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"created_at": self.created_at.isoformat()}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> SnapshotInfo:
        return cls(**(record | {"created_at": datetime.fromisoformat(record["created_at"])}))


class SnapshotDirectory:
    """Snapshots in ``directory``, at most ``keep`` of them once a new one is ready."""

    def __init__(self, directory: Path, keep: int) -> None:
        self.directory = directory
        self.keep = keep

    def begin(self, collections: list[str]) -> SnapshotInfo:
        """Record a new snapshot of ``collections`` as running; returns it."""
        now = datetime.now(UTC)
        info = SnapshotInfo(
            id=f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
            status="running",
            created_at=now,
            collections=collections,
        )
        self._record(info)
        return info

    def take(self, info: SnapshotInfo, write: Callable[[Path], Manifest]) -> SnapshotInfo:
        """Write the archive of the running snapshot ``info`` with ``write`` and record the
        outcome; the oldest snapshots beyond ``keep`` are removed once it is ready.

        Raises:
            Whatever ``write`` raised, once the snapshot is recorded as failed.
        """
        path = self.archive(info.id)
        try:
            manifest = write(path)
        except BaseException as error:
            path.unlink(missing_ok=True)
            self._record(replace(info, status="failed", error=str(error) or type(error).__name__))
            raise
        ready = replace(
            info,
            status="ready",
            collections=[c.name for c in manifest.collections],  # what it holds, as written
            documents=manifest.documents,
            chunks=manifest.chunks,
            generations={c.name: c.generation or "" for c in manifest.collections},
            bytes=path.stat().st_size,
            sha256=file_sha256(path),
        )
        self._record(ready)
        self.prune()
        return ready

    def archive(self, snapshot_id: str) -> Path:
        """Where the archive of ``snapshot_id`` is (or will be)."""
        return self.directory / f"{snapshot_id}.tar"

    def get(self, snapshot_id: str) -> SnapshotInfo | None:
        if not _SNAPSHOT_ID.fullmatch(snapshot_id):
            return None
        try:
            record = json.loads((self.directory / f"{snapshot_id}.json").read_text("utf-8"))
        except FileNotFoundError:
            return None
        return SnapshotInfo.from_json(record)

    def list(self) -> list[SnapshotInfo]:
        """Every recorded snapshot, newest first."""
        if not self.directory.is_dir():
            return []
        found = [
            info
            for path in self.directory.glob("*.json")
            if (info := self.get(path.stem)) is not None
        ]
        return sorted(found, key=lambda info: info.created_at, reverse=True)

    def delete(self, snapshot_id: str, running_too: bool = False) -> None:
        """Remove a snapshot and its archive.

        Raises:
            SnapshotNotFoundError: none of that id.
            SnapshotRunningError: it is still being written (unless ``running_too``).
        """
        info = self.get(snapshot_id)
        if info is None:
            raise SnapshotNotFoundError(snapshot_id)
        if info.status == "running" and not running_too:
            raise SnapshotRunningError(snapshot_id)
        self.archive(snapshot_id).unlink(missing_ok=True)
        (self.directory / f"{snapshot_id}.json").unlink(missing_ok=True)

    def ready(self, snapshot_id: str) -> Path:
        """The archive of a ready snapshot.

        Raises:
            SnapshotNotFoundError: none of that id, or one that failed.
            SnapshotRunningError: it is still being written.
        """
        info = self.get(snapshot_id)
        if info is None or info.status == "failed":
            raise SnapshotNotFoundError(snapshot_id)
        if info.status == "running":
            raise SnapshotRunningError(snapshot_id)
        return self.archive(snapshot_id)

    def prune(self) -> None:
        """Remove the oldest finished snapshots beyond ``keep``."""
        finished = [info for info in self.list() if info.status != "running"]
        for info in finished[self.keep :]:
            with suppress(SnapshotNotFoundError):  # another prune or a DELETE was first
                self.delete(info.id)

    def recover(self) -> int:
        """Remove what a crash left: running records and partial archives. Only for the one
        process that writes this directory, when it starts; returns how many were removed."""
        removed = 0
        for info in self.list():
            if info.status == "running":
                self.delete(info.id, running_too=True)
                removed += 1
        if self.directory.is_dir():
            for partial in self.directory.glob(".*.partial"):
                partial.unlink(missing_ok=True)
        if removed:
            log.warning("removed %d snapshot(s) cut off by a crash", removed)
        return removed

    def _record(self, info: SnapshotInfo) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{info.id}.json"
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(info.to_json(), indent=2), encoding="utf-8")
        os.replace(temporary, path)
