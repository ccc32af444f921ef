"""The `semsearch` command: ingest files (with a bad one skipped) and search them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, free_port, run_cli

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)


def test_ingest_then_search(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "quake.md").write_text("Quake report\n\nAn earthquake struck Quetta at dawn.\n")
    (corpus / "broken.txt").write_bytes(b"caf\xe9 au lait")
    (corpus / "batch.jsonl").write_text(
        json.dumps({"id": "flood", "text": "Floods hit Swat.", "source": "Wire"}) + "\n"
    )
    data = tmp_path / "data"
    ingest = run_cli(data, "ingest", str(corpus))
    assert ingest.returncode == 1  # one file skipped
    assert "skipped" in ingest.stderr and "broken.txt" in ingest.stderr and "UTF-8" in ingest.stderr
    assert "2 created" in ingest.stdout

    search = run_cli(data, "search", "earthquake in Quetta", "-k", "1")
    assert search.returncode == 0, search.stderr
    assert "Quake report" in search.stdout and "quake" in search.stdout
    assert "   > An earthquake struck Quetta at dawn." in search.stdout  # its highlight

    again = run_cli(data, "ingest", str(corpus / "batch.jsonl"))
    assert again.returncode == 0 and "1 unchanged" in again.stdout


def test_ingest_skips_bad_records_by_file_and_line_and_keeps_the_rest(tmp_path: Path) -> None:
    """One blank document among good ones used to refuse its whole batch (issue 17)."""
    lines = [
        json.dumps({"id": "a", "text": "Floods hit the Swat valley."}),
        json.dumps({"id": "blank", "text": "   "}),
        "{not json",
        json.dumps({"id": "bad id!", "text": "An id with a space."}),
        "",
        json.dumps({"id": "b", "text": "A bridge reopened in Lisbon.", "published_at": "May"}),
        json.dumps({"id": "c", "text": "Rescue boats reached the villages."}),
    ]
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    data = tmp_path / "data"
    ingest = run_cli(data, "ingest", str(batch))
    assert ingest.returncode == 1, ingest.stderr
    assert "2 created, 0 updated, 0 unchanged, 4 skipped" in ingest.stdout
    reported = [line for line in ingest.stderr.splitlines() if "semsearch: skipped" in line]
    assert len(reported) == 4, ingest.stderr
    for number, problem in [(2, "text"), (3, "invalid JSON"), (4, "id"), (6, "published_at")]:
        assert any(f"{batch}:{number}: {problem}" in line for line in reported), reported
    search = run_cli(data, "search", "rescue boats", "-k", "1")
    assert "(c 0:" in search.stdout, search.stdout


def test_search_rejects_an_empty_query(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "data", "search", "  ")
    assert result.returncode == 1
    assert result.stderr.strip() == "semsearch search: query: must contain text"


def test_seed_indexes_the_seed_corpus_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = run_cli(data, "seed")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("5 documents")
    search = run_cli(data, "search", "suicide bombing outside the Islamabad courts", "-k", "1")
    assert "003_997123c907f1ca25" in search.stdout
    again = run_cli(data, "seed")  # already seeded: nothing added, nothing duplicated
    assert again.returncode == 0 and again.stdout.startswith("5 documents")


def test_check_reports_consistency_and_exits_1_on_a_mismatch(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli(data, "seed").returncode == 0
    check = run_cli(data, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "documents: 5" in check.stdout and check.stdout.rstrip().endswith("consistent")

    # Damage SQLite behind the engine's back: a document row goes, its chunks stay.
    connection = sqlite3.connect(data / "store.sqlite3")
    connection.execute("PRAGMA foreign_keys = OFF")
    connection.execute("DELETE FROM documents WHERE id = '001_e4aaa75b5ffde9ee'")
    connection.commit()
    connection.close()
    broken = run_cli(data, "check")
    assert broken.returncode == 1
    assert "documents: 4" in broken.stdout and "INCONSISTENT" in broken.stdout
    orphans = next(line for line in broken.stdout.splitlines() if line.startswith("orphan"))
    assert int(orphans.split(": ")[1]) > 0


def test_reindex_rebuilds_the_vector_and_lexical_indexes_from_the_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli(data, "seed").returncode == 0
    before = (data / "vectors.faiss").stat().st_mtime_ns
    lexical_before = (data / "lexical" / "generation").stat().st_mtime_ns
    reindex = run_cli(data, "reindex")
    assert reindex.returncode == 0, reindex.stderr
    assert "reindex: 100%" in reindex.stderr  # the progress bar reached its end
    assert "vector index rebuilt: " in reindex.stdout
    assert (data / "vectors.faiss").stat().st_mtime_ns != before
    assert (data / "lexical" / "generation").stat().st_mtime_ns != lexical_before
    assert run_cli(data, "check").returncode == 0


def test_a_second_process_on_a_data_dir_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli(data, "seed").returncode == 0
    server = Server(data_dir=data, port=free_port())
    server.start()
    try:
        second = run_cli(data, "search", "bombing")
        assert second.returncode == 1
        assert second.stderr.startswith(f"semsearch: data directory {data} is in use by process")
        competing = Server(data_dir=data, port=free_port())
        with pytest.raises(RuntimeError, match="is in use by process"):
            competing.start(timeout=60)
        with httpx.Client(base_url=server.url) as http:  # the owner is unharmed
            assert http.get("/readyz").json()["documents"] == 5
    finally:
        server.stop()
    assert run_cli(data, "check").returncode == 0  # released on exit


def test_failures_exit_non_zero_with_one_line(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    unusable = run_cli(blocked / "data", "check")
    assert unusable.returncode == 1
    assert unusable.stderr.startswith("semsearch: ") and len(unusable.stderr.splitlines()) == 1
    bad = run_cli(tmp_path, "check", settings={"SEMSEARCH_API_KEYS": "k:admin"})
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "semsearch: bad setting: SEMSEARCH_API_KEYS: Value error, scope must be 'read' or "
        "'write', not 'admin'"
    ]
    missing = tmp_path / "no-keys.txt"
    unreadable = run_cli(tmp_path, "check", settings={"SEMSEARCH_API_KEYS_FILE": str(missing)})
    assert unreadable.returncode == 2
    assert unreadable.stderr.splitlines() == [
        f"semsearch: bad setting: SEMSEARCH_API_KEYS_FILE: Value error, cannot read {missing}: "
        "No such file or directory"
    ]


def test_commands_take_a_collection(tmp_path: Path) -> None:
    corpus = tmp_path / "news.jsonl"
    corpus.write_text(
        json.dumps({"id": "quake", "text": "An earthquake struck Quetta at dawn."}) + "\n"
    )
    data = tmp_path / "data"
    ingest = run_cli(data, "ingest", str(corpus), "--collection", "news")
    assert ingest.returncode == 0 and "1 created" in ingest.stdout, ingest.stderr
    listed = run_cli(data, "collections")
    rows = {line.split()[0]: line.split()[1:3] for line in listed.stdout.splitlines()[1:]}
    assert rows == {"default": ["0", "0"], "news": ["1", "1"]}, listed.stdout
    found = run_cli(data, "search", "earthquake", "--collection", "news")
    assert "quake" in found.stdout, found.stderr
    assert "quake" not in run_cli(data, "search", "earthquake").stdout  # not in default
    missing = run_cli(data, "search", "earthquake", "--collection", "nope")
    assert missing.returncode == 1 and "no collection named 'nope'" in missing.stderr
    bad = run_cli(data, "ingest", str(corpus), "--collection", "../etc")
    assert bad.returncode == 1 and "name" in bad.stderr and not (tmp_path / "etc").exists()

    copy = tmp_path / "copy"
    migrated = run_cli(data, "migrate", str(data), str(copy), "--collection", "news")
    assert migrated.returncode == 0, migrated.stderr
    assert "copied 1 documents in 1 collection(s)" in migrated.stdout
    assert "quake" in run_cli(copy, "search", "earthquake", "--collection", "news").stdout
    assert run_cli(copy, "check").returncode == 0
