"""Kept metadata in a library: indexed with the photos, searched by the metadata channel, filtered
by keyword, rating, label and person, re-read when a sidecar changes (no model runs), Takeout's
dates and places feeding the date and place filters, and a person's tags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shashin import Library
from shashin.config import load_settings
from shashin.search.filters import FilterError, build_filters
from tests.metadata.files import DIGIKAM, LIGHTROOM, PICASA, exiftool, needs_exiftool, photo, sidecar

pytestmark = needs_exiftool


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    exiftool(photo(root / "kyoto" / "kinkaku.jpg", (200, 160, 40)), *LIGHTROOM)
    photo(root / "events" / "wedding.jpg", (250, 250, 250))
    sidecar(root / "events" / "wedding.xmp", *DIGIKAM)
    exiftool(photo(root / "picnic.jpg", (40, 160, 40)), *PICASA)
    photo(root / "plain.jpg", (90, 90, 90))
    takeout = root / "Takeout" / "Photos from 2023"
    photo(takeout / "IMG_1234.JPG", (10, 10, 120))
    (takeout / "IMG_1234.JPG.supplemental-metadata.json").write_text(
        json.dumps(
            {
                "title": "IMG_1234.JPG",
                "photoTakenTime": {"timestamp": "1689300000"},
                "geoData": {"latitude": 35.0116, "longitude": 135.7681},
                "people": [{"name": "Ken Tanaka"}],
                "description": "Lunch at Nishiki market",
            }
        ),
        encoding="utf-8",
    )
    return root


@pytest.fixture
def library(tmp_path: Path, folder: Path) -> Library:
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    report = library.index([folder])
    assert report.channels["metadata"].refreshed == 5
    return library


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [Path(r.path).name for r in response.results]


def test_keywords_titles_and_names_are_searched_and_explained(library: Library) -> None:
    found = library.search("Hanako")
    assert names(found) == ["kinkaku.jpg"]
    [hit] = found.results
    assert any(h.field == "person" and h.text == "Hanako Yamada" for h in hit.highlights)
    kinkaku = next(r for r in library.search("Japan", parse=False).results if r.path.endswith("kinkaku.jpg"))
    assert any(h.field == "keyword" and h.text == "Places|Japan|Kyoto" for h in kinkaku.highlights)
    assert names(library.search("reception")) == ["wedding.jpg"]
    assert names(library.search("Sunday picnic")) == ["picnic.jpg"]
    assert names(library.search("Nishiki")) == ["IMG_1234.JPG"]  # Takeout's description
    assert names(library.search("お寺")) == ["kinkaku.jpg"]


def test_filters_by_keyword_rating_label_and_person(library: Library) -> None:
    def browse(**filters: object) -> list[str]:
        return sorted(names(library.search("", filters=build_filters(**filters), limit=50)))  # type: ignore[arg-type]

    assert browse(keywords=["Places|Japan"]) == ["kinkaku.jpg"]  # a hierarchical prefix
    assert browse(keywords=["places|japan|kyoto", "お寺"]) == ["kinkaku.jpg"]
    assert browse(keywords=["Japan|Kyoto"]) == []
    assert browse(keywords=["Family|Picnic"]) == ["picnic.jpg"]  # Windows' "/" levels
    assert browse(rating=4) == ["kinkaku.jpg", "picnic.jpg", "wedding.jpg"]
    assert browse(rating=5) == ["wedding.jpg"]
    assert browse(labels=["red"]) == ["kinkaku.jpg"]
    assert browse(people=["Taro Suzuki"]) == ["wedding.jpg"]
    assert browse(people=["sato"]) == ["picnic.jpg"]  # Microsoft regions; a surname is enough
    assert browse(people=["Ken Tanaka"]) == ["IMG_1234.JPG"]  # Takeout's people
    assert browse(people=["Pochi"]) == []  # a pet region is no person
    with pytest.raises(FilterError):
        build_filters(rating=6)
    parsed = library.search("4 stars")
    assert sorted(names(parsed)) == ["kinkaku.jpg", "picnic.jpg", "wedding.jpg"]
    assert any("rating" in u for u in parsed.understood)
    assert sorted(names(library.search("星5以上"))) == ["wedding.jpg"]


def test_takeout_dates_and_iptc_places_feed_the_date_and_place_filters(library: Library) -> None:
    taken = library.search("", filters=build_filters(taken_from="2023-07", taken_to="2023-07"))
    assert names(taken) == ["IMG_1234.JPG"]
    assert names(library.search("", filters=build_filters(near="Osaka"))) == ["picnic.jpg"]  # IPTC City, no GPS
    kyoto = sorted(names(library.search("", filters=build_filters(near="Kyoto"))))
    assert kyoto == ["IMG_1234.JPG", "kinkaku.jpg"]  # Takeout's GPS; Lightroom's keyword Kyoto is no place


def test_a_changed_sidecar_is_read_again_without_any_model(library: Library, folder: Path) -> None:
    sidecar(folder / "plain.xmp", "-XMP-dc:Subject=Fuji", "-XMP-xmp:Rating=3")
    report = library.index([folder])
    assert report.channels["metadata"].refreshed == 1
    assert report.channels["phash"].processed == 0 and report.photos_processed == 0
    assert names(library.search("Fuji")) == ["plain.jpg"]
    exiftool(folder / "plain.xmp", "-XMP-dc:Subject=Aso")
    assert library.index([folder]).channels["metadata"].refreshed == 1
    assert names(library.search("Aso")) == ["plain.jpg"] and library.search("Fuji").results == []
    assert library.index([folder]).channels["metadata"].refreshed == 0  # nothing changed: nothing read


def test_bad_metadata_is_noted_and_the_photo_indexed(tmp_path: Path, folder: Path) -> None:
    photo(folder / "broken.jpg")
    (folder / "broken.xmp").write_text("<x:xmpmeta><rdf:RDF><oops", encoding="utf-8")
    library = Library(settings=load_settings({"db": str(tmp_path / "db2"), "channels": "phash"}))
    report = library.index([folder])
    assert report.new_photos == 6 and not report.failed
    detail = library.photo(library.photo_id(str(folder / "broken.jpg")) or "")
    assert detail is not None and any("broken.xmp" in note for note in detail.kept["notes"])
    assert any(f.channel == "metadata" and "broken.xmp" in f.reason for f in library.status().failures)


def test_a_persons_tags_are_searched_filtered_and_outlive_the_photo(library: Library, folder: Path) -> None:
    done = library.tag(str(folder / "plain.jpg"), "add", ["Kyoto trip", "family"])
    assert done["added"] == ["Kyoto trip", "family"]
    assert names(library.search("", filters=build_filters(keywords=["Kyoto trip"]))) == ["plain.jpg"]
    assert names(library.search("family")) == ["plain.jpg", "picnic.jpg"]  # picnic: Windows' Family/Picnic
    library.tag("plain.jpg", "remove", ["family"])
    assert names(library.search("", filters=build_filters(keywords=["family"]))) == ["picnic.jpg"]
    library.index([folder])  # a run keeps the tags
    assert names(library.search("", filters=build_filters(keywords=["Kyoto trip"]))) == ["plain.jpg"]
    # The file leaves and comes back: its tags return with it.
    moved = folder.parent / "away.jpg"
    (folder / "plain.jpg").rename(moved)
    library.index([folder])
    assert library.search("", filters=build_filters(keywords=["Kyoto trip"])).results == []
    moved.rename(folder / "again.jpg")
    library.index([folder])
    assert names(library.search("", filters=build_filters(keywords=["Kyoto trip"]))) == ["again.jpg"]
    with pytest.raises(Exception, match="add or remove"):
        library.tag("again.jpg", "rename", ["x"])
