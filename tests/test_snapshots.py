"""Snapshots: collections frozen into one archive while the service goes on, restored into either
backend with their vectors (nothing re-embedded), and refused whole when damaged, tampered
with, of a newer format or made by another model."""

from __future__ import annotations

import io
import json
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from index.backends import backend_config
from index.backends.embedded.config import EmbeddedConfig
from index.embedding import Embedder
from index.engine import EngineConfig, SearchEngine
from index.errors import InvalidInputError
from index.models import DocumentInput, SearchMode
from index.queries import SearchQuery, SupportQuery
from index.snapshot import MANIFEST, SnapshotError, member_name, read_manifest
from index.snapshot_dir import SnapshotDirectory
from index.sources import expand_paths, read_documents
from service.cli import main
from tests.conftest import SEEDS

MakeEngine = Callable[..., SearchEngine]
QUERIES = ["suicide bombing at the Islamabad courts", "flood relief in Swat", "China Pakistan"]


def _seeds() -> list[DocumentInput]:
    return [d for path in expand_paths([SEEDS]) for d in read_documents(path)]


def _answers(
    engine: SearchEngine,
    collection: str = "default",
    modes: tuple[SearchMode, ...] = tuple(SearchMode),
) -> list[Any]:
    """What a caller sees: every document, hits (citations and scores) and a support answer.
    Across backends only dense scores can agree: each computes BM25 its own way."""
    page = engine.list_documents(limit=1000, collection=collection)
    found: list[Any] = [engine.get(d.id, collection=collection) for d in page.items]
    found += [
        [
            (h.citation, round(h.score, 4), h.text)
            for h in engine.search(SearchQuery(q, k=5, mode=mode, collection=collection))
        ]
        for q in QUERIES
        for mode in modes
    ]
    if len(modes) == len(SearchMode):
        support = engine.support(SupportQuery(QUERIES[0], k=3, collection=collection))
        found.append((support.verdict, [p.citation for p in support.passages]))
    return found


@pytest.fixture
def source(make_engine: MakeEngine) -> SearchEngine:
    engine = make_engine()
    engine.upsert(_seeds())
    engine.create_collection("notes")
    engine.upsert(
        [
            DocumentInput(
                id="harbour",
                title="Harbour notes",
                text="The ferry to Bergen left at dawn. Fishermen mended nets on the pier.",
                metadata={"lang": "en", "pages": 2},
                page_starts=(0, 33),
            )
        ],
        collection="notes",
    )
    return engine


def _restored_answers_match(
    source: SearchEngine, target: SearchEngine, archive: Path, same_backend: bool
) -> None:
    texts_before = target.embedder.totals()[0]
    restored = target.restore(archive)
    assert target.embedder.totals()[0] == texts_before  # nothing re-embedded
    assert {(c.name, c.documents, c.chunks) for c in restored} == {
        (c.name, c.documents, c.chunks) for c in source.collections()
    }
    assert target.check().ok
    modes = tuple(SearchMode) if same_backend else (SearchMode.DENSE,)
    for name in ("default", "notes"):
        assert _answers(target, name, modes) == _answers(source, name, modes)
    assert target.get("harbour", collection="notes") == source.get("harbour", collection="notes")


def test_a_snapshot_restores_into_a_data_directory_with_the_same_answers(
    source: SearchEngine, tmp_path: Path, embedder: Embedder
) -> None:
    """From either backend (the PostgreSQL run is a system test) into the embedded one."""
    archive = tmp_path / "all.tar"
    manifest = source.snapshot(archive)
    assert {c.name for c in manifest.collections} == {"default", "notes"}
    assert manifest.documents == source.totals().documents
    target = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "other")), embedder)
    try:
        same = isinstance(source.config.storage, EmbeddedConfig)
        _restored_answers_match(source, target, archive, same_backend=same)
    finally:
        target.close()


@pytest.mark.system  # starts PostgreSQL
@pytest.mark.parametrize("backend_kind", ["embedded"])
def test_an_embedded_snapshot_restores_into_postgresql_with_the_same_answers(
    source: SearchEngine, tmp_path: Path, embedder: Embedder, postgres: Any
) -> None:
    archive = tmp_path / "all.tar"
    source.snapshot(archive)
    target = SearchEngine(EngineConfig(storage=backend_config(postgres.fresh_database())), embedder)
    try:
        _restored_answers_match(source, target, archive, same_backend=False)
    finally:
        target.close()


def test_a_snapshot_records_the_store_state_it_reflects(
    make_engine: MakeEngine, tmp_path: Path
) -> None:
    engine = make_engine()
    engine.upsert([DocumentInput(id="first", text="A first note on the harbour.")])
    first = engine.snapshot(tmp_path / "first.tar").collections[0].generation
    assert read_manifest(tmp_path / "first.tar").collections[0].generation == first
    again = engine.snapshot(tmp_path / "again.tar").collections[0].generation
    engine.upsert([DocumentInput(id="second", text="A second note on the tide.")])
    later = engine.snapshot(tmp_path / "later.tar").collections[0].generation
    assert first and again == first and later not in {None, first}


def test_a_snapshot_taken_while_clients_write_is_one_moment(
    make_engine: MakeEngine, tmp_path: Path, embedder: Embedder
) -> None:
    engine = make_engine()
    engine.upsert(
        [DocumentInput(id=f"before-{n}", text=f"Report {n} on the harbour.") for n in range(20)]
    )
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        n = 0
        while not stop.is_set():
            engine.upsert(
                [DocumentInput(id=f"during-{n}", text=f"Note {n}: the tide turned. Boats came in.")]
            )
            written.append(f"during-{n}")
            n += 1

    writers = [threading.Thread(target=write) for _ in range(2)]
    for writer in writers:
        writer.start()
    try:
        while len(written) < 3:
            threading.Event().wait(0.05)
        acknowledged = set(written)
        manifest = engine.snapshot(tmp_path / "live.tar")
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    target = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "restored")), embedder)
    try:
        target.restore(tmp_path / "live.tar")
        ids = {d.id for d in target.list_documents(limit=1000).items}
        assert {f"before-{n}" for n in range(20)} | acknowledged <= ids
        assert len(ids) == manifest.documents < engine.stats().documents + 1
        assert target.check().ok  # every document whole, with its chunks and vectors
    finally:
        target.close()


def test_a_damaged_or_foreign_archive_is_refused_before_anything_is_written(
    source: SearchEngine, tmp_path: Path, embedder: Embedder
) -> None:
    archive = tmp_path / "good.tar"
    source.snapshot(archive)
    target = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "target")), embedder)
    try:
        damaged = tmp_path / "damaged.tar"
        raw = bytearray(archive.read_bytes())
        with tarfile.open(archive) as tar:
            member = tar.getmember(member_name("default"))
        raw[member.offset_data + 100] ^= 0xFF
        damaged.write_bytes(bytes(raw))
        with pytest.raises(SnapshotError, match="checksum"):
            target.restore(damaged)
        truncated = tmp_path / "truncated.tar"
        truncated.write_bytes(archive.read_bytes()[: len(raw) // 2])
        with pytest.raises(SnapshotError):
            target.restore(truncated)
        for change, message in (
            (lambda m: m | {"version": 99}, "format version 99 is newer"),
            (lambda m: m | {"model": {"name": "another-model", "dimension": 768}}, "another-model"),
            (lambda m: m | {"format": "zip"}, "not a semsearch snapshot"),
        ):
            with pytest.raises(SnapshotError, match=message):
                target.restore(_with_manifest(archive, change, tmp_path / "changed.tar"))
        assert target.totals().documents == 0 and target.collections()[0].name == "default"
        assert len(target.collections()) == 1
    finally:
        target.close()


def _with_manifest(archive: Path, change: Callable[[dict[str, Any]], Any], out: Path) -> Path:
    with tarfile.open(archive) as tar, tarfile.open(out, "w") as copy:
        for member in tar:
            handle = tar.extractfile(member)
            if member.name == MANIFEST:
                assert handle is not None
                body = json.dumps(change(json.load(handle))).encode()
                member.size = len(body)
                copy.addfile(member, io.BytesIO(body))
            else:
                copy.addfile(member, handle)
    return out


def test_restoring_over_documents_needs_force_and_then_equals_the_snapshot(
    source: SearchEngine, tmp_path: Path, embedder: Embedder
) -> None:
    archive = tmp_path / "notes.tar"
    source.snapshot(archive, collection="notes")
    assert [c.name for c in read_manifest(archive).collections] == ["notes"]
    target = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "target")), embedder)
    try:
        target.create_collection("notes")
        target.upsert([DocumentInput(id="stray", text="A stray note.")], collection="notes")
        with pytest.raises(InvalidInputError, match="--force"):
            target.restore(archive)
        assert target.collection("notes").documents == 1  # unchanged
        target.restore(archive, force=True)
        assert {d.id for d in target.list_documents(collection="notes").items} == {"harbour"}
        renamed = target.restore(archive, collection="notes", as_name="notes-copy")
        assert [(c.name, c.documents) for c in renamed] == [("notes-copy", 1)]
        with pytest.raises(InvalidInputError, match="holds no 'missing'"):
            target.restore(archive, collection="missing")
        assert target.check().ok
    finally:
        target.close()


def test_a_restore_cut_off_is_reported_and_a_second_one_completes_it(
    source: SearchEngine, tmp_path: Path, embedder: Embedder
) -> None:
    archive = tmp_path / "all.tar"
    source.snapshot(archive, collection="default")
    target = SearchEngine(EngineConfig(storage=backend_config(tmp_path / "target")), embedder)

    def cut_off(_: int) -> None:
        raise KeyboardInterrupt  # as a process stopped after the first page

    try:
        with pytest.raises(KeyboardInterrupt):
            target.restore(archive, progress=cut_off)
        report = target.check()
        assert report.unfinished_restores == 1 and not report.ok
        target.restore(archive)  # no --force needed to finish what was cut off
        report = target.check()
        assert report.ok and report.documents == source.totals().documents - 1
    finally:
        target.close()


def test_the_snapshot_directory_keeps_the_newest_and_forgets_what_a_crash_left(
    source: SearchEngine, tmp_path: Path
) -> None:
    snapshots = SnapshotDirectory(tmp_path / "snapshots", keep=2)
    taken = [
        snapshots.take(snapshots.begin(["notes"]), lambda p: source.snapshot(p, "notes"))
        for _ in range(3)
    ]
    listed = snapshots.list()
    assert [i.id for i in listed] == [t.id for t in reversed(taken)][:2]
    assert all(i.status == "ready" and i.documents == 1 and i.sha256 for i in listed)
    assert not snapshots.archive(taken[0].id).exists()
    cut = snapshots.begin(["notes"])  # a server killed while writing it
    (snapshots.directory / f".{cut.id}.tar.partial").write_bytes(b"half")
    assert snapshots.recover() == 1
    assert snapshots.get(cut.id) is None and not list(snapshots.directory.glob(".*"))

    def full(_: Path) -> Any:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        snapshots.take(snapshots.begin(["notes"]), full)
    failed = snapshots.list()[0]
    assert failed.status == "failed" and "No space" in (failed.error or "")
    assert not snapshots.archive(failed.id).exists()


@pytest.mark.parametrize("backend_kind", ["embedded"])
def test_the_command_line_creates_lists_and_restores_snapshots(
    source: SearchEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = source.config.storage.data_dir  # type: ignore[union-attr]
    source.close()  # the command takes the data directory, as it would from a shell
    monkeypatch.setenv("SEMSEARCH_DATA_DIR", str(data))
    monkeypatch.setenv("SEMSEARCH_SNAPSHOT_DIR", str(tmp_path / "snapshots"))
    assert main(["snapshot", "create", "--collection", "notes"]) == 0
    assert main(["snapshot", "create", "--output", str(tmp_path / "all.tar")]) == 0
    assert main(["snapshot", "list"]) == 0
    out = capsys.readouterr().out
    (listed,) = [line for line in out.splitlines() if " ready " in line]
    assert "notes" in listed and " 1 documents" in listed
    monkeypatch.setenv("SEMSEARCH_DATA_DIR", str(tmp_path / "restored"))
    assert main(["snapshot", "restore", str(tmp_path / "all.tar")]) == 0
    assert "restored notes: 1 documents" in capsys.readouterr().out
    assert main(["snapshot", "restore", str(tmp_path / "all.tar")]) == 1  # over data: --force
    assert "--force restores over them" in capsys.readouterr().err
    assert main(["check"]) == 0
