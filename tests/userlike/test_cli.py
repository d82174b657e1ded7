"""Every command and option group of `shashin` on a library like a user's (tests/userlike/library.py).
Before this file, `shashin search "cat -dog" --facets` — a README line — exited with an unexpected
TypeError on any library where two photos carried kept keywords."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.userlike.conftest import run_shashin
from tests.userlike.library import UserLibrary


def _json(library: UserLibrary, *args: str, code: int = 0) -> dict:  # type: ignore[type-arg]
    ran = run_shashin(library, *args, "--json")
    assert ran.code == code and ran.exception is None, f"exit {ran.code}: {ran.stderr or ran.stdout[-2000:]}"
    return json.loads(ran.stdout)


def _names(document: dict) -> list[str]:  # type: ignore[type-arg]
    return [Path(result["path"]).name for result in document["results"]]


def test_the_index_took_every_kind_of_photo_and_noted_every_bad_one(user_library: UserLibrary) -> None:
    status = _json(user_library, "status")
    failed = {Path(error["path"]).name for error in status["errors"]}
    assert failed == {"truncated.jpg", "notes.jpg", "empty.jpg"}
    assert status["photos"] >= 25 + (12 if user_library.coco else 0)
    detail = user_library.library.photo(user_library.photo_id("raw"))
    assert detail is not None and detail.to_dict()["metadata"]["camera_model"] == "NIKON Z 6"  # the RAW, read
    again = _json(user_library, "index", code=3)  # a rerun does nothing; exit 3: some files cannot be read
    assert again["new_photos"] == 0 and again["photos_processed"] == 0


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("cat -dog", ["--facets"]),  # the README line that crashed
        ("temple OR castle", ["--facets", "--explain"]),
        ("sign", ["--facets", "--sort", "newest"]),
        ("", ["--keyword", "Places|Japan", "--facets"]),
        ("鹿", ["--facets"]),
        ("NO LITTER", ["--explain", "--limit", "3"]),
        ("", ["--from", "2019", "--to", "2019"]),
        ("", ["--near", "Nara"]),
        ("", ["--rating", "4"]),
        ("", ["--label", "Red"]),
        ("", ["--camera", "Nikon"]),
        ("", ["--has-text", "--limit", "5"]),
        ("", ["--no-text", "--limit", "5"]),
        ("", ["--folder", "Takeout"]),
        ("family trip", ["--literal"]),
        ("清水寺 -大阪", ["--min-score", "0.1"]),
        ("sign", ["--offset", "5", "--limit", "5"]),
    ],
)
def test_search_answers_every_option_group(user_library: UserLibrary, query: str, options: list[str]) -> None:
    plain = run_shashin(user_library, "search", query, *options).ok()
    document = _json(user_library, "search", query, *options)
    assert document["total"] >= len(document["results"])
    if "--facets" in options and document["results"]:
        assert document["facets"] and plain.stdout


def test_what_two_apps_kept_is_searched_and_faceted(user_library: UserLibrary) -> None:
    assert _names(_json(user_library, "search", "", "--keyword", "Places|Japan|Kyoto")) == ["kiyomizu.jpg"]
    assert _names(_json(user_library, "search", "", "--keyword", "Events|Wedding")) == [
        "wedding.jpg"
    ]  # digiKam sidecar
    assert "party.png" in _names(_json(user_library, "search", "", "--keyword", "party"))  # party.xmp
    assert _names(_json(user_library, "search", "", "--keyword", "whose-is-this")) == []  # a.xmp is shared
    lightroom = str(user_library.photos / "lightroom")
    facets = _json(user_library, "search", "", "--folder", lightroom, "--facets", "-n", "100")["facets"]
    keywords = {value["value"]: value["count"] for value in facets["keyword"]}
    assert keywords.get("Kyoto") == 1 and keywords.get("Osaka") == 1
    if user_library.coco:
        assert "baseball" in _names(_json(user_library, "search", "baseball")) or keywords  # Flickr keywords read
        flickr = _json(user_library, "search", "", "--keyword", "Phillies")
        assert _names(flickr) == [Path(user_library.path("flickr_keywords")).name]
    assert {value["value"] for value in facets["tag"]} == {"family trip", "お気に入り"}


def test_takeout_gives_dates_places_and_names_and_its_hostile_jsons_cost_a_note(user_library: UserLibrary) -> None:
    found = _names(_json(user_library, "search", "", "--from", "2019-04", "--to", "2019-04"))
    assert found[:2] == sorted(["IMG_0001.jpg", "IMG_0001-edited.jpg"])[:2] or set(found) >= {"IMG_0001.jpg"}
    assert "IMG_0001.jpg" in _names(_json(user_library, "search", "", "--near", "Nara"))
    assert "IMG_0001.jpg" in _names(_json(user_library, "search", "", "--person", "Hanako Yamada"))
    deep = user_library.library.photo(user_library.photo_id("takeout_deep"))
    assert deep is not None and any("nested" in note for note in deep.to_dict()["kept"]["notes"])
    for role, words in (("fifo_sidecar", "FIFO"), ("zero_sidecar", "device"), ("sparse_json", "bytes")):
        detail = user_library.library.photo(user_library.photo_id(role))
        assert detail is not None and any(words in note for note in detail.to_dict()["kept"]["notes"]), role


def test_similar_duplicates_and_the_image_channel(user_library: UserLibrary) -> None:
    similar = _json(user_library, "similar", user_library.path("park_sign"), "-n", "5")
    assert len(similar["results"]) == 5
    groups = _json(user_library, "duplicates")["groups"]
    [copies] = [g for g in groups if any(Path(f["path"]).name == "park-sign-copy.jpg" for f in g["files"])]
    assert {Path(f["path"]).name for f in copies["files"]} >= {"2024-04-03_park-sign.jpg", "park-sign-copy.jpg"}
    run_shashin(user_library, "similar", user_library.path("park_sign"), "--from", "2024").ok()


def test_people_listing_faces_and_the_person_filter(user_library: UserLibrary) -> None:
    if not user_library.faces:
        pytest.skip("needs ../shared/data/faces-pd")
    people = _json(user_library, "people")["people"]
    assert {p["name"] for p in people} >= set(user_library.people)
    found = _names(_json(user_library, "search", "", "--person", "Barack Obama"))
    assert "obama_portrait_2012.jpg" in found and "as11-44-6555_earthrise.jpg" not in found
    assert _json(user_library, "search", "Barack Obama", "--facets")["facets"]["person"]
    faces = _json(user_library, "people", "faces", user_library.path("obama"))["faces"]
    assert faces and faces[0]["name"] == "Barack Obama"


def test_people_commands_change_a_copy(library_copy: UserLibrary) -> None:
    if not library_copy.faces:
        pytest.skip("needs ../shared/data/faces-pd")
    biden = next(p for p in _json(library_copy, "people")["people"] if p["name"] == "Joe Biden")  # from the region
    run_shashin(library_copy, "people", "name", biden["person_id"], "Joseph Biden").ok()
    run_shashin(library_copy, "people", "rename", "Joseph Biden", "Joe").ok()
    face = _json(library_copy, "people", "faces", library_copy.path("biden"))["faces"][0]
    run_shashin(library_copy, "people", "not", library_copy.path("biden"), "Joe").ok()
    run_shashin(library_copy, "people", "move", face["face_id"], "Joe").ok()
    run_shashin(library_copy, "people", "merge", "Barack Obama", "Joe").ok()
    run_shashin(library_copy, "people", "recluster").ok()
    run_shashin(library_copy, "people", "forget", "Barack Obama").ok()
    assert all(p["name"] != "Barack Obama" for p in _json(library_copy, "people")["people"])
    assert run_shashin(library_copy, "people", "name", "nobody-here", "X").code == 1


def test_saved_searches_tags_captions_and_orphans_on_a_copy(library_copy: UserLibrary) -> None:
    run_shashin(library_copy, "saved", "add", "Temples", "temple OR 寺", "--rating", "3").ok()
    run_shashin(library_copy, "saved", "add", "Kyoto", "", "--near", "Kyoto").ok()
    listed = _json(library_copy, "saved")["saved"]
    assert {s["name"] for s in listed} == {"Temples", "Kyoto"}
    assert "kiyomizu.jpg" in _names(_json(library_copy, "saved", "run", "temples", "--facets"))
    assert run_shashin(library_copy, "saved", "add", "Long", "sign " * 300).code == 2
    run_shashin(library_copy, "saved", "remove", "Kyoto").ok()
    run_shashin(library_copy, "saved", "list").ok()
    run_shashin(library_copy, "tag", library_copy.path("exit"), "add", "出口", "emergency").ok()
    assert "exit.webp" in _names(_json(library_copy, "search", "", "--keyword", "emergency"))
    run_shashin(library_copy, "tag", library_copy.path("exit"), "remove", "emergency").ok()
    run_shashin(library_copy, "caption", "set", library_copy.path("exit"), "非常口の緑の看板", "--lang", "ja").ok()
    assert _names(_json(library_copy, "search", "非常口"))[0] == "exit.webp"
    assert _json(library_copy, "orphans")["orphans"] == []
    run_shashin(library_copy, "caption", "--backend", "import", "--from-metadata").ok()


def test_exports_dry_run_and_tables(user_library: UserLibrary, tmp_path: Path) -> None:
    before = sorted(p.name for p in user_library.photos.rglob("*.xmp"))
    dry = run_shashin(user_library, "export", "--fields", "alt-text,keywords,title,people", "--dry-run").ok()
    assert "kiyomizu.jpg" in dry.stdout
    assert sorted(p.name for p in user_library.photos.rglob("*.xmp")) == before  # nothing written
    planned = _json(user_library, "export", "--fields", "keywords", "--dry-run")["photos"]
    targets = {Path(item["path"]).name: Path(item["target"]).name for item in planned}
    assert targets["kiyomizu.jpg"] == "kiyomizu.xmp" and "a.xmp" not in targets.values()  # a.xmp is shared
    for fmt in ("csv", "json", "html"):
        out = tmp_path / f"alt.{fmt}"
        run_shashin(user_library, "export", "alt-text", "--format", fmt, "--out", str(out)).ok()
        assert "kiyomizu" in out.read_text(encoding="utf-8")
    run_shashin(user_library, "export", "alt-text", "--out", str(tmp_path / "sidecars")).ok()
    assert list((tmp_path / "sidecars").rglob("*.xmp"))


def test_status_check_optimize_and_eval(library_copy: UserLibrary, tmp_path: Path) -> None:
    assert _json(library_copy, "check")["healthy"] is True
    run_shashin(library_copy, "optimize").ok()
    queries = tmp_path / "queries.jsonl"
    rows = [
        {"id": "q1", "query": "清水寺", "lang": "ja", "relevant": [library_copy.path("lightroom")]},
        {"id": "q2", "query": "NARA PARK", "lang": "en", "relevant": [library_copy.path("takeout")]},
    ]
    queries.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    report = _json(library_copy, "eval", str(queries))
    assert report and "fused" in json.dumps(report)
    run_shashin(library_copy, "status").ok()


def test_help_of_every_command_reads_for_a_newcomer(user_library: UserLibrary) -> None:
    from shashin.cli import app

    commands = [c.name or c.callback.__name__ for c in app.registered_commands] + [
        g.name for g in app.registered_groups if g.name
    ]
    assert len(commands) >= 17
    for command in commands:
        shown = run_shashin(user_library, command, "--help").ok().stdout
        assert "Usage:" in shown and len(shown.splitlines()) > 5, command
