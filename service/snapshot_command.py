"""`semsearch snapshot create|restore|list`: snapshots of the store SEMSEARCH_DATA_DIR or
SEMSEARCH_DATABASE_URL names, from the command line (the same archives as /v1/snapshots)."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing
from pathlib import Path

from tqdm import tqdm

from index.engine import SearchEngine
from index.snapshot import bytes_at_least, check_room
from service.settings import Settings


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    snapshot = commands.add_parser(
        "snapshot", help="back up collections to an archive, or restore one (no re-embedding)"
    )
    actions = snapshot.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", help="write every collection (or one) as of one moment to an archive"
    )
    create.add_argument("--collection", metavar="NAME", help="only this collection")
    create.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write the archive here (default: a new snapshot in SEMSEARCH_SNAPSHOT_DIR)",
    )
    restore = actions.add_parser(
        "restore", help="restore an archive's collections, derived indexes rebuilt"
    )
    restore.add_argument("archive", type=Path)
    restore.add_argument("--collection", metavar="NAME", help="only this collection")
    restore.add_argument(
        "--as", dest="as_name", metavar="NAME", help="restore the one collection under this name"
    )
    restore.add_argument(
        "--force", action="store_true", help="restore over a collection that holds documents"
    )
    actions.add_parser("list", help="the snapshots in SEMSEARCH_SNAPSHOT_DIR, newest first")


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "list":
        for info in settings.snapshots().list():
            print(
                f"{info.id}  {info.status:<7}  {info.documents or 0:>8} documents  "
                f"{info.bytes or 0:>12} bytes  {', '.join(info.collections)}"
            )
        return 0
    with closing(SearchEngine(settings.engine_config())) as engine:
        if args.action == "create":
            return _create(settings, engine, args.collection, args.output)
        return _restore(engine, args.archive, args.collection, args.as_name, args.force)


def _create(
    settings: Settings, engine: SearchEngine, collection: str | None, output: Path | None
) -> int:
    copied = [engine.collection(collection)] if collection else engine.collections()
    names = [c.name for c in copied]
    total = sum(c.documents for c in copied)
    directory = output.parent if output is not None else settings.snapshots().directory
    check_room(directory, bytes_at_least(sum(c.chunks for c in copied), engine.embedder.dimension))
    with tqdm(total=total, unit="doc", desc="snapshot", disable=not sys.stderr.isatty()) as bar:
        if output is not None:
            manifest = engine.snapshot(output, collection, bar.update)
            where, documents = output, manifest.documents
        else:
            snapshots = settings.snapshots()
            info = snapshots.take(
                snapshots.begin(names), lambda path: engine.snapshot(path, collection, bar.update)
            )
            where, documents = snapshots.archive(info.id), info.documents or 0
    print(f"snapshot of {len(names)} collection(s), {documents} documents: {where}")
    return 0


def _restore(
    engine: SearchEngine, archive: Path, collection: str | None, as_name: str | None, force: bool
) -> int:
    with tqdm(unit="doc", desc="restore", disable=not sys.stderr.isatty()) as bar:
        restored = engine.restore(archive, collection, as_name, force, bar.update)
    for c in restored:
        print(f"restored {c.name}: {c.documents} documents, {c.chunks} chunks")
    return 0
