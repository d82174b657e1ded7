"""The `shashin` command as a user runs it: help, exit codes, JSON documents, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize("command", ["index", "search", "similar", "duplicates", "status", "eval", "caption", "serve", "export alt-text", "caption set"])
def test_every_command_has_help(command: str) -> None:
    result = run_cli(*command.split(), "--help", check=True)
    assert "--db" in result.stdout and "Usage" in result.stdout


def test_top_level_help_lists_commands() -> None:
    result = run_cli("--help", check=True)
    for command in ("index", "search", "similar", "duplicates", "status"):
        assert command in result.stdout


@pytest.fixture(scope="module")
def cli_library(tmp_path_factory: pytest.TempPathFactory, text_photos: Path) -> Path:
    db = tmp_path_factory.mktemp("cli") / "db"
    result = run_cli("index", str(text_photos), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "9 new photos" in result.stdout and "photos/s" in result.stdout
    return db


def test_search_json_document(cli_library: Path, text_photos: Path) -> None:
    document = json.loads(run_cli("search", "ポイ捨て", "--db", str(cli_library), "--json", check=True).stdout)
    assert document["query"] == "ポイ捨て"
    top = document["results"][0]
    assert set(top) >= {"rank", "path", "score", "channels", "highlights"}
    assert top["rank"] == 1 and top["path"] == str(text_photos / "park/no-litter.jpg")
    assert top["channels"]["ocr"]["rank"] == 1 and top["channels"]["ocr"]["score"] > 0
    highlight = top["highlights"][0]
    start, end = highlight["spans"][0]
    assert highlight["text"][start:end] == "ポイ捨て"


def test_search_text_output_and_limit(cli_library: Path, text_photos: Path) -> None:
    result = run_cli("search", "NO", "--db", str(cli_library), "--limit", "1", check=True)
    lines = result.stdout.splitlines()
    assert lines[0].lstrip().startswith("1. ") and "more with --offset 1" in result.stdout
    assert "ocr #1" in result.stdout


def test_no_results_is_not_an_error(cli_library: Path) -> None:
    result = run_cli("search", "xylophone", "--db", str(cli_library), check=True)
    assert "No photos matched" in result.stdout


def test_status_text_and_json(cli_library: Path) -> None:
    text = run_cli("status", "--db", str(cli_library), check=True).stdout
    assert "9 photos" in text and "ocr" in text
    document = json.loads(run_cli("status", "--db", str(cli_library), "--json", check=True).stdout)
    assert document["photos"] == 9
    assert document["channels"]["ocr"] == {**document["channels"]["ocr"], "done": 9, "failed": 0, "pending": 0}


def test_quiet_index_prints_nothing(cli_library: Path) -> None:
    result = run_cli("index", "--db", str(cli_library), "--quiet", check=True)
    assert result.stdout == "" and result.stderr == ""


def test_db_from_environment(cli_library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHASHIN_DB", str(cli_library))
    assert json.loads(run_cli("status", "--json", check=True).stdout)["photos"] == 9


def test_missing_library_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("search", "x", "--db", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "no shashin library" in result.stderr and "Traceback" not in result.stderr


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("index", str(tmp_path / "no-such-folder"), "--db", str(tmp_path / "db"))
    assert result.returncode == 1 and "no such folder" in result.stderr


def test_db_that_is_a_photo_folder_is_refused(tmp_path: Path, text_photos: Path) -> None:
    result = run_cli("index", str(text_photos), "--db", str(text_photos))
    assert result.returncode == 1 and "not a shashin library" in result.stderr
    assert not (text_photos / "tables").exists() and not (text_photos / "writer.lock").exists()


def test_index_without_folders_on_a_new_library(tmp_path: Path) -> None:
    result = run_cli("index", "--db", str(tmp_path / "db"))
    assert result.returncode == 1 and "no folders yet" in result.stderr


def test_bad_config_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[ocr]\nmin_confidense = 0.3\n", encoding="utf-8")
    monkeypatch.setenv("SHASHIN_CONFIG", str(config))
    result = run_cli("status", "--db", str(tmp_path / "db"))
    assert result.returncode == 1 and "unknown setting 'ocr.min_confidense'" in result.stderr


def test_search_explain_and_filters(cli_library: Path, text_photos: Path) -> None:
    result = run_cli("search", "car", "--db", str(cli_library), "--near", "京都", "--explain", check=True)
    assert "filters: within 13 km of Kyoto (京都), JP" in result.stdout
    assert str(text_photos / "street/car-park.jpg") in result.stdout and "card-game" not in result.stdout
    assert "taken 2023-07-15 10:20" in result.stdout and "every word" in result.stdout and "fused score" in result.stdout
    parsed = json.loads(run_cli("search", "car 2023年7月", "--db", str(cli_library), "--json", check=True).stdout)
    assert parsed["searched"] == "car" and parsed["filters"]["taken_from"] == "2023-07-01T00:00:00"
    assert [Path(r["path"]).name for r in parsed["results"]] == ["car-park.jpg"]
    assert "Kyoto (京都), JP" in parsed["results"][0]["place"] and parsed["results"][0]["exact"] is True
    canon = json.loads(run_cli("search", "", "--camera", "canon", "--db", str(cli_library), "--json", check=True).stdout)
    assert [Path(r["path"]).name for r in canon["results"]] == ["car-park.jpg"]
    later = run_cli("search", "car", "--from", "2024", "--db", str(cli_library), check=True)
    assert "No photos matched" in later.stdout


def test_car_never_ranks_card_first(cli_library: Path) -> None:
    document = json.loads(run_cli("search", "Car", "--db", str(cli_library), "--json", check=True).stdout)
    names = [Path(r["path"]).name for r in document["results"]]
    assert names[0] == "car-park.jpg" and "card-game.png" not in names


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "someday"], "--from 'someday': not a date"),
        (["--near", "Qqqzzx"], "unknown place 'Qqqzzx'"),
        (["--sort", "random"], "--sort must be one of relevance, newest, oldest"),
        (["--near", "Kyoto", "--radius", "-1"], "--radius must be a positive"),
    ],
)
def test_bad_search_options_are_clear_errors(cli_library: Path, args: list[str], message: str) -> None:
    result = run_cli("search", "car", "--db", str(cli_library), *args)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
