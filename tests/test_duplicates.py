"""index/duplicates.py through the engine on both backends: copies found at ingest, linked to
their original, left out of searches that ask, and linked again when the original goes."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from index.backends.embedded import schema as embedded_schema
from index.backends.embedded.database import sqlite_engine
from index.backends.postgres import schema as postgres_schema
from index.duplicates import fingerprint, is_copy
from index.engine import SearchEngine
from index.models import DocumentInput, SearchFilters
from index.queries import SearchQuery, SupportQuery
from index.sources import expand_paths, read_documents

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
MakeEngine = Callable[..., SearchEngine]


def _seeds() -> list[DocumentInput]:
    return [d for path in expand_paths([SEEDS]) for d in read_documents(path)]


def _syndicated(original: DocumentInput, new_id: str) -> DocumentInput:
    """The same story as another outlet runs it: its own header, the footer trimmed, the
    lines wrapped at 72 columns."""
    paragraphs = original.text.split("\n\n")
    body = "\n\n".join(paragraphs[: max(1, len(paragraphs) * 9 // 10)])
    wrapped = "\n\n".join(textwrap.fill(p, 72) for p in body.split("\n\n"))
    header = "WIRE SERVICE | Updated 3 hours ago | Share this story\n\n"
    return DocumentInput(text=header + wrapped, id=new_id, title=original.title, source="Wire")


@pytest.fixture
def seeded(make_engine: MakeEngine) -> SearchEngine:
    engine = make_engine()
    engine.upsert(_seeds())
    return engine


def test_a_syndicated_copy_names_its_original(seeded: SearchEngine) -> None:
    original = _seeds()[0]
    seeded.upsert([_syndicated(original, "wire-copy")])
    assert seeded.get("wire-copy").duplicate_of == original.id
    listed = {d.id: d for d in seeded.list_documents(0, 100).items}
    assert listed["wire-copy"].duplicate_of == original.id
    assert {d.duplicate_of for i, d in listed.items() if i != "wire-copy"} == {None}


def test_exclude_duplicates_leaves_the_copies_out(seeded: SearchEngine) -> None:
    original = _seeds()[0]
    seeded.upsert([_syndicated(original, "wire-copy")])
    query = original.text[:200]
    every = {h.citation.document_id for h in seeded.search(SearchQuery(query, k=20))}
    assert "wire-copy" in every
    only = SearchFilters(exclude_duplicates=True)
    for mode_query in (
        SearchQuery(query, k=20, filters=only),
        SearchQuery(query, k=20, filters=only, group_by="document"),
    ):
        found = {h.citation.document_id for h in seeded.search(mode_query)}
        assert "wire-copy" not in found and original.id in found
    passages = seeded.support(SupportQuery(query, k=10, filters=only)).passages
    assert "wire-copy" not in {p.citation.document_id for p in passages}


def test_articles_on_the_same_event_are_not_copies(seeded: SearchEngine) -> None:
    # The seeds include several articles on the Islamabad bombing and its aftermath.
    assert all(d.duplicate_of is None for d in seeded.list_documents(0, 100).items)


def test_copies_in_one_batch_link_to_the_first(make_engine: MakeEngine) -> None:
    engine = make_engine()
    original = _seeds()[1]
    engine.upsert([original, _syndicated(original, "copy-a"), _syndicated(original, "copy-b")])
    assert engine.get(original.id).duplicate_of is None
    assert engine.get("copy-a").duplicate_of == original.id
    assert engine.get("copy-b").duplicate_of == original.id


def test_deleting_the_original_makes_the_first_copy_the_original(seeded: SearchEngine) -> None:
    original = _seeds()[0]
    seeded.upsert([_syndicated(original, "copy-a")])
    seeded.upsert([_syndicated(original, "copy-b")])
    seeded.delete(original.id)
    assert seeded.get("copy-a").duplicate_of is None
    assert seeded.get("copy-b").duplicate_of == "copy-a"
    only = SearchFilters(exclude_duplicates=True)
    found = {
        h.citation.document_id
        for h in seeded.search(SearchQuery(original.text[:200], k=20, filters=only))
    }
    assert "copy-a" in found and "copy-b" not in found  # the story is still found once


def test_an_original_rewritten_to_another_text_frees_its_copy(seeded: SearchEngine) -> None:
    seeds = _seeds()
    seeded.upsert([_syndicated(seeds[0], "copy-a")])
    seeded.upsert(
        [DocumentInput(text="A different story about tides in the harbour. " * 20, id=seeds[0].id)]
    )
    assert seeded.get("copy-a").duplicate_of is None
    # and a copy whose own text changes to another story is no copy any more
    seeded.upsert([_syndicated(seeds[1], "copy-b")])
    assert seeded.get("copy-b").duplicate_of == seeds[1].id
    seeded.upsert([DocumentInput(text="Weather report for the coast. " * 30, id="copy-b")])
    assert seeded.get("copy-b").duplicate_of is None


def test_a_quotation_inside_a_longer_article_is_no_copy() -> None:
    article = _seeds()[0].text
    paragraph = max(article.split("\n\n"), key=len)
    assert not is_copy(fingerprint(paragraph), fingerprint(article))
    rewrapped = textwrap.fill(article, 60)
    assert fingerprint(rewrapped).signature.tolist() == fingerprint(article).signature.tolist()


def test_a_snapshot_restores_the_links_as_they_were(
    make_engine: MakeEngine, tmp_path: Path
) -> None:
    source = make_engine()
    original = _seeds()[2]
    # the copy's id sorts first: found again in the restore's id order it would be the original
    source.upsert([DocumentInput(text=original.text, id="z-original")])
    source.upsert([_syndicated(original, "a-copy")])
    assert source.get("a-copy").duplicate_of == "z-original"
    source.snapshot(tmp_path / "links.tar")
    source.restore(tmp_path / "links.tar", collection="default", as_name="restored")
    assert source.get("a-copy", collection="restored").duplicate_of == "z-original"
    assert source.get("z-original", collection="restored").duplicate_of is None


def test_documents_stored_before_are_fingerprinted_when_the_store_upgrades(
    make_engine: MakeEngine, database_url: str | None
) -> None:
    original = _seeds()[3]
    engine = make_engine()
    engine.upsert([original])
    engine.close()
    if database_url is None:  # the collection's SQLite file, at the release before
        path = engine.config.storage.data_dir / "store.sqlite3"  # type: ignore[union-attr]
        store = sqlite_engine(path)
        embedded_schema.downgrade(store, embedded_schema.STORE, "s0002")
        store.dispose()
    else:
        postgres_schema.downgrade(database_url, "0005")
    reopened = make_engine()  # upgrades: the stored document gets its fingerprint
    reopened.upsert([_syndicated(original, "later-copy")])
    assert reopened.get("later-copy").duplicate_of == original.id
    assert reopened.get(original.id).duplicate_of is None
