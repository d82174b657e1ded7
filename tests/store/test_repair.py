"""`check --repair` keeps a person's words: captions lost from a damaged captions table come back from
the table's older versions or from caption search's chunks, tags from the photos' metadata rows, and
the words of photos whose rows were lost wait in `orphans` until `index` finds the photos again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tools.render import Sign, save

from shashin import Library
from shashin.config import load_settings

CAPTIONS = {
    "g0.jpg": ("en", "Gate number zero. A blue sign by the station."),
    "g1.jpg": ("ja", "駅の近くの門。青い看板です。"),
    "g2.jpg": ("en", " ".join(f"Sentence {n} about the long gate caption." for n in range(80))),  # many chunks
}


@pytest.fixture
def library(tmp_path: Path) -> tuple[Library, Path]:
    photos = tmp_path / "photos"
    for number in range(4):
        save(Sign([f"GATE {number}"], seed=number, size=(400, 300)), photos / f"g{number}.jpg")
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    library.index([photos])
    for name, (lang, text) in CAPTIONS.items():
        library.set_caption(str(photos / name), text, lang=lang)
    library.tag(str(photos / "g3.jpg"), "add", ["gate", "blue"])
    return library, photos


def garble(library: Library, table: str, *, newest_only: bool = False) -> None:
    folder = library.path / "tables" / f"{table}.lance" / "data"
    files = sorted(folder.iterdir(), key=lambda path: path.stat().st_mtime_ns)
    for path in files[-1:] if newest_only else files:
        path.write_bytes(os.urandom(path.stat().st_size))


def captions_of(library: Library, photos: Path) -> dict[str, list[str]]:
    found = {}
    for name in sorted(CAPTIONS):
        detail = library.photo(library.photo_id(str(photos / name)) or "")
        found[name] = [c["text"] for c in detail.to_dict()["captions"] if c["source"] == "human"] if detail else []
    return found


def expected() -> dict[str, list[str]]:
    return {name: [text] for name, (_, text) in CAPTIONS.items()}


def test_captions_lost_with_every_data_file_are_rebuilt_from_caption_search(library: tuple[Library, Path]) -> None:
    library_, photos = library
    garble(library_, "captions")
    report = library_.check(repair=True)
    assert any("3 of your captions rebuilt from caption search" in line for line in report.repairs), report.repairs
    assert captions_of(library_, photos) == expected()  # before: every caption a person wrote was gone
    assert library_.check().healthy
    assert library_.search("青い看板").results[0].path == str(photos / "g1.jpg")


def test_captions_lost_after_compaction_are_found_in_older_versions(library: tuple[Library, Path]) -> None:
    library_, photos = library
    library_.optimize()  # one compacted data file; the earlier files stay for older versions
    garble(library_, "captions", newest_only=True)
    garble(library_, "tags")
    report = library_.check(repair=True)
    assert any("3 found again in older versions, 0 lost" in line for line in report.repairs), report.repairs
    assert any("2 of your tags restored" in line for line in report.repairs), report.repairs
    assert captions_of(library_, photos) == expected()
    detail = library_.photo(library_.photo_id(str(photos / "g3.jpg")) or "")
    assert detail is not None and sorted(detail.to_dict()["kept"]["tags_added"]) == ["blue", "gate"]
    library_.index()  # the tags table rules again: its restored rows keep the tags
    detail = library_.photo(library_.photo_id(str(photos / "g3.jpg")) or "")
    assert detail is not None and sorted(detail.to_dict()["kept"]["tags_added"]) == ["blue", "gate"]


def test_words_of_photos_whose_rows_were_lost_wait_as_orphans(library: tuple[Library, Path]) -> None:
    library_, photos = library
    garble(library_, "photos")
    report = library_.check(repair=True)
    assert any("waits in `shashin orphans`" in line for line in report.repairs), report.repairs
    orphans = {Path(orphan.paths[0]).name: orphan for orphan in library_.orphans.all()}
    assert set(orphans) == {"g0.jpg", "g1.jpg", "g2.jpg", "g3.jpg"}  # before: on no photo, in no list
    (photos / "g0.jpg").unlink()  # this one never comes back: its caption stays an orphan
    library_.index()
    assert [Path(orphan.paths[0]).name for orphan in library_.orphans.all()] == ["g0.jpg"]
    assert captions_of(library_, photos) == {**expected(), "g0.jpg": []}
    detail = library_.photo(library_.photo_id(str(photos / "g3.jpg")) or "")
    assert detail is not None and sorted(detail.to_dict()["kept"]["tags_added"]) == ["blue", "gate"]
