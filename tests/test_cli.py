"""The `shashin` command as a user runs it: help, exit codes, JSON documents, messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, run_cli_unprivileged


@pytest.mark.parametrize(
    "command",
    [
        "index",
        "search",
        "similar",
        "duplicates",
        "status",
        "eval",
        "caption",
        "serve",
        "export alt-text",
        "caption set",
    ],
)
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
    assert result.returncode == 2 and "unknown setting 'ocr.min_confidense'" in result.stderr


def test_search_explain_and_filters(cli_library: Path, text_photos: Path) -> None:
    result = run_cli("search", "car", "--db", str(cli_library), "--near", "京都", "--explain", check=True)
    assert "filters: within 13 km of Kyoto (京都), JP" in result.stdout
    assert str(text_photos / "street/car-park.jpg") in result.stdout and "card-game" not in result.stdout
    assert (
        "taken 2023-07-15 10:20" in result.stdout and "every word" in result.stdout and "fused score" in result.stdout
    )
    parsed = json.loads(run_cli("search", "car 2023年7月", "--db", str(cli_library), "--json", check=True).stdout)
    assert parsed["searched"] == "car" and parsed["filters"]["taken_from"] == "2023-07-01T00:00:00"
    assert [Path(r["path"]).name for r in parsed["results"]] == ["car-park.jpg"]
    assert "Kyoto (京都), JP" in parsed["results"][0]["place"] and parsed["results"][0]["exact"] is True
    canon = json.loads(
        run_cli("search", "", "--camera", "canon", "--db", str(cli_library), "--json", check=True).stdout
    )
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
        (["--near", "Kyoto", "--radius", "nan"], "--radius must be a positive"),
        (["--near", "Kyoto", "--radius", "inf"], "--radius must be a positive"),
        (["--from", "February 30 2023"], "February 2023 has 28 days"),
        (["--from", "2024", "--to", "2023"], "--from 2024 is after --to 2023"),
    ],
)
def test_bad_search_options_are_clear_errors(cli_library: Path, args: list[str], message: str) -> None:
    result = run_cli("search", "car", "--db", str(cli_library), *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_control_characters_from_files_and_captions_never_reach_the_terminal(tmp_path: Path) -> None:
    """Escape sequences in file and folder names, EXIF camera fields and captions (clear the screen,
    set the window title, write the clipboard with OSC 52) are printed escaped; --json stays exact."""
    from tools.render import Sign, save

    hostile = "\x1b]0;PWNED\x07\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07\u202e"
    folder = tmp_path / f"photos{hostile}"
    photo = save(
        Sign(["EXIT"], seed=3, exif={"camera_make": f"Canon{hostile}", "camera_model": "R6"}),
        folder / f"sign{hostile}.jpg",
    )
    (folder / f"broken{hostile}.jpg").write_bytes(b"\xff\xd8\xff" + b"\x00" * 64)
    db = tmp_path / "db"
    outputs = [
        run_cli("index", str(folder), "--db", str(db), "--channels", "ocr"),
        run_cli("search", "exit", "--db", str(db), "--explain"),
        run_cli("search", "canon", "--db", str(db)),
        run_cli("status", "--db", str(db)),
        run_cli("caption", "set", str(photo), f"a caption{hostile}", "--db", str(db)),
    ]
    for result in outputs:
        assert "\x1b" not in result.stdout + result.stderr and "\u202e" not in result.stdout + result.stderr, (
            result.args
        )
    assert "\\x1b]0;PWNED" in outputs[0].stdout + outputs[0].stderr and "\\u202e" in outputs[1].stdout
    assert "a caption\\x1b]0;PWNED" in outputs[4].stdout
    document = json.loads(run_cli("search", "exit", "--db", str(db), "--json", check=True).stdout)
    assert document["results"][0]["path"] == str(photo)  # exact in JSON


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("beach February 30 2023", "'February 30 2023' is not a date: February 2023 has 28 days"),
        ("photos 2024 to 2020", "'2024 to 2020' ends before it starts"),
        ("sign " * 300, "the query is 1,500 characters long; the limit is 1,000"),
    ],
)
def test_queries_that_cannot_be_searched_as_written_are_said(cli_library: Path, query: str, message: str) -> None:
    result = run_cli("search", query, "--db", str(cli_library))
    assert result.returncode == 2 and message in " ".join(result.stderr.split()), result.stderr


def test_dates_in_the_query_and_the_options_that_exclude_each_other_are_said(cli_library: Path) -> None:
    result = run_cli("search", "car 2022", "--from", "2023", "--db", str(cli_library))
    assert result.returncode == 2 and "leave no time between them" in result.stderr


def test_coordinates_match_photos_by_position_only(tmp_path: Path) -> None:
    """--near 0,0 once let in every photo without GPS whose name had a 0 in it."""
    from tools.render import Sign, save

    folder = tmp_path / "photos"
    save(Sign(["ROOM 0"], seed=1), folder / "room-0.jpg")
    save(Sign(["BUOY"], seed=2, exif={"gps": (0.001, 0.002)}), folder / "buoy.jpg")
    db = tmp_path / "db"
    run_cli("index", str(folder), "--db", str(db), "--channels", "ocr", check=True)
    found = json.loads(run_cli("search", "", "--near", "0,0", "--db", str(db), "--json", check=True).stdout)
    assert [Path(r["path"]).name for r in found["results"]] == ["buoy.jpg"]


def test_an_image_model_asked_for_by_name_is_an_error_when_missing(tmp_path: Path, text_photos: Path) -> None:
    result = run_cli(
        "index",
        str(text_photos / "park"),
        "--db",
        str(tmp_path / "db"),
        "--image-model",
        str(tmp_path / "no-model"),
        "--quiet",
    )
    assert result.returncode == 1 and "--image-model" in result.stderr and "does not exist" in result.stderr


def test_invalid_utf8_arguments_are_refused_clearly() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "shashin", "search", b"caf\xe9".decode("utf-8", "surrogateescape")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "not valid UTF-8" in result.stderr and "Traceback" not in result.stderr


def test_a_read_only_library_and_a_damaged_one_are_one_line_each(
    cli_library: Path, tmp_path: Path, text_photos: Path
) -> None:
    import os
    import shutil

    copy = tmp_path / "db"
    shutil.copytree(cli_library, copy)
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        result = run_cli_unprivileged("index", "--db", str(copy))
        assert result.returncode == 1 and "Traceback (most" not in result.stderr and "│" not in result.stderr
        assert "cannot be written (Permission denied" in result.stderr and len(result.stderr.strip().splitlines()) == 1
        searched = run_cli_unprivileged("search", "litter", "--db", str(copy), "--json")
        assert searched.returncode == 0, searched.stderr  # a read-only library can still be searched
    finally:
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    data = next((copy / "tables" / "files.lance" / "data").iterdir())
    data.write_bytes(os.urandom(data.stat().st_size))  # garbled
    # Search structures saved before the damage would answer without reading the table; without
    # them the table is read and the damage reported.
    shutil.rmtree(copy / "search", ignore_errors=True)
    result = run_cli("search", "litter", "--db", str(copy))
    assert result.returncode == 1 and "Traceback (most" not in result.stderr and "is damaged" in result.stderr
    assert "shashin check" in result.stderr
    checked = run_cli("check", "--db", str(copy), "--json")
    assert checked.returncode == 1
    report = json.loads(checked.stdout)
    files = next(t for t in report["tables"] if t["name"] == "files")
    assert files["problem"] and files["unreadable_rows"] > 0 and "--repair" in files["advice"]
    repaired = run_cli("check", "--db", str(copy), "--repair")
    assert repaired.returncode == 0 and "now run `shashin index`" in repaired.stdout
    run_cli("index", "--db", str(copy), check=True)
    assert json.loads(run_cli("check", "--db", str(copy), "--json", check=True).stdout)["healthy"] is True
    found = json.loads(run_cli("search", "ポイ捨て", "--db", str(copy), "--json", check=True).stdout)
    assert found["results"][0]["path"] == str(text_photos / "park/no-litter.jpg")


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 500 KB file system (tmpfs), for a library that runs out of space; skipped where it cannot be mounted."""
    import subprocess

    mount = tmp_path / "small-disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=500k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {made.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_and_a_rerun_finishes(small_disk: Path, text_photos: Path) -> None:
    import subprocess

    db = small_disk / "db"
    result = run_cli("index", str(text_photos), "--db", str(db), "--channels", "ocr")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback (most" not in result.stderr and "│" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "no space left on the disk" in errors[0] and result.stderr.rstrip().endswith(errors[0])
    subprocess.run(["mount", "-o", "remount,size=50m", str(small_disk)], check=True)
    again = run_cli("index", "--db", str(db), "--channels", "ocr", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(run_cli("status", "--db", str(db), "--json", check=True).stdout)["photos"] == 9


def test_status_does_not_call_a_damaged_library_healthy(cli_library: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "db"
    shutil.copytree(cli_library, copy)
    assert run_cli("status", "--db", str(copy)).returncode == 0
    data = next((copy / "tables" / "photos.lance" / "data").iterdir())
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])  # cut short, as by a full disk or a bad copy
    result = run_cli("status", "--db", str(copy))
    assert (
        result.returncode == 1
        and "damaged" in result.stderr
        and "photos" in result.stderr
        and "shashin check" in result.stderr
    )
