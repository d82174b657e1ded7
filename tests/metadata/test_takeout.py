"""Google Takeout's JSON: its naming rules (cut names, numbered copies, edited copies) and fields."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from shashin.metadata.sources import Folders, PhotoFile, read_photo
from shashin.metadata.takeout import json_for, read_takeout


def test_names_takeout_gives_its_json() -> None:
    names = {
        "IMG_1234.JPG.json",
        "IMG_1234.JPG(1).json",
        "IMG_2000.jpg.supplemental-metadata.json",
        "IMG_2000.jpg.supplemental-metadata(1).json",
        "Screenshot_20230714-101010_Some Long Application Name.json",  # cut at 46
        "PXL_20231231_235959123.PORTRAIT.jpg.supplemental-me.json",  # the suffix cut too
        "IMG_3000.HEIC.json",
        "IMG.json",  # too short to stand for IMG_3000.HEIC
    }
    assert json_for("IMG_1234.JPG", names) == "IMG_1234.JPG.json"
    assert json_for("IMG_1234(1).JPG", names) == "IMG_1234.JPG(1).json"
    assert json_for("IMG_1234-edited.JPG", names) == "IMG_1234.JPG.json"
    assert json_for("IMG_2000.jpg", names) == "IMG_2000.jpg.supplemental-metadata.json"
    assert json_for("IMG_2000(1).jpg", names) == "IMG_2000.jpg.supplemental-metadata(1).json"
    assert json_for("Screenshot_20230714-101010_Some Long Application Name Here.jpg", names) == (
        "Screenshot_20230714-101010_Some Long Application Name.json"
    )
    assert (
        json_for("PXL_20231231_235959123.PORTRAIT.jpg", names)
        == "PXL_20231231_235959123.PORTRAIT.jpg.supplemental-me.json"
    )
    assert json_for("IMG_3000.HEIC", names) == "IMG_3000.HEIC.json"
    assert json_for("IMG_9999.JPG", names) is None
    assert json_for("IMG_1234(2).JPG", names) is None


def write(folder: Path, name: str, data: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_fields_of_a_takeout_json(tmp_path: Path) -> None:
    data = {
        "title": "IMG_1234.JPG",
        "description": "屋台で昼ごはん",
        "photoTakenTime": {"timestamp": "1689300000", "formatted": "Jul 14, 2023, 2:00:00 AM UTC"},
        "geoData": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0},
        "geoDataExif": {"latitude": 34.6937, "longitude": 135.5023},
        "people": [{"name": "Ken Tanaka"}, {"name": ""}],
    }
    kept = read_takeout(str(write(tmp_path, "IMG_1234.JPG.json", data)), "IMG_1234.JPG")
    assert kept.taken_at == datetime(2023, 7, 14, 2, 0) and kept.utc_offset == "+00:00"
    assert (kept.latitude, kept.longitude) == (34.6937, 135.5023)  # geoData's 0, 0 means unknown
    assert kept.people == ("Ken Tanaka",) and kept.description == "屋台で昼ごはん"


def test_a_json_for_another_photo_or_broken_json_is_a_note(tmp_path: Path) -> None:
    other = write(tmp_path, "IMG_1.JPG.json", {"title": "holiday.png", "photoTakenTime": {"timestamp": "1"}})
    kept = read_takeout(str(other), "IMG_1.JPG")
    assert kept.taken_at is None and "describes 'holiday.png', not 'IMG_1.JPG'" in kept.notes[0]
    broken = tmp_path / "IMG_2.JPG.json"
    broken.write_text("{not json", encoding="utf-8")
    kept = read_takeout(str(broken), "IMG_2.JPG")
    assert kept.taken_at is None and "cannot be read" in kept.notes[0]


def test_a_takeout_tree_is_read_beside_the_photos(tmp_path: Path) -> None:
    from tests.metadata.files import photo

    folder = tmp_path / "Takeout" / "Google Photos" / "Photos from 2023"
    image = photo(folder / "IMG_1234(1).JPG")
    write(folder, "IMG_1234.JPG(1).json", {"title": "IMG_1234.JPG", "people": [{"name": "Hanako"}]})
    write(folder, "IMG_1234.JPG.json", {"title": "IMG_1234.JPG", "people": [{"name": "Someone else"}]})
    kept = read_photo([PhotoFile(str(image), "c")], Folders())
    assert kept.names() == ["Hanako"] and kept.sources[-1] == "takeout IMG_1234.JPG(1).json"
    long = "Screenshot_20230714-101010_A Very Long Application Name.png"
    cut = photo(folder / long)
    write(
        folder,
        f"{(long + '.supplemental-metadata')[:46]}.json",
        {"title": long, "photoTakenTime": {"timestamp": "1689300000"}},
    )
    assert read_photo([PhotoFile(str(cut), "c")], Folders()).taken_at == datetime(2023, 7, 14, 2, 0)
