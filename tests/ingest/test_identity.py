"""A photo is more than its bytes: metadata edited by other apps, moves after embedding and files
unreadable for one run keep the photo, and a person's words outlive every way a photo can leave."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from shashin import Library
from shashin.config import load_settings
from shashin.fingerprint import pixel_fingerprint
from tests.conftest import run_cli_unprivileged

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="needs exiftool (apt install libimage-exiftool-perl)")
NAMES = ["park/no-litter.jpg", "station/tokyo.jpg", "games/card-game.png", "station/phones.webp", "cafe/menu.gif"]


def ocr_library(db: Path) -> Library:
    return Library(settings=load_settings({"db": str(db), "channels": "ocr"}))


@pytest.fixture
def photos(tmp_path: Path, text_photos: Path) -> Path:
    folder = tmp_path / "photos"
    for name in NAMES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(text_photos / name, folder / name)
    return folder


def exiftool(*args: str) -> None:
    assert EXIFTOOL
    subprocess.run([EXIFTOOL, "-q", "-q", "-overwrite_original", *args], check=True)


def human_captions(library: Library, photo_id: str) -> list[str]:
    detail = library.photo(photo_id)
    assert detail is not None, f"photo {photo_id} left the library"
    return [c["text"] for c in detail.captions if c["source"] == "human"]


@needs_exiftool
def test_metadata_written_by_another_app_keeps_the_photo(tmp_path: Path, photos: Path) -> None:
    library = ocr_library(tmp_path / "db")
    library.index([photos])
    ids = {name: library.set_caption(str(photos / name), f"my words for {name}") for name in NAMES}
    # A rating and keywords, as Lightroom/digiKam write them; a date and a place fixed by hand.
    exiftool(
        "-XMP:Rating=5",
        "-XMP:Subject=holiday",
        "-DateTimeOriginal=2021:08:09 10:11:12",
        *(str(photos / name) for name in NAMES if not name.endswith(".gif")),
    )
    exiftool("-XMP:Rating=4", str(photos / "cafe/menu.gif"))

    again = ocr_library(tmp_path / "db")
    report = again.index()
    assert (report.changed_files, report.new_photos, report.removed_photos) == (5, 0, 0)
    assert report.same_pixels == 5 and report.refreshed_photos == 5
    assert report.channels["ocr"].processed == 0  # no model work: the pixels are the same
    for name, photo_id in ids.items():
        assert human_captions(again, photo_id) == [f"my words for {name}"]
        assert again.photo(photo_id).paths == [str(photos / name)]
    # The new metadata was read: the date set by exiftool is the photo's date now.
    assert str(again.photo(ids["park/no-litter.jpg"]).metadata["taken_at"]).startswith("2021-08-09")
    found = again.search("litter 2021")
    assert found.results[0].photo_id == ids["park/no-litter.jpg"]
    assert again.index().changed_files == 0  # settled: nothing to do on the next run


def test_new_pixels_are_a_new_photo_and_the_persons_words_wait_as_an_orphan(tmp_path: Path, photos: Path, cli) -> None:
    db = tmp_path / "db"
    library = ocr_library(db)
    library.index([photos])
    path = photos / "park/no-litter.jpg"
    old_id = library.set_caption(str(path), "The sign my daughter painted", lang="en")
    with Image.open(path) as image:
        image.crop((0, 0, image.width // 2, image.height)).save(path, quality=90)  # a real edit: new pixels
    report = ocr_library(db).index()
    assert report.new_photos == 1 and report.removed_photos == 1 and report.orphans == 1

    listed = json.loads(cli("orphans", "--db", str(db), "--json", check=True).stdout)
    assert [o["id"] for o in listed["orphans"]] == [old_id]
    assert listed["orphans"][0]["paths"] == [str(path)]
    assert listed["orphans"][0]["kept"]["caption"][0]["text"] == "The sign my daughter painted"
    status = json.loads(cli("status", "--db", str(db), "--json", check=True).stdout)
    assert status["orphans"] == 1
    assert "shashin orphans" in cli("status", "--db", str(db), check=True).stdout

    attached = cli("orphans", "attach", old_id[:10], str(path), "--db", str(db))
    assert attached.returncode == 0, attached.stderr
    new_id = ocr_library(db).photo_id(str(path))
    assert human_captions(ocr_library(db), new_id) == ["The sign my daughter painted"]
    assert json.loads(cli("orphans", "--db", str(db), "--json", check=True).stdout)["orphans"] == []


def test_a_deleted_photo_gets_its_words_back_when_it_returns(tmp_path: Path, photos: Path) -> None:
    library = ocr_library(tmp_path / "db")
    library.index([photos])
    path = photos / "station/tokyo.jpg"
    photo_id = library.set_caption(str(path), "東京駅の青い駅名標", lang="ja")
    saved = tmp_path / "elsewhere.jpg"
    shutil.move(path, saved)
    gone = library.index()
    assert gone.removed_photos == 1 and gone.orphans == 1 and library.photo(photo_id) is None

    shutil.copy2(saved, photos / "restored.jpg")  # back from a backup, under another name
    back = library.index()
    assert back.new_photos == 1 and back.reattached == 1
    assert human_captions(library, photo_id) == ["東京駅の青い駅名標"]
    assert library.orphans.all() == []
    assert library.search("駅名標").results[0].photo_id == photo_id


def test_orphans_return_by_pixels_and_can_be_forgotten(tmp_path: Path, photos: Path, cli) -> None:
    db = tmp_path / "db"
    library = ocr_library(db)
    library.index([photos])
    path = photos / "games/card-game.png"
    library.set_caption(str(path), "Our card game night")
    kept = tmp_path / "card.png"
    shutil.move(path, kept)
    library.index()
    # It returns with other metadata (a text chunk): other bytes, the same pixels.
    with Image.open(kept) as image:
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "edited elsewhere")
        image.save(photos / "card-again.png", pnginfo=info)
    assert pixel_fingerprint(str(kept), 10**8) == pixel_fingerprint(str(photos / "card-again.png"), 10**8)
    report = library.index()
    assert report.reattached == 1
    photo_id = library.photo_id(str(photos / "card-again.png"))
    assert human_captions(library, photo_id) == ["Our card game night"]

    library.set_caption(str(photos / "card-again.png"), "changed my mind")
    (photos / "card-again.png").unlink()
    library.index()
    assert len(library.orphans.all()) == 1
    forgotten = cli("orphans", "forget", "--all", "--db", str(db))
    assert forgotten.returncode == 0, forgotten.stderr
    assert library.orphans.all() == []


@needs_exiftool
def test_a_photo_moved_after_embedding_alt_text_keeps_its_caption(tmp_path: Path, photos: Path) -> None:
    library = ocr_library(tmp_path / "db")
    library.index([photos])
    path = photos / "park/no-litter.jpg"
    photo_id = library.set_caption(str(path), "A park sign asking people not to litter")
    record = next(r for r in library.export.alt_text_records(["en"]) if r.photo_id == photo_id)
    library.export.embed(record)
    assert library.index().changed_files == 0  # the library knows the new bytes

    moved = photos / "moved" / "sign.jpg"
    moved.parent.mkdir()
    shutil.move(path, moved)
    report = library.index()
    assert (report.moved_files, report.new_photos, report.removed_photos) == (1, 0, 0)
    assert library.photo(photo_id).paths == [str(moved)]
    assert human_captions(library, photo_id) == ["A park sign asking people not to litter"]


def test_a_file_unreadable_for_one_run_keeps_its_photo(tmp_path: Path, photos: Path) -> None:
    db = tmp_path / "db"
    library = ocr_library(db)
    library.index([photos])
    path = photos / "park/no-litter.jpg"
    photo_id = library.set_caption(str(path), "words that must survive")
    path.chmod(0)  # a sync tool holds it, or its permissions were changed
    try:
        result = run_cli_unprivileged("index", "--db", str(db), "--json")
    finally:
        path.chmod(0o644)
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    assert report["removed_photos"] == 0 and report["removed_files"] == 0 and report["unreadable_files"] == 1
    assert [(e["path"], "permission denied" in e["message"].lower()) for e in report["errors"]] == [(str(path), True)]
    readable = ocr_library(db)
    assert human_captions(readable, photo_id) == ["words that must survive"]
    assert readable.search("litter").results[0].photo_id == photo_id

    again = ocr_library(db).index()  # readable again: the error goes, nothing is redone
    assert again.errors == [] and again.photos_processed == 0


def test_libraries_from_before_get_fingerprints_once(tmp_path: Path, photos: Path) -> None:
    """A library written before fingerprints existed (schema 2) is migrated, and its photos are read
    once (no model work) so that metadata edits keep them from then on."""
    import lancedb

    db = tmp_path / "db"
    library = ocr_library(db)
    library.index([photos])
    photo_id = library.set_caption(str(photos / "station/tokyo.jpg"), "kept across the upgrade")
    tables = lancedb.connect(db / "tables")
    tables.open_table("photos").drop_columns(["pixel_hash", "source_hash"])
    tables.open_table("files").drop_columns(["content_hash"])
    tables.drop_table("orphans")
    tables.open_table("meta").update(where="key = 'schema_version'", values={"value": "2"})

    upgraded = ocr_library(db)
    report = upgraded.index()
    assert report.refreshed_photos == len(NAMES) and report.channels["ocr"].processed == 0
    assert upgraded.index().refreshed_photos == 0
    if EXIFTOOL:
        exiftool("-XMP:Rating=3", str(photos / "station/tokyo.jpg"))
        edited = upgraded.index()
        assert edited.same_pixels == 1 and edited.new_photos == 0
    assert human_captions(upgraded, photo_id) == ["kept across the upgrade"]


def test_missing_thumbnails_are_made_again_by_the_next_run(tmp_path: Path, photos: Path) -> None:
    db = tmp_path / "db"
    library = ocr_library(db)
    library.index([photos])
    lost = sorted((db / "thumbnails").rglob("*.webp"))[:2]
    for path in lost:
        path.unlink()
    report = library.index()
    assert report.refreshed_photos == 2 and report.channels["ocr"].processed == 0
    assert all(path.is_file() for path in lost)
