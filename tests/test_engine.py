"""index/engine.py (with store.py and vectors.py under it) on real files in tmp dirs."""

from __future__ import annotations

import math
import shutil
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from index.backends.embedded.vectors import VectorIndex
from index.engine import SearchEngine
from index.errors import DocumentNotFoundError, InputTooLargeError, InvalidInputError
from index.models import DocumentInput, SearchFilters, SearchMode, UpsertStatus
from index.queries import SearchQuery
from index.sources import expand_paths, read_documents
from tests.markers import embedded_only

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
EXAMPLE_QUERY = "suicide bombing outside the Islamabad district courts"
BOMBING_ARTICLE = "003_997123c907f1ca25"

MakeEngine = Callable[..., SearchEngine]


def _seed_documents() -> list[DocumentInput]:
    return [d for path in expand_paths([SEEDS]) for d in read_documents(path)]


@pytest.fixture
def seeded(make_engine: MakeEngine) -> SearchEngine:
    engine = make_engine()
    assert engine.seed(_seed_documents()) is not None
    return engine


def _assert_exact_citations(engine: SearchEngine, query: str, k: int = 10) -> None:
    for hit in engine.search(SearchQuery(query, k)):
        document = engine.get(hit.citation.document_id)
        assert document.text[hit.citation.char_start : hit.citation.char_end] == hit.text
        assert hit.citation.title == document.title
        assert hit.citation.source == document.source


def test_example_query_finds_the_bombing_article_first(seeded: SearchEngine) -> None:
    hits = seeded.search(SearchQuery(EXAMPLE_QUERY, k=3))
    assert hits[0].citation.document_id == BOMBING_ARTICLE
    assert hits[0].citation.title == (
        "Pakistan, China Boost Counter-Terrorism Cooperation After Blast Kills 12"
    )
    assert hits[0].citation.published_at == date(2025, 11, 18)
    assert "district courts" in hits[0].text
    assert hits == sorted(hits, key=lambda h: -h.score)


@pytest.mark.parametrize(
    "query", [EXAMPLE_QUERY, "Iran Pakistan dialogue", "The Resistance Front", "IS video Xinjiang"]
)
def test_every_citation_is_exact(seeded: SearchEngine, query: str) -> None:
    _assert_exact_citations(seeded, query)


def test_stats_count_documents_chunks_and_vectors(seeded: SearchEngine, backend_kind: str) -> None:
    stats = seeded.stats()
    assert stats.documents == 5
    assert stats.chunks == stats.vectors > 5
    assert stats.dimension == 384
    if backend_kind == "embedded":
        assert (stats.index_type, stats.backend, stats.database) == ("flat-ip", "embedded", None)
    else:
        assert (stats.index_type, stats.backend) == ("hnsw-cosine (pgvector)", "postgresql")
        assert stats.database is not None and stats.database.startswith("postgresql://")


def test_seeding_happens_once(seeded: SearchEngine) -> None:
    seeded.delete(BOMBING_ARTICLE)
    assert seeded.seed(_seed_documents()) is None
    assert seeded.stats().documents == 4


def test_unchanged_text_is_not_re_embedded(seeded: SearchEngine) -> None:
    before = {h.chunk_id for h in seeded.search(SearchQuery(EXAMPLE_QUERY, k=100))}
    results = seeded.upsert(_seed_documents())
    assert {r.status for r in results} == {UpsertStatus.UNCHANGED}
    assert all(r.chunk_count > 0 for r in results)
    # Same chunk ids: nothing was deleted and re-inserted.
    assert {h.chunk_id for h in seeded.search(SearchQuery(EXAMPLE_QUERY, k=100))} == before


def test_metadata_change_updates_without_re_embedding(seeded: SearchEngine) -> None:
    original = seeded.get(BOMBING_ARTICLE)
    chunk_ids = {h.chunk_id for h in seeded.search(SearchQuery(EXAMPLE_QUERY, k=100))}
    changed = DocumentInput(
        id=original.id,
        text=original.text,
        title=original.title,
        url="https://example.org/a",
        source="Another Source",
    )
    assert seeded.upsert([changed])[0].status is UpsertStatus.UPDATED
    assert {h.chunk_id for h in seeded.search(SearchQuery(EXAMPLE_QUERY, k=100))} == chunk_ids
    hit = seeded.search(SearchQuery(EXAMPLE_QUERY, k=1))[0]
    assert hit.citation.source == "Another Source" and hit.citation.url == "https://example.org/a"


def test_title_change_re_embeds_because_titles_head_the_chunk_vectors(
    seeded: SearchEngine,
) -> None:
    original = seeded.get(BOMBING_ARTICLE)
    before = {h.chunk_id for h in seeded.search(SearchQuery(EXAMPLE_QUERY, k=100))}
    changed = DocumentInput(id=original.id, text=original.text, title="New title")
    assert seeded.upsert([changed])[0].status is UpsertStatus.UPDATED
    after = seeded.search(SearchQuery(EXAMPLE_QUERY, k=100))
    assert {h.chunk_id for h in after} != before
    assert after[0].citation.title == "New title"


def test_added_document_is_searchable_at_once_and_gone_after_delete(
    seeded: SearchEngine,
) -> None:
    text = "A giant panda named Mei Lin was born at the Chengdu breeding centre in spring."
    result = seeded.upsert([DocumentInput(text=text, source="Zoo News")])[0]
    assert result.status is UpsertStatus.CREATED and result.chunk_count == 1
    hit = seeded.search(SearchQuery("panda cub born in Chengdu", k=1))[0]
    assert hit.citation.document_id == result.id and hit.text == text
    seeded.delete(result.id)
    assert all(
        h.citation.document_id != result.id for h in seeded.search(SearchQuery("panda", k=100))
    )
    with pytest.raises(DocumentNotFoundError):
        seeded.get(result.id)
    with pytest.raises(DocumentNotFoundError):
        seeded.delete(result.id)


def test_changed_text_replaces_old_chunks(seeded: SearchEngine) -> None:
    seeded.upsert([DocumentInput(id="doc", text="Volcanic eruption in Iceland closes airports.")])
    seeded.upsert([DocumentInput(id="doc", text="A chess tournament opens in Oslo.")])
    hits = [
        h
        for h in seeded.search(SearchQuery("volcano eruption", k=100))
        if h.citation.document_id == "doc"
    ]
    assert [h.text for h in hits] == ["A chess tournament opens in Oslo."]


def test_a_bad_batch_writes_nothing(seeded: SearchEngine) -> None:
    before = seeded.stats()
    good = DocumentInput(id="good", text="Perfectly fine text.")
    for bad, field in [
        (DocumentInput(id="bad/../id", text="x"), "documents[1].id"),
        (DocumentInput(id="good", text="duplicate id"), "documents[1].id"),
        (DocumentInput(id="empty", text=" \n\u00a0 "), "documents[1].text"),
    ]:
        with pytest.raises(InvalidInputError) as error:
            seeded.upsert([good, bad])
        assert error.value.field == field
    assert seeded.stats() == before
    with pytest.raises(DocumentNotFoundError):
        seeded.get("good")


@embedded_only
def test_restart_keeps_everything_without_re_embedding(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.seed(_seed_documents())
    hits = engine.search(SearchQuery(EXAMPLE_QUERY, k=5))
    engine.close()
    index_file = engine.config.storage.data_dir / "vectors.faiss"
    saved = index_file.stat().st_mtime_ns
    reopened = make_engine()
    assert index_file.stat().st_mtime_ns == saved  # loaded as saved, not rebuilt
    assert reopened.search(SearchQuery(EXAMPLE_QUERY, k=5)) == hits
    assert reopened.stats().documents == 5


@embedded_only
def test_the_index_turns_ivf_on_the_write_that_crosses_the_threshold(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(ivf_min_vectors=100)
    engine.seed(_seed_documents())
    chunks = engine.stats().chunks
    assert chunks < 100 and engine.stats().index_type == "flat-ip"
    exact = engine.search(SearchQuery(EXAMPLE_QUERY, k=5, mode=SearchMode.DENSE))
    extra = [
        DocumentInput(id=f"filler-{n}", text=f"Filler note {n} about the weather. " * 30)
        for n in range(100 - chunks)
    ]
    engine.upsert(extra)
    assert engine.stats().index_type.startswith("ivf")
    assert engine.stats().vectors == engine.stats().chunks >= 100
    # The fillers are far from the query: the same five chunks, now found through IVF.
    assert engine.search(SearchQuery(EXAMPLE_QUERY, k=5, mode=SearchMode.DENSE)) == exact
    engine.delete(BOMBING_ARTICLE)
    assert BOMBING_ARTICLE not in {
        h.citation.document_id for h in engine.search(SearchQuery(EXAMPLE_QUERY))
    }
    assert engine.check().ok
    engine.close()
    reopened = make_engine(ivf_min_vectors=100)
    assert reopened.stats().index_type.startswith("ivf") and reopened.check().ok
    _assert_exact_citations(reopened, EXAMPLE_QUERY)


@embedded_only
def test_a_large_exact_index_is_rebuilt_as_ivf_on_start(make_engine: MakeEngine) -> None:
    engine = make_engine()
    engine.seed(_seed_documents())
    hits = engine.search(SearchQuery(EXAMPLE_QUERY, k=3))
    engine.close()
    reopened = make_engine(ivf_min_vectors=10)
    assert reopened.stats().index_type.startswith("ivf") and reopened.check().ok
    assert reopened.search(SearchQuery(EXAMPLE_QUERY, k=3))[0] == hits[0]


@embedded_only
@pytest.mark.parametrize("damage", ["missing", "truncated", "corrupt", "stale"])
def test_missing_damaged_or_stale_index_is_rebuilt_from_the_store(
    make_engine: MakeEngine, damage: str
) -> None:
    engine = make_engine()
    engine.seed(_seed_documents())
    index_file = engine.config.storage.data_dir / "vectors.faiss"
    old_index = index_file.read_bytes()
    engine.upsert([DocumentInput(id="late", text="Flooding hits the Swat valley after rains.")])
    hits = engine.search(SearchQuery("floods in Swat", k=5))
    engine.close()
    if damage == "missing":
        index_file.unlink()
    elif damage == "truncated":
        index_file.write_bytes(index_file.read_bytes()[:100])
    elif damage == "corrupt":  # a valid header, then garbage where FAISS's data should be
        index_file.write_bytes(index_file.read_bytes()[:16] + bytes(range(256)) * 64)
    else:
        index_file.write_bytes(old_index)  # a snapshot from before the last write
    reopened = make_engine()
    assert reopened.search(SearchQuery("floods in Swat", k=5)) == hits
    assert reopened.stats().vectors == reopened.stats().chunks


@embedded_only
def test_a_failed_index_save_keeps_the_writes_and_the_next_start_catches_up(
    make_engine: MakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine()
    engine.seed(_seed_documents())
    engine.close()  # the index file is saved as it closes
    engine = make_engine()
    blocker = engine.config.storage.data_dir / "vectors.faiss.tmp"
    blocker.mkdir()  # the save cannot open its temporary file: a real OSError
    engine.upsert([DocumentInput(id="late", text="Flooding hits the Swat valley after rains.")])
    hits = engine.search(SearchQuery("floods in Swat", k=5))
    assert hits[0].citation.document_id == "late"  # served from memory
    engine.close()
    assert "could not save the vector index" in caplog.text
    blocker.rmdir()
    blocker.write_bytes(b"half a save")  # and a save cut off by a crash is cleared on start
    caplog.clear()
    reopened = make_engine()
    assert not blocker.exists()
    assert "vector index brought from generation" in caplog.text  # not rebuilt
    assert reopened.search(SearchQuery("floods in Swat", k=5)) == hits
    assert reopened.check().ok


@embedded_only
def test_writes_leave_the_index_file_alone_and_a_lagging_file_is_caught_up(
    make_engine: MakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """A write answers without rewriting the vector index file; the file is saved on close
    (or after enough changes), and a start that finds it behind the store (a crash came
    first) applies the chunks added and removed since, without rebuilding it. The SIGKILL
    rounds of test_crash.py prove the same through a real server."""
    engine = make_engine()
    engine.seed(_seed_documents())
    engine.close()
    index_file = engine.config.storage.data_dir / "vectors.faiss"
    saved = index_file.read_bytes()
    engine = make_engine()
    engine.upsert([DocumentInput(id="late", text="Flooding hits the Swat valley after rains.")])
    engine.delete(BOMBING_ARTICLE)
    assert index_file.read_bytes() == saved  # neither write touched it
    hits = engine.search(SearchQuery("floods in Swat", k=10))
    chunks = engine.stats().chunks
    engine.close()
    assert index_file.read_bytes() != saved  # saved as it closed
    index_file.write_bytes(saved)  # as a crash before that save would have left it
    reopened = make_engine()
    assert "vector index brought from generation" in caplog.text  # one added, one removed
    assert reopened.search(SearchQuery("floods in Swat", k=10)) == hits
    assert reopened.stats().vectors == reopened.stats().chunks == chunks
    assert reopened.check().ok


@embedded_only
def test_the_saver_saves_the_index_file_once_enough_changes_pile_up(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(vector_save_changes=1, ivf_min_vectors=10_000)
    engine.seed(_seed_documents())
    index_file = engine.config.storage.data_dir / "vectors.faiss"
    before = _settled_mtime(index_file)  # the seed's own save, which may still be under way
    # More chunks than a quarter of the index: due whatever the seed's save left counted.
    text = " ".join(f"Flooding hits the Swat valley, report {n}." for n in range(400))
    engine.upsert([DocumentInput(id="late", text=text)])
    assert engine.get("late").chunk_count > engine.stats().chunks // 4
    deadline = time.monotonic() + 30
    while (index_file.stat().st_mtime_ns if index_file.exists() else None) == before:
        assert time.monotonic() < deadline, "the saver never saved the index file"
        time.sleep(0.05)
    loaded = VectorIndex.load(index_file, engine.stats().dimension)
    assert loaded is not None and len(loaded[0]) <= engine.stats().chunks


def _settled_mtime(path: Path, quiet: float = 1.0) -> int | None:
    """The file's mtime once it has not changed for ``quiet`` seconds."""
    last = path.stat().st_mtime_ns if path.exists() else None
    steady_since = time.monotonic()
    while time.monotonic() - steady_since < quiet:
        time.sleep(0.05)
        now = path.stat().st_mtime_ns if path.exists() else None
        if now != last:
            last, steady_since = now, time.monotonic()
    return last


@embedded_only
@pytest.mark.parametrize("damage", ["missing", "corrupt", "truncated", "stale", "unrecorded"])
def test_missing_damaged_or_stale_lexical_index_is_rebuilt_from_the_store(
    make_engine: MakeEngine, damage: str
) -> None:
    engine = make_engine()
    engine.seed(_seed_documents())
    lexical = engine.config.storage.data_dir / "lexical"
    before_last_write = engine.config.storage.data_dir / "lexical-before"
    shutil.copytree(lexical, before_last_write)
    engine.upsert([DocumentInput(id="late", text="Flooding hits the Swat valley after rains.")])
    hits = engine.search(SearchQuery("floods in Swat", k=5, mode=SearchMode.LEXICAL))
    assert hits[0].citation.document_id == "late"
    engine.close()
    if damage == "missing":
        shutil.rmtree(lexical)
    elif damage == "corrupt":
        (lexical / "meta.json").write_text("{not json")
    elif damage == "truncated":  # every segment's postings cut in half
        for postings in lexical.glob("*.idx"):
            postings.write_bytes(postings.read_bytes()[: postings.stat().st_size // 2])
    elif damage == "stale":  # a snapshot from before the last write, with its record
        shutil.rmtree(lexical)
        before_last_write.rename(lexical)
    else:  # the last write committed to the index, the crash came before its record
        (lexical / "generation").write_text((before_last_write / "generation").read_text())
    reopened = make_engine()
    assert reopened.search(SearchQuery("floods in Swat", k=5, mode=SearchMode.LEXICAL)) == hits
    assert reopened.check().ok


@embedded_only
def test_a_failed_lexical_update_keeps_the_write_and_fts5_answers_until_a_restart(
    make_engine: MakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine()
    engine.seed(_seed_documents())
    lexical = engine.config.storage.data_dir / "lexical"
    shutil.rmtree(lexical)  # the index's commit cannot write its files: a real OSError
    lexical.write_text("not a directory")
    engine.upsert([DocumentInput(id="late", text="Flooding hits the Swat valley after rains.")])
    assert "could not update the lexical index" in caplog.text
    hits = engine.search(SearchQuery("floods in Swat", k=5, mode=SearchMode.LEXICAL))
    assert hits[0].citation.document_id == "late"  # from the store's FTS5 index
    assert engine.check().ok
    engine.close()
    lexical.unlink()
    reopened = make_engine()
    assert (lexical / "generation").exists()  # rebuilt
    assert [
        h.chunk_id
        for h in reopened.search(SearchQuery("floods in Swat", 5, mode=SearchMode.LEXICAL))
    ] == [h.chunk_id for h in hits]
    assert reopened.check().ok


def test_a_query_of_stop_words_only_still_finds_the_text_holding_them(
    make_engine: MakeEngine,
) -> None:
    """Lexical search drops the commonest function words unless nothing else is left, and
    every other word counts ("not" too), alike on both backends."""
    engine = make_engine()
    engine.upsert(
        [
            DocumentInput(id="hamlet", text="To be, or not to be, that is the question."),
            DocumentInput(id="tides", text="Spring tides follow the new moon."),
        ]
    )

    def found(query: str) -> list[str]:
        hits = engine.search(SearchQuery(query, 5, mode=SearchMode.LEXICAL))
        return [hit.citation.document_id for hit in hits]

    assert found("to be or not to be") == ["hamlet"]  # "not" is the one word looked for
    assert found("that is the") == ["hamlet", "tides"]  # only stop words: all of them
    assert found("the") == ["tides", "hamlet"]  # the shorter text first


@embedded_only
def test_unfiltered_and_filtered_lexical_search_rank_alike(seeded: SearchEngine) -> None:
    """Unfiltered lexical search reads the top-k index, filtered search FTS5: the same BM25,
    so a filter every document passes changes neither the order nor (much) the scores."""
    everything = SearchFilters(document_ids=[d.id or "" for d in _seed_documents()])
    for query in [EXAMPLE_QUERY, "Iran Pakistan dialogue", "The Resistance Front"]:
        top = seeded.search(SearchQuery(query, 5, mode=SearchMode.LEXICAL))
        filtered = seeded.search(SearchQuery(query, 5, everything, mode=SearchMode.LEXICAL))
        assert [h.chunk_id for h in top[:3]] == [h.chunk_id for h in filtered[:3]]
        for mine, theirs in zip(top, filtered, strict=True):
            assert mine.score == pytest.approx(theirs.score, abs=0.05)


def test_searches_run_during_a_long_ingest_and_never_see_half_a_batch(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine()
    engine.seed(_seed_documents())
    batch = [
        DocumentInput(id=f"bulk-{n}", text=f"Quokka census {n}: rangers counted {n} quokkas.")
        for n in range(60)
    ]
    ingest = threading.Thread(target=engine.upsert, args=(batch,))
    ingest.start()
    seen_during: list[int] = []
    while ingest.is_alive():
        hits = engine.search(SearchQuery("quokka census", k=200, mode=SearchMode.LEXICAL))
        if ingest.is_alive():  # this search ran while the batch was being embedded or written
            seen_during.append(len({h.citation.document_id for h in hits}))
    ingest.join()
    assert len(seen_during) >= 5, "searches waited for the ingest"
    assert set(seen_during) <= {0, len(batch)}, "a search saw part of a batch"
    assert len(engine.search(SearchQuery("quokka census", k=200, mode=SearchMode.LEXICAL))) == len(
        batch
    )


def test_filters_apply_before_ranking(seeded: SearchEngine) -> None:
    only = SearchFilters(sources=["South China Morning Post"])
    hits = seeded.search(SearchQuery(EXAMPLE_QUERY, k=5, filters=only))
    assert len(hits) == 5
    assert {h.citation.source for h in hits} == {"South China Morning Post"}
    by_id = seeded.search(
        SearchQuery(
            EXAMPLE_QUERY, k=3, filters=SearchFilters(document_ids=["002_887aa636a02893d9"])
        )
    )
    assert len(by_id) == 3 and {h.citation.document_id for h in by_id} == {"002_887aa636a02893d9"}
    dated = SearchFilters(published_after=date(2025, 7, 1), published_before=date(2025, 7, 31))
    assert {
        h.citation.document_id for h in seeded.search(SearchQuery(EXAMPLE_QUERY, 10, dated))
    } == {"000_3c7ebb3e2dcb0c6d"}
    assert seeded.search(SearchQuery(EXAMPLE_QUERY, 10, SearchFilters(sources=["nobody"]))) == []


def test_metadata_filter_is_typed_equality(seeded: SearchEngine) -> None:
    seeded.upsert(
        [
            DocumentInput(
                id="a", text="Earthquake shakes Quetta.", metadata={"lang": "en", "n": 1}
            ),
            DocumentInput(id="b", text="Earthquake shakes Quetta again.", metadata={"n": "1"}),
            DocumentInput(id="c", text="Earthquake in Quetta, third.", metadata={"flag": True}),
        ]
    )

    def ids(metadata: dict[str, str | int | float | bool]) -> set[str]:
        hits = seeded.search(SearchQuery("earthquake", 10, SearchFilters(metadata=metadata)))
        return {h.citation.document_id for h in hits}

    assert ids({"lang": "en"}) == {"a"}
    assert ids({"n": 1}) == {"a"}
    assert ids({"n": "1"}) == {"b"}
    assert ids({"flag": True}) == {"c"}
    assert ids({"lang": "en", "n": 2}) == set()


def test_bad_queries_name_the_field(seeded: SearchEngine) -> None:
    with pytest.raises(InvalidInputError) as error:
        seeded.search(SearchQuery("   \u00a0", k=3))
    assert error.value.field == "query"
    with pytest.raises(InvalidInputError) as error:
        seeded.search(SearchQuery("x", k=0))
    assert error.value.field == "k"
    reversed_range = SearchFilters(
        published_after=date(2025, 2, 1), published_before=date(2025, 1, 1)
    )
    with pytest.raises(InvalidInputError) as error:
        seeded.search(SearchQuery("x", k=3, filters=reversed_range))
    assert error.value.field == "filters.published_after"


def test_list_paginates_and_filters_by_source(seeded: SearchEngine) -> None:
    first = seeded.list_documents(offset=0, limit=2)
    second = seeded.list_documents(offset=2, limit=10)
    assert first.total == 5 and len(first.items) == 2 and len(second.items) == 3
    assert [d.id for d in first.items + second.items] == sorted(
        d.id for d in first.items + second.items
    )
    scmp = seeded.list_documents(source="South China Morning Post")
    assert [d.id for d in scmp.items] == ["004_db4c7fad71d2f913"] and scmp.total == 1
    assert all(d.char_count > 0 and d.chunk_count > 0 for d in first.items)


def test_chunking_settings_are_validated(make_engine: MakeEngine) -> None:
    with pytest.raises(InvalidInputError):
        make_engine(chunk_tokens=300)
    with pytest.raises(InvalidInputError):
        make_engine(chunk_tokens=64, chunk_overlap_tokens=64)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (DocumentInput(id="abc\n", text="x"), "documents[0].id"),  # `$` matched before "\n"
        (DocumentInput(text="x", metadata={"score": math.nan}), "documents[0].metadata.score"),
        (DocumentInput(text="x", metadata={"n": 2**53}), "documents[0].metadata.n"),
        (DocumentInput(text="x", metadata={"v": "v\ud800"}), "documents[0].metadata.v"),
        (DocumentInput(text="x", metadata={'a"b': 1}), "documents[0].metadata"),
        (DocumentInput(text="x", metadata={"l": [1]}), "documents[0].metadata.l"),  # type: ignore[dict-item]
        (
            DocumentInput(text="x", metadata={f"k{n}": n for n in range(65)}),
            "documents[0].metadata",
        ),
        (DocumentInput(text="x", source="s\udfff"), "documents[0].source"),
    ],
)
def test_what_could_not_be_read_back_is_never_stored(
    seeded: SearchEngine, document: DocumentInput, field: str
) -> None:
    """The engine's own check, for callers without the HTTP schema (the CLI's .jsonl)."""
    before = seeded.stats()
    with pytest.raises(InvalidInputError) as error:
        seeded.upsert([document])
    assert error.value.field == field
    assert seeded.stats() == before
    # Filters obey the same bounds instead of failing inside SQLite.
    with pytest.raises(InvalidInputError):
        seeded.search(
            SearchQuery("x", filters=SearchFilters(metadata={f"k{n}": n for n in range(300)}))
        )


def test_the_length_limit_holds_for_the_normalised_text(make_engine: MakeEngine) -> None:
    engine = make_engine()
    with pytest.raises(InputTooLargeError) as error:
        engine.upsert([DocumentInput(text="\ufdfa" * 1_000)], max_chars=10_000)  # 18,000 NFKC
    assert error.value.field == "documents[0].text"
    with pytest.raises(InputTooLargeError):
        engine.upsert([DocumentInput(text="x" * 10_001)], max_chars=10_000)
    engine.upsert([DocumentInput(text="\ufdfa" * 500)], max_chars=10_000)  # 9,000 fits
    assert engine.stats().documents == 1


@embedded_only
def test_the_data_directory_is_private(make_engine: MakeEngine, tmp_path: Path) -> None:
    make_engine().close()
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    (tmp_path / "data").chmod(0o755)  # an existing one loses what others could do
    make_engine()
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o750


def test_metadata_numbers_compare_as_numbers(seeded: SearchEngine) -> None:
    seeded.upsert(
        [
            DocumentInput(id="float-two", text="A reading of two.", metadata={"w": 2.0}),
            DocumentInput(id="int-three", text="A reading of three.", metadata={"w": 3}),
            DocumentInput(id="text-two", text="A reading in text.", metadata={"w": "2"}),
        ]
    )

    def ids(value: object) -> set[str]:
        filters = SearchFilters(metadata={"w": value})  # type: ignore[dict-item]
        return {
            h.citation.document_id
            for h in seeded.search(SearchQuery("reading", k=10, filters=filters))
        }

    assert ids(2) == ids(2.0) == {"float-two"}  # JSON has one number type
    assert ids(3.0) == {"int-three"}
    assert ids("2") == {"text-two"}  # a string never equals a number
    assert ids(True) == set()


def test_pages_are_cleaned_one_by_one_and_cited_by_where_they_start(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine(chunk_tokens=16, chunk_overlap_tokens=0)  # about a sentence
    pages = [
        "Tidal  gauges were\u00a0installed at the harbour mouth in January.",
        "Share this on Facebook",  # page chrome only: the page cleans to nothing
        "Pilots reported calmer water after the new breakwater was finished.",
        "The ferry timetable changes on the first of May.",
        "",
    ]
    raw, starts = "", []
    for page in pages:
        starts.append(len(raw))
        raw += page + "\n\n"
    document = DocumentInput(id="p", text=raw, format="pdf", page_starts=tuple(starts))
    engine.upsert([document])
    stored = engine.get("p")
    assert stored.format == "pdf" and stored.pages == 5
    assert stored.text == (
        "Tidal gauges were installed at the harbour mouth in January.\n\n"
        "Pilots reported calmer water after the new breakwater was finished.\n\n"
        "The ferry timetable changes on the first of May."
    )
    third = stored.text.index("Pilots")
    fourth = stored.text.index("The ferry")
    # The empty page starts where the next page's text does; the trailing one at the end.
    assert stored.page_starts == (0, third, third, fourth, len(stored.text))
    [hit] = engine.search(SearchQuery("calmer water for pilots at the breakwater", 1))
    assert (hit.citation.page, hit.citation.page_end) == (3, 3)
    assert stored.text[hit.citation.char_start : hit.citation.char_end] == hit.text
    [ferry] = engine.search(SearchQuery("ferry timetable", 1, mode=SearchMode.LEXICAL))
    assert ferry.citation.page == 4
    # The same text cut into other pages is a change; no pages at all is too.
    shifted = DocumentInput(id="p", text=raw, format="pdf", page_starts=(0, starts[2]))
    assert engine.upsert([shifted])[0].status is UpsertStatus.UPDATED
    assert engine.get("p").page_starts == (0, third)
    plain = engine.upsert([DocumentInput(id="p", text=raw)])[0]
    assert plain.status is UpsertStatus.UPDATED
    assert (engine.get("p").page_starts, engine.get("p").format) == (None, None)
    assert engine.search(SearchQuery("calmer water", 1))[0].citation.page is None


@pytest.mark.parametrize("starts", [(5, 10), (0, 10, 4), (0, 10_000)])
def test_page_starts_must_start_at_zero_and_stay_in_the_text(
    make_engine: MakeEngine, starts: tuple[int, ...]
) -> None:
    engine = make_engine()
    document = DocumentInput(id="p", text="Page one text here. " * 20, page_starts=starts)
    with pytest.raises(InvalidInputError) as raised:
        engine.upsert([document])
    assert raised.value.field == "documents[0].page_starts"
    assert engine.stats().documents == 0
