"""Camera RAW files through rawpy (LibRaw), on DNGs written here (tests/ingest/raw_files.py): found
by the text in them (real OCR on the developed sensor data), their date, camera and place; the
embedded preview used when large enough; a RAW beside its camera JPEG is one photo with two files;
edited metadata keeps the photo; a broken RAW is one file's clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tools.render import Sign, render

from shashin import Library
from shashin.config import load_settings
from shashin.raw import decode_raw, raw_fingerprint
from shashin.search.filters import build_filters
from shashin.store import Store
from tests.ingest.raw_files import write_dng

pytest.importorskip("rawpy")

EXIF = {
    "Exif.Photo.DateTimeOriginal": "2023:07:14 10:30:00",
    "Exif.Photo.LensModel": "Test 50mm F1.8",
    "Exif.GPSInfo.GPSLatitudeRef": "N",
    "Exif.GPSInfo.GPSLatitude": "35/1 19/1 1200/100",  # Kamakura
    "Exif.GPSInfo.GPSLongitudeRef": "E",
    "Exif.GPSInfo.GPSLongitude": "139/1 33/1 0/1",
}


def _sign(words: list[str], seed: int = 0) -> np.ndarray:
    return np.asarray(render(Sign(words, size=(800, 520), seed=seed)))


def test_the_preview_is_used_when_large_enough_and_the_sensor_data_otherwise(tmp_path: Path) -> None:
    picture = np.zeros((256, 384, 3), np.uint8)
    picture[:, :192] = (200, 40, 40)  # red on the left, white on the right
    picture[:, 192:] = 255
    preview = np.zeros((128, 192, 3), np.uint8)
    preview[:] = (0, 200, 0)  # the camera's (green) preview, told apart from the sensor data
    data = write_dng(tmp_path / "a.dng", picture, preview=preview).read_bytes()
    small, how = decode_raw(data, 150, 10**9)
    assert how == "preview" and small.size == (192, 128) and small.getpixel((5, 5)) == (0, 200, 0)
    large, how = decode_raw(data, 300, 10**9)
    assert how == "demosaic" and large.size == (384, 256)
    red, white = large.getpixel((40, 128)), large.getpixel((340, 128))
    assert red[0] > 150 and red[1] < 80 and min(white) > 200  # colours as the scene had them
    with pytest.raises(ValueError, match="over the 0 MP limit"):
        decode_raw(data, 300, 1000)


def test_a_raw_photo_is_found_by_its_text_date_camera_and_place(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    write_dng(photos / "DSC_0042.dng", _sign(["BEACH CAFE", "OPEN 10-18"]), exif=EXIF)
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "ocr,phash"}))
    report = library.index([photos])
    assert report.new_photos == 1 and report.errors == []
    found = library.search("beach cafe")
    assert [Path(r.path).name for r in found.results] == ["DSC_0042.dng"]
    assert any("CAFE" in h.text.upper() for h in found.results[0].highlights)
    for filters in (
        build_filters(taken_from="2023-07", taken_to="2023-07"),
        build_filters(cameras=["TestCam"]),
        build_filters(near="Kamakura", radius_km=5),
    ):
        assert [Path(r.path).name for r in library.search("", filters=filters).results] == ["DSC_0042.dng"]
    assert library.search("", filters=build_filters(taken_from="2024")).results == []
    [photo] = Store(tmp_path / "db", create=False).get_photos({found.results[0].photo_id}).values()
    assert (photo["format"], photo["width"], photo["height"]) == ("DNG", 800, 520)
    assert photo["camera_make"] == "Shashin" and photo["lens"] == "Test 50mm F1.8"


def test_a_raw_beside_its_camera_jpeg_is_one_photo_with_two_files(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    picture = _sign(["PLATFORM 3"], seed=4)
    write_dng(photos / "IMG_0001.DNG", picture)
    Image.fromarray(picture).save(photos / "IMG_0001.JPG", quality=92)
    write_dng(photos / "IMG_0002.dng", _sign(["EXIT"], seed=5))  # no JPEG: a photo of its own
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    report = library.index([photos])
    assert report.new_photos == 2 and report.raw_twins == 1 and report.photos_processed == 2
    files = Store(tmp_path / "db", create=False).files()
    assert files[str(photos / "IMG_0001.DNG")].photo_id == files[str(photos / "IMG_0001.JPG")].photo_id
    # The JPEG deleted: the photo stays, held by its RAW.
    (photos / "IMG_0001.JPG").unlink()
    report = library.index()
    assert report.removed_photos == 0 and library.status().photos == 2


def test_edited_metadata_keeps_the_photo_and_a_broken_raw_is_one_files_error(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    path = write_dng(photos / "a.dng", _sign(["TICKETS"], seed=2))
    before = raw_fingerprint(path.read_bytes())
    (photos / "broken.nef").write_bytes(b"II*\x00" + b"\x00" * 200)
    (photos / "copy.arw").write_bytes(b"not raw at all" * 10)
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    report = library.index([photos])
    assert report.new_photos == 1
    errors = {Path(e.path).name: e.message for e in report.errors}
    assert set(errors) == {"broken.nef", "copy.arw"}
    assert "not a RAW file LibRaw can read" in errors["broken.nef"] and "text, not a photo" in errors["copy.arw"]
    import pyexiv2

    with pyexiv2.Image(str(path)) as image:  # another app writes a rating into the file
        image.modify_exif({"Exif.Image.Rating": "4"})
    assert raw_fingerprint(path.read_bytes()) == before
    photo_id = next(iter(Store(tmp_path / "db", create=False).photo_ids()))
    report = library.index()
    assert report.new_photos == 0 and report.same_pixels == 1
    assert Store(tmp_path / "db", create=False).photo_ids() == {photo_id}
