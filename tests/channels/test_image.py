"""The image channel in a real library: text→image, photo→photo, tags, duplicates, degradation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shashin import Library
from shashin.channels.base import ChannelQuery
from shashin.channels.image import ImageChannel
from shashin.config import load_settings
from shashin.models.image_text import ImageTextModel
from shashin.store import Store
from tests.conftest import TEXT_PHOTOS, run_cli


def settings(db: Path, model: Path | str, **extra: object):  # type: ignore[no-untyped-def]
    return load_settings({"db": str(db), "image.model": str(model), "channels": "image,phash", **extra})


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory, text_photos: Path) -> Path:
    """The rendered photos plus a smaller, recompressed copy of one and an exact copy of another."""
    folder = tmp_path_factory.mktemp("gallery") / "photos"
    shutil.copytree(text_photos, folder)
    with Image.open(folder / "park/no-litter.jpg") as original:
        smaller = original.resize((original.width // 2, original.height // 2), Image.Resampling.LANCZOS)
        smaller.save(folder / "park/no-litter-small.jpg", quality=60)
    shutil.copy2(folder / "station/tokyo.jpg", folder / "station/tokyo-copy.jpg")
    return folder


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, gallery: Path, tiny_models: dict[str, Path]) -> Library:
    library = Library(settings=settings(tmp_path_factory.mktemp("image-lib") / "db", tiny_models["siglip2-fixres"]))
    report = library.index([gallery])
    assert (
        not report.failed and report.channels["image"].processed == len(TEXT_PHOTOS) + 1
    )  # the exact copy is one photo
    assert report.channels["phash"].processed == len(TEXT_PHOTOS) + 1
    return library


def test_a_photo_vector_finds_the_photo_first(library: Library) -> None:
    store = Store(library.path, create=False)
    image = ImageChannel(library.settings.image)
    for photo_id in list(store.photo_ids())[:5]:
        vector = image.stored_vector(store, photo_id)
        assert vector is not None and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
        assert image.search_vector(store, vector, 3)[0].photo_id == photo_id


def test_resized_recompressed_copy_is_the_nearest_neighbour(library: Library, gallery: Path) -> None:
    results = library.similar(gallery / "park/no-litter.jpg").results
    assert results[0].path == str(gallery / "park/no-litter-small.jpg")
    assert results[0].channels["image"].rank == 1 and results[0].channels["image"].score > 0.95
    assert str(gallery / "park/no-litter.jpg") not in [r.path for r in results]  # not itself


def test_similar_to_a_file_outside_the_library(library: Library, gallery: Path, tmp_path: Path) -> None:
    outside = tmp_path / "query.png"
    with Image.open(gallery / "cafe/menu.gif") as image:
        image.convert("RGB").resize((300, 195)).save(outside)
    results = library.similar(outside).results
    assert results[0].path == str(gallery / "cafe/menu.gif")


def test_text_queries_reach_photos_through_the_image_channel(library: Library) -> None:
    response = library.search("赤いシャツの男性", everything=True)  # a random model's likeness is all weak
    assert response.unavailable == {}
    ranked = [r for r in response.results if "image" in r.channels]
    assert len(ranked) == len(TEXT_PHOTOS) + 1  # every photo has a vector, so every photo is ranked
    scores = [r.channels["image"].score for r in sorted(ranked, key=lambda r: r.channels["image"].rank)]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)


def test_tags_are_stored_and_searchable(library: Library) -> None:
    store = Store(library.path, create=False)
    rows = store.channel_select("image", ["photo_id", "tags", "tag_terms"])
    tagged = [row for row in rows if row["tags"]]
    assert tagged, "no photo got a tag"
    tag = tagged[0]["tags"][0]
    assert set(tag) == {"en", "ja", "score"} and 0.1 <= tag["score"] <= 1
    for word in (tag["en"], tag["ja"]):
        hits = library.search(word).results
        assert any("tags" in r.channels and r.photo_id == tagged[0]["photo_id"] for r in hits), word


def test_duplicates_group_copies_best_first(library: Library, gallery: Path) -> None:
    groups = {tuple(sorted(Path(f.path).name for f in g.files)): g for g in library.duplicates()}
    near = groups[("no-litter-small.jpg", "no-litter.jpg")]
    assert near.files[0].path == str(gallery / "park/no-litter.jpg")  # more pixels: best
    assert near.files[1].hash_distance is not None and near.files[1].hash_distance <= 10
    assert near.files[1].similarity is not None and near.files[1].similarity >= 0.95
    exact = groups[("tokyo-copy.jpg", "tokyo.jpg")]
    assert exact.files[0].photo_id == exact.files[1].photo_id
    assert len(groups) == 2


def test_cli_similar_and_duplicates(library: Library, gallery: Path) -> None:
    similar = json.loads(
        run_cli("similar", str(gallery / "park/no-litter.jpg"), "--db", str(library.path), "--json", check=True).stdout
    )
    assert similar["results"][0]["path"] == str(gallery / "park/no-litter-small.jpg")
    assert similar["results"][0]["channels"]["image"]["rank"] == 1
    groups = json.loads(run_cli("duplicates", "--db", str(library.path), "--json", check=True).stdout)["groups"]
    assert len(groups) == 2 and all(len(group["files"]) == 2 for group in groups)
    text = run_cli("duplicates", "--db", str(library.path), check=True).stdout
    assert "best" in text and "no-litter-small.jpg" in text


def test_new_model_redoes_only_the_image_channel(
    tmp_path: Path, photo_copy: Path, tiny_models: dict[str, Path]
) -> None:
    db = tmp_path / "db"
    first = Library(settings=settings(db, tiny_models["siglip2-fixres"], channels="image,phash,ocr")).index(
        [photo_copy]
    )
    assert first.channels["ocr"].processed == 3
    report = Library(settings=settings(db, tiny_models["clip"], channels="image,phash,ocr")).index()
    assert report.channels["image"].processed == 3
    assert report.channels["ocr"].processed == report.channels["phash"].processed == 0
    # The library remembers the model it was indexed with: "auto" searches use it.
    response = Library(db).search("a dog on the beach", everything=True)  # a random model: every match is weak
    assert any("image" in r.channels for r in response.results)


def test_changed_vocabulary_retags_without_embedding_again(
    tmp_path: Path, photo_copy: Path, tiny_models: dict[str, Path]
) -> None:
    db = tmp_path / "db"
    Library(settings=settings(db, tiny_models["clip"])).index([photo_copy])
    vocabulary = tmp_path / "tags.csv"
    vocabulary.write_text("# english,japanese\nzeppelin,飛行船\nlighthouse,灯台\n", encoding="utf-8")
    report = Library(
        settings=settings(
            db, tiny_models["clip"], **{"image.tags_vocabulary": str(vocabulary), "image.tags_min_score": 0.0}
        )
    ).index()
    assert report.channels["image"].processed == 0 and report.channels["image"].refreshed == 3
    tags = Store(db, create=False).channel_select("image", ["tags"])
    assert all({t["en"] for t in row["tags"]} <= {"zeppelin", "lighthouse"} and row["tags"] for row in tags)
    for word in ("灯台", "lighthouse", "飛行船"):
        assert sum("tags" in r.channels for r in Library(db).search(word).results) == 3


def test_missing_model_leaves_the_other_channels_working(tmp_path: Path, photo_copy: Path) -> None:
    db = tmp_path / "db"
    library = Library(settings=settings(db, tmp_path / "not-downloaded", channels="ocr,image,phash"))
    report = library.index([photo_copy])
    assert "does not exist" in (report.channels["image"].unavailable or "")
    assert report.channels["ocr"].processed == 3 and report.channels["phash"].processed == 3
    assert not report.failed
    response = Library(db).search("ポイ捨て")
    assert response.results[0].path == str(photo_copy / "park/no-litter.jpg")
    status = {c.name: c for c in Library(db).status().channels}
    assert status["image"].pending == 3 and "does not exist" in (status["image"].unavailable or "")


def test_workers_and_in_process_store_the_same_vectors(
    tmp_path: Path, photo_copy: Path, tiny_models: dict[str, Path]
) -> None:
    vectors = []
    for workers in (0, 2):
        db = tmp_path / f"db{workers}"
        Library(settings=settings(db, tiny_models["siglip2-naflex"], workers=workers)).index([photo_copy])
        rows = Store(db, create=False).channel_select("image", ["photo_id", "vector"])
        vectors.append({row["photo_id"]: np.asarray(row["vector"]) for row in rows})
    assert vectors[0].keys() == vectors[1].keys()
    for photo_id, vector in vectors[0].items():
        assert float(vector @ vectors[1][photo_id]) >= 0.9999


def test_default_model_choice(tiny_models: dict[str, Path]) -> None:
    from shashin.models.image_text import DEFAULT_CPU_MODEL, DEFAULT_GPU_MODEL, default_model

    assert default_model("cpu") == DEFAULT_CPU_MODEL == "google/siglip2-base-patch16-256"
    assert default_model("cuda") == DEFAULT_GPU_MODEL == "google/siglip2-large-patch16-256"
    assert ImageTextModel(str(tiny_models["clip"]), device="cpu").batch_size == 32


def test_leave_one_out_photo_to_photo_evaluation(library: Library) -> None:
    """The --similar protocol: each photo of a folder with others asks for them; park/ holds a
    photo and its half-size copy, which the image vectors must find first."""
    queries, notes = library.evaluation.queries(similar=True)
    assert notes == [] and queries and all(q.protocol == "similar" for q in queries)
    run = library.evaluation.run(queries)
    assert run.names == ["image", "fused"]
    park = [r for r in run.results if len(r.query.relevant) == 1 and r.scores["image"]["mrr"] == 1.0]
    assert len(park) >= 2  # no-litter ↔ no-litter-small, both ways


def test_similar_photos_within_a_folder(library: Library, gallery: Path) -> None:
    everywhere = library.similar(str(gallery / "park/no-litter.jpg"), limit=50)
    assert len(everywhere.results) > 1
    from shashin.search.filters import Filters

    in_park = library.similar(
        str(gallery / "park/no-litter.jpg"), limit=50, filters=Filters.of(folders=(str(gallery / "park"),))
    )
    assert [Path(r.path).name for r in in_park.results] == ["no-litter-small.jpg"]
    result = run_cli(
        "similar",
        str(gallery / "park/no-litter.jpg"),
        "--folder",
        str(gallery / "station"),
        "--db",
        str(library.path),
        "--image-model",
        str(library.settings.image.model),
        "--json",
        check=True,
    )
    assert all("/station/" in r["path"] for r in json.loads(result.stdout)["results"])


def test_a_query_asked_again_does_not_run_the_model_again(library: Library) -> None:
    """A second page, a facet click, a saved search: the query's vector is remembered, per model."""
    store = Store(library.path, create=False)
    image = ImageChannel(library.settings.image)
    image.load()  # the tag vocabulary is encoded once, on loading
    encoded: list[list[str]] = []
    embed_texts = image.model.embed_texts

    def counted(texts: list[str]) -> np.ndarray:
        encoded.append(list(texts))
        return embed_texts(texts)

    image.model.embed_texts = counted  # type: ignore[method-assign]
    query = ChannelQuery.from_text("no litter")
    first, again = image.search(query, store, 5), image.search(query, store, 5)
    assert first == again and encoded == [["no litter"]]
    image.search(ChannelQuery.from_text("tokyo station"), store, 5)
    assert encoded == [["no litter"], ["tokyo station"]]
