"""Snapshot archives: collections frozen into one file that can be kept, moved, checked and
restored into either backend, nothing re-embedded.

The archive is a POSIX tar holding, for each collection, ``collections/<name>.jsonl.gz``: one
document per line with its chunks, float32 vectors and float16 sentence vectors (base64, as
stored), in id order; and last ``manifest.json``: the format and its version, the embedding
model and dimension, the stance model's hash, each collection's creation time and counts, and
each member's size and SHA-256. Members are written to temporary files beside the archive and
streamed in and out, so memory does not grow with the corpus; the archive appears under its
name only once whole (written, fsynced, renamed).
"""

from __future__ import annotations

import base64
import errno
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from index.backends.base import ExportView
from index.backends.records import (
    NewChunk,
    PreparedDocument,
    chunk_vectors,
    sentence_bytes,
    stored_sentence_vectors,
)
from index.durable import fsync_directory
from index.errors import EngineError, StorageFullError

FORMAT = "semsearch-snapshot"
VERSION = 1  # a reader refuses any newer version
MANIFEST = "manifest.json"
PAGE = 200  # documents per read of the store and per write of a restore
_BLOCK = 1 << 20


class SnapshotError(EngineError):
    """An archive that cannot be restored: not a snapshot, damaged, tampered with, of a newer
    format, or made with another embedding model. Nothing was written."""


@dataclass(frozen=True)
class SnapshotCollection:
    name: str
    created_at: datetime
    documents: int
    chunks: int
    generation: str | None = None  # the store state it reflects (ExportView.generation)


@dataclass(frozen=True)
class Manifest:
    created_at: datetime
    model: str
    dimension: int
    stance_model: str  # SHA-256 of the stance model the verdicts came from
    collections: tuple[SnapshotCollection, ...]
    members: Mapping[str, tuple[int, str]] = field(default_factory=dict)  # name: (bytes, sha256)
    version: int = VERSION

    @property
    def documents(self) -> int:
        return sum(c.documents for c in self.collections)

    @property
    def chunks(self) -> int:
        return sum(c.chunks for c in self.collections)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "model": {"name": self.model, "dimension": self.dimension},
            "stance_model": self.stance_model,
            "collections": [
                {
                    "name": c.name,
                    "created_at": c.created_at.isoformat(),
                    "documents": c.documents,
                    "chunks": c.chunks,
                    "generation": c.generation,
                }
                for c in self.collections
            ],
            "members": {
                name: {"bytes": size, "sha256": digest}
                for name, (size, digest) in self.members.items()
            },
        }

    @classmethod
    def from_json(cls, record: Any) -> Manifest:
        """Raises SnapshotError for another format, a newer version or a malformed record."""
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise SnapshotError("not a semsearch snapshot (its manifest names no such format)")
        version = record.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise SnapshotError(
                f"the snapshot's format version {version} is newer than this server reads "
                f"({VERSION}): restore it with the release that made it, or a newer one"
            )
        try:
            return cls(
                version=version,
                created_at=datetime.fromisoformat(record["created_at"]),
                model=str(record["model"]["name"]),
                dimension=int(record["model"]["dimension"]),
                stance_model=str(record["stance_model"]),
                collections=tuple(
                    SnapshotCollection(
                        name=str(c["name"]),
                        created_at=datetime.fromisoformat(c["created_at"]),
                        documents=int(c["documents"]),
                        chunks=int(c["chunks"]),
                        generation=None if c.get("generation") is None else str(c["generation"]),
                    )
                    for c in record["collections"]
                ),
                members={
                    str(name): (int(m["bytes"]), str(m["sha256"]))
                    for name, m in record["members"].items()
                },
            )
        except (KeyError, TypeError, ValueError) as error:
            raise SnapshotError(f"the snapshot's manifest is malformed: {error!r}") from None


def member_name(collection: str) -> str:
    return f"collections/{collection}.jsonl.gz"


def write_snapshot(
    path: Path,
    views: Mapping[str, tuple[ExportView, datetime]],
    model: str,
    dimension: int,
    stance_model: str,
    progress: Callable[[int], None] | None = None,
) -> Manifest:
    """Write the collections ``views`` hold (each with its creation time) to an archive at
    ``path``, which appears only once complete; returns its manifest.

    Raises:
        StorageFullError: the disk filled up (no file is left behind).
        OSError: the directory cannot be written (no file is left behind).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    collections: list[SnapshotCollection] = []
    members: dict[str, tuple[int, str]] = {}
    partial = path.with_name(f".{path.name}.partial")
    try:
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
            for name, (view, created_at) in views.items():
                documents, chunks = view.counts()
                with tempfile.TemporaryFile(dir=path.parent) as scratch:
                    _write_documents(view, scratch, progress)
                    size, digest = _add(archive, member_name(name), scratch)
                members[member_name(name)] = (size, digest)
                collections.append(
                    SnapshotCollection(name, created_at, documents, chunks, view.generation())
                )
            manifest = Manifest(
                created_at=datetime.now(UTC),
                model=model,
                dimension=dimension,
                stance_model=stance_model,
                collections=tuple(collections),
                members=members,
            )
            body = json.dumps(manifest.to_json(), indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            info.mtime = int(manifest.created_at.timestamp())
            archive.addfile(info, io.BytesIO(body))
        with partial.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, path)
        fsync_directory(path.parent)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise StorageFullError(
                f"the disk of {path.parent} filled up while the snapshot was written; "
                "nothing of it is kept"
            ) from error
        raise
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def bytes_at_least(chunks: int, dimension: int) -> int:
    """A floor under the room writing a snapshot of ``chunks`` chunks takes: their float32
    vectors, which compression barely shrinks, twice (each collection is written to a scratch
    file, then copied into the archive)."""
    return 2 * chunks * dimension * 4


def check_room(directory: Path, needed: int) -> None:
    """Raise StorageFullError unless the disk of ``directory`` has ``needed`` bytes free."""
    directory.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise StorageFullError(
            f"the snapshot directory {directory} has {free:,} bytes free; this snapshot needs "
            f"at least {needed:,}"
        )


def read_manifest(path: Path) -> Manifest:
    """The archive's manifest, without checking its members (``verify`` does).

    Raises:
        SnapshotError: not a readable snapshot, or of a newer format.
    """
    try:
        with tarfile.open(path, "r:") as archive:
            member = archive.getmember(MANIFEST)
            handle = archive.extractfile(member)
            if handle is None:
                raise SnapshotError("the snapshot's manifest is not a file")
            record = json.loads(handle.read())
    except (tarfile.TarError, KeyError, EOFError, ValueError, OSError) as error:
        raise SnapshotError(f"{path.name} is not a readable snapshot: {error}") from None
    return Manifest.from_json(record)


def verify(path: Path, manifest: Manifest) -> None:
    """Check every member against the manifest's size and SHA-256, reading each once.

    Raises:
        SnapshotError: a member missing, truncated, changed or not in the manifest.
    """
    seen: set[str] = set()
    try:
        with tarfile.open(path, "r:") as archive:
            for member in archive:
                if member.name == MANIFEST:
                    continue
                if member.name not in manifest.members:
                    raise SnapshotError(
                        f"the snapshot holds {member.name}, which its manifest lacks"
                    )
                handle = archive.extractfile(member)
                if handle is None:
                    raise SnapshotError(f"{member.name} in the snapshot is not a file")
                if _measure(handle) != manifest.members[member.name]:
                    raise SnapshotError(
                        f"{member.name} does not match the snapshot's checksum: the file is "
                        "damaged or was changed"
                    )
                seen.add(member.name)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise SnapshotError(f"{path.name} is damaged or truncated: {error}") from None
    missing = set(manifest.members) - seen
    if missing:
        raise SnapshotError(f"the snapshot lacks {', '.join(sorted(missing))}: it is truncated")


def documents(path: Path, collection: str, dimension: int) -> Iterator[list[PreparedDocument]]:
    """The documents the archive holds for ``collection``, in pages of ``PAGE``."""
    with tarfile.open(path, "r:") as archive:
        handle = archive.extractfile(member_name(collection))
        if handle is None:
            raise SnapshotError(f"the snapshot holds no collection {collection!r}")
        with gzip.open(handle, "rt", encoding="utf-8") as lines:
            page: list[PreparedDocument] = []
            for line in lines:
                page.append(_document(json.loads(line), dimension))
                if len(page) == PAGE:
                    yield page
                    page = []
            if page:
                yield page


def _write_documents(
    view: ExportView, out: IO[bytes], progress: Callable[[int], None] | None
) -> None:
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as compressed:
        after: str | None = None
        while page := view.page(after, PAGE):
            for document in page:
                compressed.write(json.dumps(_record(document), ensure_ascii=False).encode())
                compressed.write(b"\n")
            after = page[-1].id
            if progress is not None:
                progress(len(page))


def _measure(handle: IO[bytes]) -> tuple[int, str]:
    """The size and SHA-256 of what is left to read in ``handle``."""
    digest = hashlib.sha256()
    size = 0
    for block in iter(lambda: handle.read(_BLOCK), b""):
        digest.update(block)
        size += len(block)
    return size, digest.hexdigest()


def _add(archive: tarfile.TarFile, name: str, scratch: IO[bytes]) -> tuple[int, str]:
    """Add ``scratch``'s bytes as member ``name``; returns its size and SHA-256."""
    scratch.seek(0)
    size, digest = _measure(scratch)
    scratch.seek(0)
    info = tarfile.TarInfo(name)
    info.size = size
    archive.addfile(info, scratch)
    return size, digest


def _record(document: PreparedDocument) -> dict[str, Any]:
    assert document.chunks is not None and document.vectors is not None
    sentence_vectors = document.sentence_vectors or [None] * len(document.chunks)
    return {
        "id": document.id,
        "title": document.title,
        "source": document.source,
        "url": document.url,
        "published_at": document.published_at.isoformat() if document.published_at else None,
        "metadata": document.metadata,
        "text": document.text,
        "content_hash": document.content_hash,
        "format": document.format,
        "page_starts": list(document.page_starts) if document.page_starts is not None else None,
        "duplicate_of": document.duplicate_of,
        "chunks": [
            {
                "chunk_index": chunk.chunk_index,
                "char_start": chunk.char_start,
                "char_end": chunk.char_end,
                "token_count": chunk.token_count,
                "sentences": [list(span) for span in chunk.sentences],
                "vector": _b64(np.asarray(vector, dtype=np.float32).tobytes()),
                "sentence_vectors": None if stored is None else _b64(stored),
            }
            for chunk, vector, stored in zip(
                document.chunks,
                document.vectors,
                map(sentence_bytes, sentence_vectors),
                strict=True,
            )
        ],
    }


def _document(record: dict[str, Any], dimension: int) -> PreparedDocument:
    chunks = record["chunks"]
    published = record["published_at"]
    return PreparedDocument(
        id=record["id"],
        title=record["title"],
        source=record["source"],
        url=record["url"],
        published_at=date.fromisoformat(published) if published else None,
        metadata=record["metadata"],
        text=record["text"],
        content_hash=record["content_hash"],
        format=record["format"],
        page_starts=tuple(record["page_starts"]) if record["page_starts"] is not None else None,
        # an archive from before duplicates were known has none: they are found on restore
        duplicate_of=record.get("duplicate_of"),
        linked="duplicate_of" in record,
        chunks=[
            NewChunk(
                chunk_index=c["chunk_index"],
                char_start=c["char_start"],
                char_end=c["char_end"],
                token_count=c["token_count"],
                sentences=tuple((int(a), int(b)) for a, b in c["sentences"]),
            )
            for c in chunks
        ],
        vectors=chunk_vectors([base64.b64decode(c["vector"]) for c in chunks], dimension),
        sentence_vectors=[
            stored_sentence_vectors(
                None if c["sentence_vectors"] is None else base64.b64decode(c["sentence_vectors"]),
                dimension,
            )
            for c in chunks
        ],
    )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
