"""Several values per filter: people (all, any, only these), places (any), through every interface's
argument names; the library is a Google Takeout folder whose JSON names the people and places."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from shashin import Library
from shashin.cli import app
from shashin.config import load_settings
from shashin.search.filters import build_filters
from shashin.search.filters.declared import from_params, restricts

KYOTO, TOKYO, OSAKA = (35.0116, 135.7681), (35.6812, 139.7671), (34.6937, 135.5023)
PHOTOS = {  # name: (people, where)
    "ken.jpg": (["Ken Tanaka"], KYOTO),
    "ken-mia.jpg": (["Ken Tanaka", "Mia Mori"], TOKYO),
    "mia.jpg": (["Mia Mori"], OSAKA),
    "ken-mia-jo.jpg": (["Ken Tanaka", "Mia Mori", "Jo Abe"], KYOTO),
    "nobody.jpg": ([], TOKYO),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("several")
    folder = root / "Takeout" / "Photos from 2024"
    folder.mkdir(parents=True)
    for n, (name, (people, (latitude, longitude))) in enumerate(PHOTOS.items()):
        Image.new("RGB", (64, 48), (40 * n, 90, 200 - 30 * n)).save(folder / name)
        (folder / f"{name}.supplemental-metadata.json").write_text(
            json.dumps(
                {
                    "title": name,
                    "photoTakenTime": {"timestamp": str(1_700_000_000 + n * 86_400)},
                    "geoData": {"latitude": latitude, "longitude": longitude},
                    "people": [{"name": person} for person in people],
                }
            ),
            encoding="utf-8",
        )
    library = Library(settings=load_settings({"db": str(root / "db"), "channels": "phash"}))
    library.index([root / "Takeout"])
    return library


def browse(library: Library, **filters: object) -> list[str]:
    response = library.search("", filters=build_filters(**filters), limit=50)  # type: ignore[arg-type]
    return sorted(Path(r.path).name for r in response.results)


def test_people_all_any_and_only_these(library: Library) -> None:
    assert browse(library, people=["Ken", "Mia"]) == ["ken-mia-jo.jpg", "ken-mia.jpg"]
    assert browse(library, people=["Ken", "Mia"], any_people=True) == [
        "ken-mia-jo.jpg",
        "ken-mia.jpg",
        "ken.jpg",
        "mia.jpg",
    ]
    assert browse(library, people=["Ken"], only_people=True) == ["ken.jpg"]
    assert browse(library, people=["Ken", "Mia"], only_people=True) == ["ken-mia.jpg"]
    assert browse(library, people=["Ken", "Mia"], any_people=True, only_people=True) == [
        "ken-mia.jpg",
        "ken.jpg",
        "mia.jpg",
    ]
    assert browse(library, people=["Ken Tanaka"], only_people=True) == ["ken.jpg"]  # the whole name, too


def test_places_any_of_them(library: Library) -> None:
    assert browse(library, near=["Kyoto"]) == ["ken-mia-jo.jpg", "ken.jpg"]
    assert browse(library, near=["Kyoto", "Osaka"]) == ["ken-mia-jo.jpg", "ken.jpg", "mia.jpg"]
    assert browse(library, near=["Kyoto", "Tokyo"], people=["Mia"]) == ["ken-mia-jo.jpg", "ken-mia.jpg"]


def test_qualifiers_alone_restrict_nothing() -> None:
    assert not restricts({"any_people": True, "only_people": True, "radius_km": 3.0})
    assert restricts({"people": ["Ken"], "any_people": True})
    assert not build_filters(any_people=True).active


def test_the_web_and_the_cli_take_several_values(library: Library) -> None:
    read = from_params([("person", "Ken"), ("person", "Mia"), ("any_person", "true"), ("near", "Kyoto")])
    assert read == {"people": ["Ken", "Mia"], "any_people": True, "near": ["Kyoto"]}
    runner = CliRunner()
    db = str(library.path)
    result = runner.invoke(
        app, ["search", "", "--db", db, "--person", "Ken", "--person", "Mia", "--any-person", "--json"]
    )
    assert result.exit_code == 0, result.output
    found = sorted(Path(r["path"]).name for r in json.loads(result.output)["results"])
    assert found == ["ken-mia-jo.jpg", "ken-mia.jpg", "ken.jpg", "mia.jpg"]
    result = runner.invoke(app, ["search", "", "--db", db, "--person", "Ken", "--only-people", "--json"])
    assert [Path(r["path"]).name for r in json.loads(result.output)["results"]] == ["ken.jpg"]
    result = runner.invoke(app, ["search", "", "--db", db, "--near", "Kyoto", "--near", "Osaka", "--sort", "-date"])
    assert result.exit_code == 0, result.output
    shown = [line.split("/")[-1].split()[0] for line in result.output.splitlines() if ". /" in line]
    assert shown == ["ken-mia-jo.jpg", "mia.jpg", "ken.jpg"]  # newest first
