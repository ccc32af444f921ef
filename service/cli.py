"""The `semsearch` command: serve, seed, ingest, search, support, eval, check, reindex,
migrate, collections, snapshot.

It lives beside the HTTP layer rather than in index/ because `serve` starts the HTTP app; the
other commands only call the engine.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict
from pathlib import Path

from pydantic import ValidationError
from tqdm import tqdm

from index.backends import open_backend, shown
from index.backends.base import StorageBackend
from index.bulk import Item, Preparation, ingest
from index.embedding import model_dimension
from index.engine import SearchEngine
from index.errors import EngineError, InvalidInputError
from index.models import DEFAULT_COLLECTION, CollectionRef, SearchMode
from index.sources import BadRecord, expand_paths, read_records
from index.stance import CLAIM_SPLITS
from index.transfer import copy_store
from service import query_command, snapshot_command
from service.eval_command import EvalInputError, run_eval
from service.logs import configure_json_logging
from service.settings import Settings

_BATCH = 64  # documents per upsert transaction during ingest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="semsearch", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the HTTP API (SEMSEARCH_* settings)")
    serve.add_argument("--host", help="bind address (default SEMSEARCH_HOST)")
    serve.add_argument("--port", type=int, help="port (default SEMSEARCH_PORT)")
    commands.add_parser(
        "seed",
        help="index SEMSEARCH_SEED_DIR into an empty, never-seeded store, as serve does on "
        "first start (the Docker build bakes its index this way)",
    )
    ingest = commands.add_parser(
        "ingest", help="index .txt, .html, .pdf, .docx, .md and .jsonl files or directories"
    )
    ingest.add_argument("paths", nargs="+", type=Path)
    _collection_option(ingest, "index into this collection, created if missing")
    ingest.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="chunk and embed on the Ray cluster at ADDRESS (host:port, or auto; default "
        "SEMSEARCH_RAY_ADDRESS; needs the ray extra)",
    )
    query_command.add_parsers(commands)
    evaluate = commands.add_parser("eval", help="retrieval quality on a BEIR-format dataset")
    evaluate.add_argument("dataset", type=Path, help="directory with corpus.jsonl, queries.jsonl")
    evaluate.add_argument("--qrels", type=Path, help="qrels .tsv (default: the one in qrels/)")
    evaluate.add_argument("--claims", type=Path, help="claims .jsonl with evidence spans")
    evaluate.add_argument(
        "--claims-split",
        choices=["all", *CLAIM_SPLITS],
        default="all",
        help="only the claims of this part of the stance model's split (default: all)",
    )
    evaluate.add_argument("--mode", choices=[*(m.value for m in SearchMode), "all"], default="all")
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of a table")
    evaluate.add_argument(
        "--data-dir", type=Path, help="index here and keep it (default: a throw-away directory)"
    )
    _collection_option(evaluate, "index the dataset into this collection, created if missing")
    evaluate.add_argument(
        "--database-url",
        help="index into this PostgreSQL database instead and keep it (never "
        "SEMSEARCH_DATABASE_URL's unless named here)",
    )
    commands.add_parser("check", help="report store/index consistency; exit 1 on any mismatch")
    commands.add_parser(
        "reindex",
        help="rebuild the vector (and lexical) indexes from what the store holds (no embedding)",
    )
    migrate = commands.add_parser(
        "migrate",
        help="copy a store into another (data directory or postgresql:// URL) with its vectors, "
        "nothing re-embedded",
    )
    migrate.add_argument("source", help="a data directory or a postgresql:// URL")
    migrate.add_argument("target", help="a data directory or a postgresql:// URL")
    migrate.add_argument(
        "--force", action="store_true", help="copy into a target that already holds documents"
    )
    migrate.add_argument(
        "--collection",
        metavar="NAME",
        help="copy only this collection (default: every collection)",
    )
    commands.add_parser("collections", help="list the collections with their counts")
    snapshot_command.add_parser(commands)
    args = parser.parse_args(argv)

    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"SEMSEARCH_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        print(f"semsearch: bad setting: {problems}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        if args.command == "serve":
            return _serve(settings, args.host, args.port)
        if args.command == "seed":
            return _seed(settings)
        if args.command == "ingest":
            return _ingest(settings, args.paths, args.ray, args.collection)
        if args.command == "eval":
            return run_eval(settings, args)
        if args.command == "check":
            return _check(settings)
        if args.command == "reindex":
            return _reindex(settings)
        if args.command == "migrate":
            return _migrate(settings, args.source, args.target, args.force, args.collection)
        if args.command == "collections":
            return _collections(settings)
        if args.command == "snapshot":
            return snapshot_command.run(settings, args)
        return query_command.run(settings, args)
    except (EngineError, EvalInputError, OSError) as error:  # one line, no traceback
        print(f"semsearch: {error}", file=sys.stderr)
        return 1


def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn

    from service.app import create_app
    from service.connections import bounded_protocol

    # Refuse a store another process owns with one line, before loading anything (the
    # engine takes it for good when the app starts).
    settings.storage().refuse_if_taken()

    settings = settings.model_copy(update={"host": host or settings.host})
    configure_json_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=port or settings.port,
        http=bounded_protocol(settings.request_timeout, settings.max_connections),
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers go through the JSON handler
        access_log=False,  # RequestLog writes one line per request, with its id
    )
    return 0


def _seed(settings: Settings) -> int:
    from service.app import open_engine

    with closing(open_engine(settings)) as engine:
        stats = engine.stats()
    print(f"{stats.documents} documents, {stats.chunks} chunks in {settings.storage().location}")
    return 0


def _check(settings: Settings) -> int:
    with closing(SearchEngine(settings.engine_config())) as engine:
        report = engine.check()
    for name, value in asdict(report).items():
        print(f"{name.replace('_', ' ')}: {value}")
    if report.unfinished_restores:
        print(
            "UNFINISHED RESTORE: a snapshot restore was cut off; run the same `semsearch "
            "snapshot restore` again to complete it"
        )
    elif not report.ok:
        print(
            "INCONSISTENT (`semsearch reindex` rebuilds the vector and lexical indexes from "
            "the store)"
        )
    else:
        print("consistent")
    return 0 if report.ok else 1


def _reindex(settings: Settings) -> int:
    with (
        closing(SearchEngine(settings.engine_config())) as engine,
        tqdm(unit="vector", desc="reindex") as bar,
    ):
        bar.total = engine.stats().chunks
        vectors = engine.reindex(progress=bar.update)
    print(f"vector index rebuilt: {vectors} vectors (and the lexical index, where it has one)")
    return 0


def _open_store(settings: Settings, where: str, must_exist: bool) -> StorageBackend:
    """The store at ``where``: a postgresql:// URL or a data directory."""
    try:
        config = settings.storage(where)
    except ValueError:
        raise InvalidInputError(shown(where), "is neither a directory nor postgresql://") from None
    if must_exist and not config.exists():
        raise InvalidInputError(where, "holds no store (store.sqlite3)")
    return open_backend(config, model_dimension())


def _migrate(
    settings: Settings, source: str, target: str, force: bool, collection: str | None
) -> int:
    with (
        closing(_open_store(settings, source, must_exist=True)) as origin,
        closing(_open_store(settings, target, must_exist=False)) as destination,
    ):
        names = [collection] if collection else [c.name for c in origin.collections()]
        with tqdm(total=_documents(origin, names), unit="doc", desc="migrate") as bar:
            copied = copy_store(origin, destination, force, bar.update, names)
        documents = _documents(destination, names)
    print(
        f"copied {copied} documents in {len(names)} collection(s) from {shown(source)} to "
        f"{shown(target)} (now {documents} documents there in those collections)"
    )
    return 0


def _documents(store: StorageBackend, names: Sequence[str]) -> int:
    """How many documents the named collections of ``store`` hold together."""
    total = 0
    for name in names:
        with store.collection(name) as collection:
            total += collection.counts()[0]
    return total


def _collections(settings: Settings) -> int:
    with closing(SearchEngine(settings.engine_config())) as engine:
        found = engine.collections()
    print(f"{'name':<24} {'documents':>10} {'chunks':>10}  created")
    for c in found:
        print(f"{c.name:<24} {c.documents:>10} {c.chunks:>10}  {c.created_at:%Y-%m-%d %H:%M}")
    return 0


def _collection_option(parser: argparse.ArgumentParser, purpose: str) -> None:
    parser.add_argument(
        "--collection",
        metavar="NAME",
        default=DEFAULT_COLLECTION,
        help=f"{purpose} (default: {DEFAULT_COLLECTION})",
    )


def _ingest(
    settings: Settings, paths: Sequence[Path], ray_address: str | None, collection: str
) -> int:
    """Ingest every document the files hold into ``collection`` (created if missing); each
    bad record (an unreadable file, a malformed line, a record the engine refuses) is named
    with its file and line and skipped."""
    items: list[Item[str]] = []
    with closing(settings.file_reader()) as files:
        for path in expand_paths(paths):
            for record in read_records(path, files):
                if isinstance(record, BadRecord):
                    items.append(Item(record.where, None, "", record.reason))
                else:
                    items.append(Item(record.where, record.document))
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    skipped = 0
    with (
        closing(SearchEngine(settings.engine_config())) as engine,
        _preparation(settings, engine, ray_address) as preparation,
        tqdm(total=len(items), unit="doc", desc="ingest") as progress,
    ):
        if collection not in {c.name for c in engine.collections()}:
            engine.create_collection(collection)
        for report in ingest(
            engine,
            items,
            preparation=preparation,
            batch_size=_BATCH,
            collection=CollectionRef(collection),
        ):
            for _, result in report.written:
                counts[result.status.value] += 1
            for refused in report.refused:
                skipped += 1
                field = f"{refused.field}: " if refused.field else ""
                tqdm.write(
                    f"semsearch: skipped {refused.key}: {field}{refused.message}", file=sys.stderr
                )
            progress.update(len(report.keys))
    print(", ".join(f"{n} {status}" for status, n in counts.items()) + f", {skipped} skipped")
    return 1 if skipped else 0


@contextmanager
def _preparation(
    settings: Settings, engine: SearchEngine, ray_address: str | None
) -> Iterator[Preparation | None]:
    """The Ray cluster to chunk and embed on (--ray, else SEMSEARCH_RAY_ADDRESS), or None."""
    address = ray_address or settings.ray_address
    if not address:
        yield None
        return
    from index.distributed import RayPreparation

    preparation = RayPreparation(address, engine.config)
    print(
        f"semsearch: chunking and embedding on the Ray cluster at {address} "
        f"({preparation.actors} actors, one per CPU)",
        file=sys.stderr,
    )
    try:
        yield preparation
    finally:
        preparation.close()


if __name__ == "__main__":
    sys.exit(main())
