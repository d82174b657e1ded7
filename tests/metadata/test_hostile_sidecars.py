"""Sidecars and Takeout JSON written by strangers: a FIFO, /dev/zero, a sparse 2 GB file, 100k
nested brackets, fields of the wrong type, one photo.xmp shared by a.jpg and a.png. Each costs a
note for its photo — never an aborted run, a hang, or unbounded memory — and the photo is indexed."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import pytest

from shashin import Library
from shashin.config import load_settings
from shashin.metadata.sources import Folders, PhotoFile, read_photo
from shashin.metadata.takeout import read_takeout
from tests.conftest import run_cli
from tests.metadata.files import needs_exiftool, photo, read_tags, sidecar


def _library(tmp_path: Path) -> Library:
    return Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))


def _notes(library: Library, photo_path: Path) -> list[str]:
    detail = library.photo(library.photo_id(str(photo_path)) or "")
    assert detail is not None, f"{photo_path} was not indexed"
    return list(detail.to_dict().get("kept", {}).get("notes") or [])


def test_takeout_json_nested_100k_deep_or_with_wrong_types_is_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    photo(folder / "deep.jpg")
    photo(folder / "typed.jpg", (200, 10, 10))
    (folder / "deep.jpg.json").write_text('{"title": "deep.jpg", "people": ' + "[" * 100_000 + "]" * 100_000 + "}")
    typed = {
        "title": "typed.jpg",
        "people": 5,
        "description": ["not", "text"],
        "photoTakenTime": "yesterday",
        "geoData": [1, 2],
    }
    (folder / "typed.jpg.json").write_text(json.dumps(typed))
    deep = read_takeout(str(folder / "deep.jpg.json"), "deep.jpg")
    assert deep.people == () and any("nested 100001 levels deep" in note for note in deep.notes)
    kept = read_takeout(str(folder / "typed.jpg.json"), "typed.jpg")
    assert kept.people == () and kept.description is None and kept.taken_at is None and kept.latitude is None

    library = _library(tmp_path)
    report = library.index([folder])  # before: RecursionError / TypeError aborted every run
    assert report.new_photos == 2 and not report.errors
    assert any("nested" in note for note in _notes(library, folder / "deep.jpg"))
    assert library.index([folder]).new_photos == 0  # and the next run too


def test_depths_are_counted_outside_strings() -> None:
    from shashin.untrusted import MAX_DEPTH, json_depth, xml_depth

    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(b'"\\"[["') == 0
    assert xml_depth(b'<?xml version="1.0"?><!-- <a> --><a><b/><c>x</c></a>') == 2
    assert xml_depth(b"<a>" * (MAX_DEPTH + 1)) == MAX_DEPTH + 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_or_a_device_as_a_sidecar_never_blocks_the_run(tmp_path: Path) -> None:
    """Before: `index` opened the FIFO and waited for a writer forever, holding the writer lock."""
    folder = tmp_path / "photos"
    photo(folder / "a.jpg")
    photo(folder / "b.jpg", (10, 200, 10))
    os.mkfifo(folder / "a.xmp")
    os.mkfifo(folder / "a.jpg.json")
    (folder / "b.xmp").symlink_to("/dev/zero")
    db = tmp_path / "db"
    result = run_cli("index", str(folder), "--db", str(db), "--channels", "phash", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["new_photos"] == 2
    library = Library(settings=load_settings({"db": str(db), "channels": "phash"}))
    assert any("FIFO" in note and "not a regular file" in note for note in _notes(library, folder / "a.jpg"))
    assert any("a device, not a regular file" in note for note in _notes(library, folder / "b.jpg"))
    # The writer lock was let go: a person's tag goes in at once.
    assert run_cli("tag", str(folder / "a.jpg"), "add", "fifo", "--db", str(db), timeout=60).returncode == 0


def test_huge_sidecars_are_refused_from_their_size_before_any_read(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    photo(folder / "big.jpg")
    with open(folder / "big.jpg.json", "wb") as handle:  # sparse: 2 GB that cost no disk
        handle.truncate(2 << 30)
    with open(folder / "big.xmp", "wb") as handle:
        handle.truncate(100 << 20)
    tracemalloc.start()
    try:
        kept = read_photo([PhotoFile(str(folder / "big.jpg"), "x")], Folders())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"reading the sidecars allocated {peak:,} bytes"
    notes = " | ".join(kept.notes)
    assert "2,147,483,648 bytes" in notes and "104,857,600 bytes" in notes


@needs_exiftool
def test_one_photo_xmp_shared_by_two_photos_is_given_to_neither(tmp_path: Path) -> None:
    """a.jpg and a.png beside a.xmp: before, index gave a.xmp's keywords to both and export made
    each photo take back the other's keywords."""
    folder = tmp_path / "photos"
    jpeg, png = photo(folder / "a.jpg"), folder / "a.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.new("RGB", (400, 300), (200, 40, 40)).save(png)
    sidecar(folder / "a.xmp", "-XMP-dc:Subject=whose")
    sidecar(folder / "a.png.xmp", "-XMP-dc:Subject=png only")
    library = _library(tmp_path)
    library.index([folder])
    assert [Path(r.path).name for r in library.search("", filters=_keyword("whose")).results] == []
    assert [Path(r.path).name for r in library.search("", filters=_keyword("png only")).results] == ["a.png"]
    assert any("shared by a.jpg and a.png" in note for note in _notes(library, jpeg))

    library.tag(str(jpeg), "add", ["cat"])
    library.tag(str(png), "add", ["dog"])
    items = library.export.plan(["keywords"], ["en"], embed=False)
    assert {Path(item.target).name for item in items} == {"a.jpg.xmp", "a.png.xmp"}
    for item in items:
        library.export.write(item)
    library.export.record(items)
    assert library.export.plan(["keywords"], ["en"], embed=False) == []  # nothing taken back, nothing to redo
    assert read_tags(folder / "a.jpg.xmp", "XMP-dc:Subject")["XMP-dc:Subject"] == "cat"
    assert read_tags(folder / "a.png.xmp", "XMP-dc:Subject")["XMP-dc:Subject"] == ["png only", "dog"]
    assert read_tags(folder / "a.xmp", "XMP-dc:Subject")["XMP-dc:Subject"] == "whose"  # untouched


def test_a_shared_photo_xmp_gives_its_description_to_neither_photo(tmp_path: Path) -> None:
    """Importing descriptions from the photos' metadata follows the same rule as keywords."""
    import pyexiv2
    from PIL import Image

    folder = tmp_path / "photos"
    photo(folder / "a.jpg")
    Image.new("RGB", (400, 300), (200, 40, 40)).save(folder / "a.png")
    photo(folder / "b.jpg", (10, 200, 10))
    for name, text in (("a.xmp", "Whose description is this?"), ("b.xmp", "A green field.")):
        (folder / name).write_text(
            '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></rdf:RDF></x:xmpmeta><?xpacket end="w"?>',
            encoding="utf-8",
        )
        with pyexiv2.Image(str(folder / name)) as sidecar:
            sidecar.modify_xmp({"Xmp.dc.description": {'lang="x-default"': text}})
    library = _library(tmp_path)
    library.index([folder])
    library.import_captions(from_metadata=True)
    texts = {}
    for name in ("a.jpg", "a.png", "b.jpg"):
        detail = library.photo(library.photo_id(str(folder / name)) or "")
        assert detail is not None
        texts[name] = [caption["text"] for caption in detail.captions]
    assert texts == {"a.jpg": [], "a.png": [], "b.jpg": ["A green field."]}


def test_a_raw_and_jpeg_pair_gives_the_shared_sidecar_to_the_raw() -> None:
    from shashin.media import owns_stem_sidecar

    assert owns_stem_sidecar("a.jpg", ["a.jpg"])
    assert owns_stem_sidecar("a.CR2", ["a.CR2", "a.JPG"]) and not owns_stem_sidecar("a.JPG", ["a.CR2", "a.JPG"])
    assert not owns_stem_sidecar("a.jpg", ["a.jpg", "a.png"]) and not owns_stem_sidecar("a.png", ["a.jpg", "a.png"])


def _keyword(word: str):  # type: ignore[no-untyped-def]
    from shashin.search.filters import build_filters

    return build_filters(keywords=[word])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_exporting_into_a_fifo_or_device_sidecar_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """Before, `export` opened a FIFO named photo.xmp to merge into it and waited forever."""
    import threading

    from shashin.export import ExportError

    folder = tmp_path / "photos"
    photo(folder / "a.jpg")
    photo(folder / "b.jpg", (10, 200, 10))
    library = _library(tmp_path)
    library.index([folder])
    os.mkfifo(folder / "a.xmp")
    (folder / "b.xmp").symlink_to("/dev/null")
    for name in ("a.jpg", "b.jpg"):
        library.tag(str(folder / name), "add", ["mine"])
    outcomes: dict[str, str] = {}

    def write_all() -> None:
        for item in library.export.plan(["keywords"], ["en"], embed=False):
            try:
                library.export.write(item)
                outcomes[Path(item.path).name] = "written"
            except ExportError as exc:
                outcomes[Path(item.path).name] = str(exc)

    worker = threading.Thread(target=write_all, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the export hung on a FIFO sidecar"
    assert "a FIFO (named pipe), not a sidecar" in outcomes["a.jpg"]
    assert "not a regular file" in outcomes["b.jpg"]
