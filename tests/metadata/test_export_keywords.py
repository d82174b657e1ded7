"""`shashin export --fields keywords,title`: what shashin writes is read back by exiftool in the
fields digiKam, Lightroom and immich read; a keyword written by hand survives; only shashin's own
keywords are ever taken back; --dry-run writes nothing; embedding is verified and backed up."""

from __future__ import annotations

import json
from pathlib import Path

from shashin import Library
from shashin.config import load_settings
from shashin.metadata.kept import PersonTags
from shashin.metadata.keywords import HIERARCHICAL, SUBJECT, merge, wanted_keywords
from tests.conftest import run_cli
from tests.metadata.files import exiftool, needs_exiftool, photo, read_tags, sidecar

pytestmark = needs_exiftool
FIELDS = ("XMP-dc:Subject", "XMP-lr:HierarchicalSubject", "XMP-digiKam:TagsList", "XMP-dc:Title")


def as_list(value: object) -> list[str]:
    return [] if value is None else [str(v) for v in value] if isinstance(value, list) else [str(value)]


def test_wanted_keywords_and_the_merge_rules() -> None:
    suggested = [
        {"en": "dog", "ja": "犬", "score": 0.8},
        {"en": "cat", "ja": "猫", "score": 0.1},
        {"en": "park", "ja": "公園", "score": 0.4},
    ]
    wanted = wanted_keywords(suggested, PersonTags(("Pochi",), ("park",)), ["en", "ja"], 0.3, "shashin|tags")
    assert wanted[SUBJECT] == ("dog", "犬", "Pochi")  # cat too improbable, park taken away by a person
    assert wanted[HIERARCHICAL][0] == "shashin|tags|dog"
    current = {SUBJECT: ["holiday", "dog"], HIERARCHICAL: ["Places|Japan"]}
    change = merge(current, wanted, earlier={})
    assert change.fields[SUBJECT] == ["holiday", "dog", "犬", "Pochi"] and change.added == ["犬", "Pochi"]
    assert change.written[SUBJECT] == ["犬", "Pochi"]  # "dog" was there already: not shashin's to take back
    later = merge({SUBJECT: change.fields[SUBJECT]}, {SUBJECT: ("dog",)}, change.written)
    assert later.fields[SUBJECT] == ["holiday", "dog"] and later.removed == ["犬", "Pochi"]


def test_keywords_round_trip_through_the_fields_other_apps_read(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    first = exiftool(photo(root / "a.jpg"), "-XMP-dc:Subject=holiday", "-XMP-lr:HierarchicalSubject=Places|Japan")
    photo(root / "b.jpg", (10, 200, 10))
    db = str(tmp_path / "db")
    run_cli("index", str(root), "--db", db, "--channels", "phash", check=True)
    run_cli("tag", str(first), "add", "Kyoto trip", "family", "--db", db, check=True)
    run_cli("caption", "set", str(root / "b.jpg"), "A green field under a grey sky.", "--db", db, check=True)

    dry = run_cli("export", "--fields", "keywords,title", "--dry-run", "--db", db, check=True)
    assert "+ Kyoto trip, family" in dry.stdout and "title: A green field under a grey sky" in dry.stdout
    assert not (root / "a.xmp").exists() and not (root / "b.xmp").exists()

    done = run_cli("export", "--fields", "keywords,title", "--db", db, "--json", check=True)
    assert not json.loads(done.stdout)["failed"]
    tags = read_tags(root / "a.xmp", *FIELDS)
    # The sidecar starts from the photo's own keywords: apps that prefer sidecars still see them.
    assert as_list(tags["XMP-dc:Subject"]) == ["holiday", "Kyoto trip", "family"]
    assert as_list(tags["XMP-lr:HierarchicalSubject"]) == [
        "Places|Japan",
        "shashin|tags|Kyoto trip",
        "shashin|tags|family",
    ]
    assert as_list(tags["XMP-digiKam:TagsList"]) == ["shashin/tags/Kyoto trip", "shashin/tags/family"]
    assert read_tags(root / "b.xmp", *FIELDS)["XMP-dc:Title"] == "A green field under a grey sky"

    # A person adds a keyword in digiKam; shashin's "family" is taken away: only that one goes.
    exiftool(root / "a.xmp", "-XMP-dc:Subject+=by hand")
    run_cli("tag", "a.jpg", "remove", "family", "--db", db, check=True)
    run_cli("export", "--fields", "keywords", "--db", db, check=True)
    tags = read_tags(root / "a.xmp", *FIELDS)
    assert as_list(tags["XMP-dc:Subject"]) == ["holiday", "Kyoto trip", "by hand"]
    assert "shashin|tags|family" not in as_list(tags["XMP-lr:HierarchicalSubject"])
    # A title a person set is never replaced.
    exiftool(root / "b.xmp", "-XMP-dc:Title=My title")
    run_cli("export", "--fields", "title", "--db", db, check=True)
    assert read_tags(root / "b.xmp", "XMP-dc:Title")["XMP-dc:Title"] == "My title"
    # Its own keywords do not come back as a person's keywords when the sidecar is read.
    run_cli("index", str(root), "--db", db, "--channels", "phash", check=True)
    found = json.loads(run_cli("search", "", "--keyword", "shashin|tags", "--db", db, "--json", check=True).stdout)
    assert found["results"] == []
    found = json.loads(run_cli("search", "", "--keyword", "by hand", "--db", db, "--json", check=True).stdout)
    assert [Path(r["path"]).name for r in found["results"]] == ["a.jpg"]


def test_embedding_keywords_is_verified_and_backed_up(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    image = exiftool(photo(root / "a.jpg"), "-XMP-dc:Subject=holiday", "-IPTC:Keywords=holiday")
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    library.index([root])
    library.tag(str(image), "add", ["Fuji"])
    [item] = library.export.plan(["keywords"], ["en"], embed=True)
    backup = library.export.write(item, embed=True)
    library.export.record([item])
    assert backup and Path(backup).read_bytes() != image.read_bytes()
    tags = read_tags(image, "XMP-dc:Subject", "IPTC:Keywords")
    assert as_list(tags["XMP-dc:Subject"]) == ["holiday", "Fuji"] and tags["IPTC:Keywords"] == "holiday"
    assert library.export.plan(["keywords"], ["en"], embed=True) == []  # nothing left to write
    report = library.index([root])
    assert report.new_photos == 0 and report.photos_processed == 0  # the same photo, not a new one


def test_a_sidecar_beside_the_photo_is_merged_not_replaced(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    image = photo(root / "a.jpg")
    sidecar(root / "a.jpg.xmp", "-XMP-dc:Subject=kept", "-XMP-xmp:Rating=3")
    library = Library(settings=load_settings({"db": str(tmp_path / "db"), "channels": "phash"}))
    library.index([root])
    library.tag(str(image), "add", ["new"])
    [item] = library.export.plan(["keywords"], ["en"], embed=False)
    assert item.target == str(root / "a.jpg.xmp")  # the existing sidecar name is used
    library.export.write(item)
    tags = read_tags(root / "a.jpg.xmp", "XMP-dc:Subject", "XMP-xmp:Rating")
    assert as_list(tags["XMP-dc:Subject"]) == ["kept", "new"] and tags["XMP-xmp:Rating"] == 3
