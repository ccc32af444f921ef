"""index/backends/embedded/tantivy_index.py: the top-k lexical index (tantivy) on real files in
tmp dirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.backends.embedded.tantivy_index import TantivyIndex

ROWS = [
    (1, "", "Bombings hit the café near the courts."),
    (2, "Bombing report", "Nothing else is said here."),
    (3, "", "Bread and butter."),
    (10, "quokka", "counted on the island"),
    (11, "", "quokka counted on the island"),
]


@pytest.fixture
def index(tmp_path: Path) -> TantivyIndex:
    built = TantivyIndex(tmp_path / "lexical")
    built.add(ROWS)
    built.commit(1)
    return built


def _ids(index: TantivyIndex, query: str, k: int = 10) -> list[int]:
    return [chunk_id for chunk_id, _ in index.search(query, k)]


def test_words_are_stemmed_and_accents_folded(index: TantivyIndex) -> None:
    assert set(_ids(index, "bombing")) == {1, 2}  # "Bombings" and "Bombing" stem alike
    assert _ids(index, "CAFE") == [1]
    assert _ids(index, "no such word") == []


def test_a_title_word_counts_twice(index: TantivyIndex) -> None:
    # the same words; "quokka" in the title of 10, in the text of 11
    assert _ids(index, "quokka") == [10, 11]


def test_stopwords_are_ignored_unless_the_query_has_nothing_else(index: TantivyIndex) -> None:
    assert _ids(index, "the bread") == [3]
    assert set(_ids(index, "the and")) == {1, 3, 10, 11}


def test_scores_are_positive_best_first_and_k_bounds_them(index: TantivyIndex) -> None:
    hits = index.search("bombing quokka island", 3)
    assert len(hits) == 3
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True) and min(scores) > 0
    assert index.search("bombing", 0) == []


def test_writes_are_invisible_until_committed_and_durable_after(
    index: TantivyIndex, tmp_path: Path
) -> None:
    index.add([(20, "", "Flooding in the Swat valley")])
    index.remove([3])
    assert _ids(index, "flooding") == [] and _ids(index, "bread") == [3]
    index.commit(2)
    assert _ids(index, "flooding") == [20] and _ids(index, "bread") == []
    assert index.ids() == {1, 2, 10, 11, 20} and len(index) == 5
    index.close()
    reopened, generation = TantivyIndex.opened(tmp_path / "lexical")
    assert generation == 2
    assert reopened.ids() == {1, 2, 10, 11, 20}
    assert _ids(reopened, "swat") == [20]


def test_an_index_with_no_record_reflects_no_known_generation(tmp_path: Path) -> None:
    index, generation = TantivyIndex.opened(tmp_path / "lexical")
    assert generation is None and len(index) == 0
    index.add(ROWS)
    index.commit(7)
    index.close()
    (tmp_path / "lexical" / "generation.tmp").write_text("8")  # a record cut off by a crash
    assert TantivyIndex.opened(tmp_path / "lexical")[1] == 7
    assert not (tmp_path / "lexical" / "generation.tmp").exists()


def test_a_damaged_index_is_replaced_by_an_empty_one(index: TantivyIndex, tmp_path: Path) -> None:
    index.close()
    (tmp_path / "lexical" / "meta.json").write_text("{not json")
    reopened, generation = TantivyIndex.opened(tmp_path / "lexical")
    assert generation is None and len(reopened) == 0
    reopened.add(ROWS[:1])
    reopened.commit(1)
    assert _ids(reopened, "courts") == [1]


def test_clear_empties_the_index_at_the_next_commit(index: TantivyIndex) -> None:
    index.clear()
    index.add(ROWS[2:3])
    index.commit(2)
    assert index.ids() == {3}
