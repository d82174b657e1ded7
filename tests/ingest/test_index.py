"""Incremental indexing on real files with the real OCR model: only changed work is redone."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from tools.render import Sign, save

from shashin import Library
from shashin.config import load_settings
from shashin.models.ocr_rapid import RapidOcr
from tests.conftest import TEXT_PHOTOS, write_photos


def paths(library: Library, query: str) -> list[str]:
    return [result.path for result in library.search(query).results]


@pytest.fixture
def library(tmp_path: Path, photo_copy: Path) -> Library:
    library = Library(tmp_path / "db")
    report = library.index([photo_copy])
    assert report.new_photos == 3 and report.channels["ocr"].processed == 3
    return library


def forbid_model_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: RapidOcr) -> None:
        raise AssertionError("the OCR model was loaded although there was nothing to do")

    monkeypatch.setattr(RapidOcr, "load", fail)


def test_rerun_without_changes_does_no_model_work(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_model_loading(monkeypatch)
    report = library.index()
    assert report.unchanged_files == 3
    assert report.new_photos == report.photos_processed == report.channels["ocr"].processed == 0


def test_touched_file_is_not_reprocessed(library: Library, photo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_model_loading(monkeypatch)
    path = photo_copy / "park/no-litter.jpg"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    report = library.index()
    assert report.unchanged_files == 3 and report.photos_processed == 0


def test_moved_and_renamed_file_keeps_its_work(
    library: Library, photo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_model_loading(monkeypatch)
    target = photo_copy / "archive" / "2024" / "sign.jpg"
    target.parent.mkdir(parents=True)
    shutil.move(photo_copy / "park/no-litter.jpg", target)
    report = library.index()
    assert (report.moved_files, report.removed_files, report.removed_photos, report.photos_processed) == (1, 1, 0, 0)
    assert paths(library, "litter") == [str(target)]
    assert paths(library, "archive") == [str(target)]  # the file channel sees the new folder


def test_copy_is_one_photo_with_two_paths(library: Library, photo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_model_loading(monkeypatch)
    shutil.copy2(photo_copy / "station/tokyo.jpg", photo_copy / "station/tokyo-copy.jpg")
    report = library.index()
    assert report.moved_files == 1 and report.new_photos == 0
    status = library.status()
    assert (status.photos, status.files) == (3, 4)
    [result] = library.search("東京駅").results
    assert {result.path, *result.other_paths} == {
        str(photo_copy / "station/tokyo.jpg"),
        str(photo_copy / "station/tokyo-copy.jpg"),
    }


def test_changed_content_replaces_the_photo(library: Library, photo_copy: Path) -> None:
    path = photo_copy / "games/card-game.png"
    save(Sign(["BOARD GAME"], seed=99), path)
    report = library.index()
    assert (report.changed_files, report.new_photos, report.removed_photos) == (1, 1, 1)
    assert report.channels["ocr"].processed == 1
    assert paths(library, "board") == [str(path)]
    [still_named_card] = library.search("card").results  # by its file name only: the old text is gone
    assert set(still_named_card.channels) == {"file"}
    assert library.status().photos == 3


def test_deleted_file_is_forgotten(library: Library, photo_copy: Path) -> None:
    [result] = library.search("litter").results
    thumbnail = library.path / "thumbnails" / result.photo_id[:2] / f"{result.photo_id}.webp"
    assert thumbnail.is_file()
    (photo_copy / "park/no-litter.jpg").unlink()
    report = library.index()
    assert (report.removed_files, report.removed_photos) == (1, 1)
    assert paths(library, "litter") == []
    assert not thumbnail.exists()
    assert library.status().photos == 2


def test_changed_ocr_settings_redo_only_ocr(library: Library, photo_copy: Path) -> None:
    settings = load_settings({"db": str(library.path), "ocr.min_confidence": 0.6})
    report = Library(settings=settings).index()
    assert report.new_photos == 0 and report.unchanged_files == 3
    assert report.channels["ocr"].processed == 3
    assert Library(settings=settings).index().channels["ocr"].processed == 0


def test_missing_folder_keeps_its_photos(library: Library, photo_copy: Path) -> None:
    moved_away = photo_copy.with_name("unmounted")
    photo_copy.rename(moved_away)
    report = library.index()
    assert report.missing_folders == [str(photo_copy)]
    assert report.removed_files == 0 and library.status().photos == 3
    moved_away.rename(photo_copy)
    assert library.index().unchanged_files == 3


def test_unavailable_ocr_does_not_stop_the_run(tmp_path: Path, photo_copy: Path) -> None:
    db = tmp_path / "db"
    broken = Library(settings=load_settings({"db": str(db), "ocr.model_dir": str(tmp_path / "no-models")}))
    report = broken.index([photo_copy])
    assert report.new_photos == 3  # photos, metadata, thumbnails and file names are indexed
    assert "does not exist" in (report.channels["ocr"].unavailable or "")
    assert not report.failed
    assert paths(broken, "tokyo") == [str(photo_copy / "station/tokyo.jpg")]  # from the folder name
    ocr = next(c for c in broken.status().channels if c.name == "ocr")
    assert ocr.pending == 3 and "ocr.model_dir" in (ocr.unavailable or "")

    fixed = Library(db)
    report = fixed.index()
    assert report.channels["ocr"].processed == 3 and report.new_photos == 0
    assert next(c for c in fixed.status().channels if c.name == "ocr").unavailable is None
    assert paths(fixed, "ポイ捨て") == [str(photo_copy / "park/no-litter.jpg")]


def test_several_folders_and_nested_folders(tmp_path: Path) -> None:
    first = write_photos(tmp_path / "photos" / "a", ["park/no-litter.jpg"])
    second = write_photos(tmp_path / "photos" / "b", ["station/tokyo.jpg"])
    library = Library(tmp_path / "db")
    library.index([tmp_path / "photos" / "a"])
    library.index([tmp_path / "photos" / "b"])
    assert library.folders() == [str(tmp_path / "photos" / "a"), str(tmp_path / "photos" / "b")]
    report = library.index()  # no folder given: all of them
    assert report.unchanged_files == 2

    report = library.index([tmp_path / "photos"])  # the parent takes its children over
    assert library.folders() == [str(tmp_path / "photos")]
    assert report.photos_processed == 0 and report.removed_files == 0
    first["park/no-litter.jpg"].unlink()
    report = library.index()
    assert report.removed_files == 1
    assert paths(library, "東京駅") == [str(second["station/tokyo.jpg"])]


def test_subfolder_of_an_indexed_folder_indexes_the_folder(library: Library, photo_copy: Path) -> None:
    report = library.index([photo_copy / "park"])
    assert report.folders == [str(photo_copy)]
    assert library.folders() == [str(photo_copy)]


def test_every_photo_has_a_thumbnail(indexed) -> None:  # type: ignore[no-untyped-def]
    library, _ = indexed
    ids = {r.photo_id for r in library.search("no litter 東京 card car open pycon 抹茶 wet").results}
    assert len(ids) == len(TEXT_PHOTOS)
    for photo_id in ids:
        assert (library.path / "thumbnails" / photo_id[:2] / f"{photo_id}.webp").stat().st_size > 100
