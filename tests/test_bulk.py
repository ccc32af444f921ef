"""index/bulk.py and index/sources.read_records: bad records are set aside, the rest written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from index.bulk import upsert_valid
from index.engine import SearchEngine
from index.models import DocumentInput, UpsertStatus
from index.sources import BadRecord, Record, read_documents, read_records

MakeEngine = Callable[..., SearchEngine]


def test_records_the_engine_refuses_are_reported_and_the_rest_written(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine()
    batch = [
        DocumentInput(id="good-1", text="Floods hit the Swat valley."),
        DocumentInput(id="blank", text=" \n "),
        DocumentInput(id="good-1", text="The same id again."),
        DocumentInput(id="bad id!", text="An id with a space."),
        DocumentInput(id="good-2", text="A bridge reopened in Lisbon."),
    ]
    outcome = upsert_valid(engine, batch)
    assert [(p, r.id, r.status) for p, r in outcome.written] == [
        (0, "good-1", UpsertStatus.CREATED),
        (4, "good-2", UpsertStatus.CREATED),
    ]
    assert sorted((r.position, r.field) for r in outcome.rejected) == [
        (1, "text"),
        (2, "id"),
        (3, "id"),
    ]
    assert all(r.message for r in outcome.rejected)
    assert [d.id for d in engine.list_documents().items] == ["good-1", "good-2"]
    assert engine.check().ok


def test_a_batch_of_only_bad_records_writes_nothing(make_engine: MakeEngine) -> None:
    engine = make_engine()
    outcome = upsert_valid(engine, [DocumentInput(id="x", text=""), DocumentInput(text=" ")])
    assert outcome.written == [] and len(outcome.rejected) == 2
    assert engine.stats().documents == 0


def test_a_jsonl_file_yields_its_good_lines_and_names_each_bad_one(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "text": "One."}),
                "[1, 2]",
                "",
                json.dumps({"text": "Two.", "colour": "red"}),
                json.dumps({"id": "b", "text": "Three.", "metadata": [1]}),
                json.dumps({"id": "c", "text": "Four.", "published_at": "2025-11-18"}),
            ]
        )
        + "\n"
    )
    items = list(read_records(path))
    good = [(i.where, i.document.id) for i in items if isinstance(i, Record)]
    bad = [(i.where, i.reason) for i in items if isinstance(i, BadRecord)]
    assert good == [(f"{path}:1", "a"), (f"{path}:6", "c")]
    assert [where for where, _ in bad] == [f"{path}:2", f"{path}:4", f"{path}:5"]
    assert "unknown fields ['colour']" in bad[1][1] and "metadata" in bad[2][1]


def test_an_unreadable_file_is_one_bad_record_and_the_seeds_stay_all_or_nothing(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"caf\xe9")
    assert [type(i) for i in read_records(broken)] == [BadRecord]
    odd = tmp_path / "notes.odt"
    odd.write_bytes(b"PK\x03\x04")
    (item,) = read_records(odd)
    assert isinstance(item, BadRecord) and "unsupported file type .odt" in item.reason
    fake = tmp_path / "notes.pdf"
    fake.write_bytes(b"%PDF")  # a header cut short: a .pdf file that is not one
    (item,) = read_records(fake)
    assert isinstance(item, BadRecord) and "is not a PDF" in item.reason
    half = tmp_path / "half.jsonl"
    half.write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9"}\n')
    items = list(read_records(half))
    assert isinstance(items[0], Record) and isinstance(items[-1], BadRecord)
    assert "UTF-8" in items[-1].reason
    try:
        read_documents(half)
    except ValueError as error:
        assert "UTF-8" in str(error)
    else:
        raise AssertionError("read_documents accepted a file with a bad line")
