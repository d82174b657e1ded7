"""The search box's operators: "cat -dog", "cat NOT dog", "cat OR kitten", 「猫 -犬」 — read from the
query, applied by keyword channels (the word is in the photo's captions) and meaning channels
(caption vectors: the photo is more like what is excluded than what was asked), and explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shashin import Library
from shashin.search.logic import QueryLogic, split_logic
from tests.search.captioned import captioned_library


@pytest.mark.parametrize(
    ("query", "branches", "excluded"),
    [
        ("cat -dog", ("cat",), ("dog",)),
        ("cat NOT dog", ("cat",), ("dog",)),
        ("cat OR kitten", ("cat", "kitten"), ()),
        ("cat | kitten -dog", ("cat", "kitten"), ("dog",)),
        ("猫 -犬", ("猫",), ("犬",)),
        ("猫 または 子猫 －犬", ("猫", "子猫"), ("犬",)),
        ('"wet floor" -"red car"', ('"wet floor"',), ('"red car"',)),
    ],
)
def test_operators_are_read(query: str, branches: tuple[str, ...], excluded: tuple[str, ...]) -> None:
    assert split_logic(query) == QueryLogic(branches, excluded)


@pytest.mark.parametrize("query", ["t-shirt", "NO LITTER", "not a cat, or a dog", "-5 degrees", "cat OR", "e-mail"])
def test_words_that_look_like_operators_stay_words(query: str) -> None:
    logic = split_logic(query)
    assert logic.plain and logic.branches == (query,)


CAPTIONS = {
    "sofa.png": ("a cat sleeping on a sofa", "ソファで眠る猫"),
    "park.png": ("a dog running in a park", "公園を走る犬"),
    "both.png": ("a cat and a dog on the grass", "芝生の上の猫と犬"),
    "kitten.png": ("a small kitten playing with yarn", "毛糸で遊ぶ子猫"),
    "street.png": ("a red car on a city street", "街の通りの赤い車"),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    captions = {name: [(english, "en"), (japanese, "ja")] for name, (english, japanese) in CAPTIONS.items()}
    return captioned_library(tmp_path_factory.mktemp("logic"), captions)


def _names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(Path(r.path).name for r in response.results)


def test_exclusion_removes_the_photos_with_the_word_and_says_so(library: Library) -> None:
    for query in ("cat -dog", "cat NOT dog", "猫 -犬"):
        found = library.search(query)
        assert "both.png" not in _names(found) and "sofa.png" in _names(found), query
        [removal] = found.removed
        assert removal.by[_id(library, "both.png")] == "caption"  # the word is in its captions
        assert any(line.startswith("not: ") for line in found.understood)
    document = library.search("cat -dog").to_dict()
    assert document["excluded"][0]["term"] == "dog" and document["excluded"][0]["removed"] >= 1


def test_meaning_exclusion_removes_what_is_more_like_the_excluded_concept(library: Library) -> None:
    """Caption vectors: the park dog is a candidate for "pet animal" and is clearly more like "puppy
    running outside" (0.92) than like "pet animal" (0.87): removed (by more than the margin, 0.03);
    the cats and the car are not (each at most 0.001 more like it)."""
    # every candidate, weak ones included: what the exclusion removes is the point here
    everything = library.search("pet animal", everything=True)
    assert "park.png" in _names(everything)
    found = library.search('pet animal -"puppy running outside"', everything=True)  # only meaning can remove
    [removal] = found.removed
    assert removal.by.get(_id(library, "park.png")) == "caption_vector"
    assert "park.png" not in _names(found) and "sofa.png" in _names(found)


def _id(library: Library, name: str) -> str:
    from shashin.store import Store

    return next(row.photo_id for path, row in Store(library.path, create=False).files().items() if path.endswith(name))


def test_alternatives_find_either_and_say_which(library: Library) -> None:
    found = library.search("sofa OR yarn")
    assert _names(found)[:2] == ["kitten.png", "sofa.png"] or {"kitten.png", "sofa.png"} <= set(_names(found))
    by_name = {Path(r.path).name: r.found_by for r in found.results}
    assert by_name["sofa.png"] == ("sofa",) and by_name["kitten.png"] == ("yarn",)
    assert found.searched == "sofa OR yarn" and "any of: sofa | yarn" in found.understood
    assert found.to_dict()["results"][0]["found_by"]


def test_literal_turns_the_operators_off(library: Library) -> None:
    found = library.search("cat -dog", parse=False)
    assert not found.removed and "both.png" in _names(found)


def test_eval_judges_an_exclusion_as_the_user_gets_it(library: Library, tmp_path: Path) -> None:
    """`shashin eval` query files may hold "cat -dog": every ranking is scored without what was left out."""
    from shashin.evaluation.queries import load_queries

    path = tmp_path / "queries.jsonl"
    path.write_text(json.dumps({"query": "cat -dog", "relevant": ["sofa.png"], "lang": "en"}) + "\n")
    run = library.evaluation.run(load_queries(path, library.open_store()))
    [result] = run.results
    both = _id(library, "both.png")
    assert all(both not in [hit.photo_id for hit in hits] for hits in result.hits.values())
    assert result.scores["fused"]["mrr"] == 1.0
