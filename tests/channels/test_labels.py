"""The labels channel on real photos: found by what they show in English and Japanese, by a
label's own name and by what it is a kind of, explained, and ranked by how probable the label is."""

from __future__ import annotations

from pathlib import Path

import pytest

from shashin import Library
from shashin.channels.labels import LABELS_PER_PHOTO, vocabulary
from shashin.config import load_settings

DOG, PIZZA = "000000442450.jpg", "000000160012.jpg"  # a Leonberger; a pizza on a plate


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Library:
    from tests.conftest import COCO

    if not (COCO / "images").is_dir():
        pytest.skip(f"development photos not found at {COCO}")
    library = Library(
        settings=load_settings({"db": str(tmp_path_factory.mktemp("labels") / "db"), "channels": "labels"})
    )
    library.index([COCO / "images"])
    return library


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [Path(r.path).name for r in response.results]


@pytest.mark.parametrize(
    ("query", "photo"),
    [("dog", DOG), ("犬", DOG), ("Leonberger", DOG), ("pizza", PIZZA), ("ピザ", PIZZA), ("食べ物", PIZZA)],
)
def test_a_photo_is_found_by_what_it_shows_with_nothing_downloaded(labelled: Library, query: str, photo: str) -> None:
    response = labelled.search(query)
    assert photo in names(response)[:3], (query, names(response)[:5])
    found = next(r for r in response.results if r.path.endswith(photo))
    assert "labels" in found.channels
    assert any(h.channel == "labels" and h.spans for h in found.highlights)


def test_labels_rank_by_how_probable_they_are(labelled: Library) -> None:
    response = labelled.search("pizza")
    assert names(response)[0] == PIZZA
    ranked = response.rankings["labels"]
    assert len(ranked) >= 3
    stored = labelled.open_store().channel_rows("labels", ranked, ["tags"])
    held = [sum(t["score"] for t in stored[pid]["tags"] if t["en"].startswith("pizza")) for pid in ranked]
    assert held == sorted(held, reverse=True) and held[0] > 0.5


def test_each_photo_keeps_a_few_labels_and_an_embedding(labelled: Library) -> None:
    store = labelled.open_store()
    rows = store.channel_select("labels", ["photo_id", "tags", "vector"])
    assert len(rows) == 76
    for row in rows:
        assert 0 < len(row["tags"]) <= LABELS_PER_PHOTO
        assert len(row["vector"]) == 1280 and abs(sum(v * v for v in row["vector"]) - 1) < 1e-3


def test_every_class_has_a_name_and_kinds_come_closest_first() -> None:
    labels = vocabulary()
    assert len(labels) == 1000 and all(en for en, _ in labels)
    golden = next(entry for entry in labels if entry[0].startswith("Golden Retriever"))
    assert golden == ("Golden Retriever (dog, animal)", "犬・動物")


def test_similar_answers_from_the_labels_model_when_no_image_model_is_there(labelled: Library, tmp_path: Path) -> None:
    from PIL import Image

    from tests.conftest import COCO

    assert not labelled._image_channel(labelled.open_store()).has_vectors(labelled.open_store())
    in_library = labelled.similar(COCO / "images" / DOG, limit=5)
    assert in_library.results and DOG not in names(in_library)  # the photo itself is not its own match
    assert all(list(r.channels) == ["labels"] for r in in_library.results)
    outside = tmp_path / "copy.jpg"  # a smaller, recompressed copy the library never saw
    with Image.open(COCO / "images" / PIZZA) as photo:
        photo.resize((photo.width // 2, photo.height // 2)).save(outside, quality=70)
    assert names(labelled.similar(outside, limit=5))[0] == PIZZA


def test_what_photos_show_is_a_filter_and_a_facet(labelled: Library) -> None:
    from shashin.search.filters import build_filters

    dogs = labelled.search("", filters=build_filters(shows=["犬"]), limit=50)
    assert DOG in names(dogs) and PIZZA not in names(dogs)
    # "dog" is also a word of other labels (hot dog, dog sled); 犬 is only the kind
    assert set(names(dogs)) <= set(names(labelled.search("", filters=build_filters(shows=["dog"]), limit=50)))
    assert labelled.search("", filters=build_filters(shows=["dog", "pizza"])).results == []  # all of them
    shown = {v.value: v.count for v in labelled.search("pizza", facets=True).facets["shows"]}
    assert shown.get("food", 0) >= 2
