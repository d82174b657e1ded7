"""People in a library: faces grouped as they are indexed, named by a region another app wrote,
named and corrected by a person (name, not, move, forget), found by name in queries and filters."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shashin import Library
from shashin.config import load_settings
from shashin.search.filters import build_filters
from tests.conftest import REPO
from tests.metadata.files import needs_exiftool, sidecar

FACES = REPO.parent / "shared" / "data" / "faces-pd" / "images"
pytestmark = [
    pytest.mark.skipif(not FACES.is_dir(), reason="needs ../shared/data/faces-pd"),
    needs_exiftool,
]
PHOTOS = (
    "obama_portrait_2012.jpg",
    "obama_congress_2009.jpg",
    "biden_blue_room_2010.jpg",
    "obama_biden_blue_room_2010_composite.jpg",
    "as11-44-6555_earthrise.jpg",
)


@pytest.fixture
def library(tmp_path: Path) -> tuple[Library, Path]:
    pytest.importorskip("dlib")
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(FACES / name, folder / name)
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "faces"}))
    library.index([folder])
    return library, folder


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(Path(r.path).name for r in response.results)


def test_a_region_from_a_photo_app_names_the_face_and_its_group(library: tuple[Library, Path]) -> None:
    lib, folder = library
    [face] = lib.people.faces(str(folder / "obama_congress_2009.jpg"))
    assert face["person_id"] and face["name"] is None  # grouped with the other photos of him, unnamed
    left, top, width, height = face["box"]
    sidecar(
        folder / "obama_congress_2009.xmp",
        f"-XMP-mwg-rs:RegionInfo={{RegionList=[{{Area={{X={left + width / 2},Y={top + height / 2},W={width},H={height},"
        "Unit=normalized},Name=Barack Obama,Type=Face}]}",
    )
    lib.index([folder])
    obama = next(p for p in lib.people.all() if p.name == "Barack Obama")
    assert obama.photos == 3  # the region named the whole group
    assert names(lib.search("", filters=build_filters(people=["Obama"]))) == [
        "obama_biden_blue_room_2010_composite.jpg",
        "obama_congress_2009.jpg",
        "obama_portrait_2012.jpg",
    ]
    parsed = lib.search("Obama congress")  # a unique word of a name is read out of the query
    assert "person: Barack Obama" in parsed.understood and parsed.searched == "congress"
    top_hit = parsed.results[0]
    assert any(
        h.channel == "people" and h.text.startswith("Barack Obama — face 1, distance") for h in top_hit.highlights
    )


def test_a_person_names_corrects_and_forgets(library: tuple[Library, Path]) -> None:
    lib, folder = library
    [face] = lib.people.faces(str(folder / "biden_blue_room_2010.jpg"))
    assert face["person_id"]  # grouped with his face in the composite
    lib.people.name(face["person_id"][:6], "Joe Biden")  # the first digits of the id are enough
    assert names(lib.search("", filters=build_filters(people=["Joe Biden"]))) == [
        "biden_blue_room_2010.jpg",
        "obama_biden_blue_room_2010_composite.jpg",
    ]
    assert lib.people.not_in(str(folder / "obama_biden_blue_room_2010_composite.jpg"), "Joe Biden") == 1
    assert names(lib.search("", filters=build_filters(people=["Joe Biden"]))) == ["biden_blue_room_2010.jpg"]
    lib.people.recluster()  # "not this person" holds across a regrouping
    assert names(lib.search("", filters=build_filters(people=["Joe Biden"]))) == ["biden_blue_room_2010.jpg"]
    rejected = next(
        f
        for f in lib.people.faces(str(folder / "obama_biden_blue_room_2010_composite.jpg"))
        if f["source"] == "rejected"
    )
    lib.people.move_face(rejected["face_id"], "Joe Biden")
    assert len(lib.search("", filters=build_filters(people=["Joe Biden"])).results) == 2
    assert lib.people.forget("Joe Biden") == 2
    assert all(p.name != "Joe Biden" for p in lib.people.all())
    lib.index([folder])  # the forgotten faces are not found and grouped again
    assert lib.search("", filters=build_filters(people=["Joe Biden"])).results == []
    assert all(f["source"] == "forgotten" for f in lib.people.faces(str(folder / "biden_blue_room_2010.jpg")))


def test_names_are_exported_as_face_regions_other_apps_read(library: tuple[Library, Path]) -> None:
    from tests.metadata.files import read_tags

    lib, folder = library
    [face] = lib.people.faces(str(folder / "obama_portrait_2012.jpg"))
    lib.people.name(face["person_id"], "Barack Obama")
    dry = lib.export.plan(["people"], ["en"])
    assert {Path(item.path).name for item in dry if item.regions_added == ["Barack Obama"]} == {
        "obama_portrait_2012.jpg",
        "obama_congress_2009.jpg",
        "obama_biden_blue_room_2010_composite.jpg",
    }
    for item in dry:
        lib.export.write(item)
    lib.export.record(dry)
    tags = read_tags(
        folder / "obama_portrait_2012.xmp", "XMP-mwg-rs:RegionName", "XMP-mwg-rs:RegionType", "XMP-mwg-rs:RegionAreaW"
    )
    assert tags["XMP-mwg-rs:RegionName"] == "Barack Obama" and tags["XMP-mwg-rs:RegionType"] == "Face"
    assert abs(float(tags["XMP-mwg-rs:RegionAreaW"]) - face["box"][2]) < 1e-3
    assert lib.export.plan(["people"], ["en"]) == []  # written once, nothing more to write
    lib.index([folder])  # read back as kept metadata: the same name, no second person
    assert [p.name for p in lib.people.all() if p.name] == ["Barack Obama"]
    lib.people.name("Barack Obama", "President Obama")  # a rename takes back shashin's own region
    [item] = [i for i in lib.export.plan(["people"], ["en"]) if i.path.endswith("obama_portrait_2012.jpg")]
    assert item.regions_added == ["President Obama"] and item.regions_removed == ["Barack Obama"]
