"""The light install (no torch): indexing, search by what photos show, search by photo, status
and the web's home page all work, and the image channel says which extra adds it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import run_cli

LIGHT = {
    "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent / "light_install"), os.environ.get("PYTHONPATH", "")])
}
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(scope="module")
def light_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("light") / "db"
    result = run_cli("index", str(SAMPLES), "--db", str(db), "--channels", "ocr,image,labels", env=LIGHT)
    assert result.returncode == 0, result.stderr
    assert "image vectors need torch and transformers, which this install leaves out" in result.stdout + result.stderr
    assert "'shashin[image]'" in result.stdout + result.stderr
    return db


def test_the_light_install_indexes_and_searches(light_library: Path) -> None:
    found = json.loads(
        run_cli("search", "NO LITTER", "--db", str(light_library), "--json", check=True, env=LIGHT).stdout
    )
    assert found["results"] and found["results"][0]["path"].endswith("2024-04-03_park-sign.jpg")
    status = json.loads(run_cli("status", "--db", str(light_library), "--json", check=True, env=LIGHT).stdout)
    assert status["channels"]["labels"]["done"] == status["photos"] == 9
    assert "shashin[image]" in (status["channels"]["image"]["unavailable"] or "")


def test_the_light_install_finds_photos_by_photo(light_library: Path) -> None:
    similar = run_cli(
        "similar", str(SAMPLES / "tokyo" / "station.jpg"), "--db", str(light_library), "--json", check=True, env=LIGHT
    )
    results = json.loads(similar.stdout)["results"]
    assert results and all(list(r["channels"]) == ["labels"] for r in results)
    assert not any(r["path"].endswith("tokyo/station.jpg") for r in results)
