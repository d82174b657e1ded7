"""Broken files are reported one by one, never fatal, and the rest of the folder is indexed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shashin import Library
from tests.badfiles import write_bad_files
from tests.conftest import run_cli, run_cli_unprivileged, write_photos


@pytest.fixture
def messy_folder(tmp_path: Path, text_photos: Path) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "photos"
    write_photos(folder, ["park/no-litter.jpg", "station/tokyo.jpg"])
    good_jpeg = (text_photos / "park/no-litter.jpg").read_bytes()
    expected = write_bad_files(folder / "bad", good_jpeg)
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "junk.jpg").write_bytes(b"ignored")  # hidden folders are not photos
    (folder / "@eaDir").mkdir()
    (folder / "@eaDir" / "SYNOFILE_THUMB_XL.jpg").write_bytes(b"ignored")  # NAS thumbnail caches neither
    (folder / "notes.txt").write_text("not a photo extension: ignored")
    return folder, expected


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path: Path, messy_folder: tuple[Path, dict[str, str]]) -> None:
    folder, expected = messy_folder
    db = tmp_path / "db"
    result = run_cli("index", str(folder), "--db", str(db), "--json")
    assert result.returncode == 3, result.stderr  # finished, but some files failed
    report = json.loads(result.stdout)
    assert report["new_photos"] == 2 and report["channels"]["ocr"]["processed"] == 2
    reported = {error["path"]: error["message"] for error in report["errors"]}
    assert set(reported) == set(expected)
    for path, word in expected.items():
        assert word in reported[path], (path, reported[path])

    status = json.loads(run_cli("status", "--db", str(db), "--json", check=True).stdout)
    assert {error["path"] for error in status["errors"]} == set(expected)
    assert status["photos"] == 2

    search = json.loads(run_cli("search", "ポイ捨て", "--db", str(db), "--json", check=True).stdout)
    assert search["results"][0]["path"] == str(folder / "park/no-litter.jpg")


def test_rerun_keeps_reporting_without_redoing_work(tmp_path: Path, messy_folder: tuple[Path, dict[str, str]]) -> None:
    folder, expected = messy_folder
    library = Library(tmp_path / "db")
    first = library.index([folder])
    assert first.failed and len(first.errors) == len(expected)
    again = library.index()
    assert again.photos_processed == 0 and again.channels["ocr"].processed == 0
    assert sorted(e.path for e in again.errors) == sorted(e.path for e in first.errors)
    assert len(library.status().errors) == len(expected)  # not duplicated


def test_fixed_and_deleted_bad_files_leave_the_error_list(
    tmp_path: Path, messy_folder: tuple[Path, dict[str, str]], text_photos: Path
) -> None:
    folder, expected = messy_folder
    library = Library(tmp_path / "db")
    library.index([folder])
    (folder / "bad" / "truncated.jpg").write_bytes((text_photos / "games/card-game.png").read_bytes())
    (folder / "bad" / "empty.jpg").unlink()
    report = library.index()
    assert report.new_photos == 1
    remaining = {error.path for error in library.status().errors}
    assert str(folder / "bad" / "truncated.jpg") not in remaining
    assert str(folder / "bad" / "empty.jpg") not in remaining
    assert len(remaining) == len(expected) - 2
    assert next(r.path for r in library.search("card").results) == str(folder / "bad" / "truncated.jpg")


def test_good_photo_corrupted_later_is_reported(tmp_path: Path, photo_copy: Path) -> None:
    library = Library(tmp_path / "db")
    library.index([photo_copy])
    path = photo_copy / "games/card-game.png"
    path.write_bytes(path.read_bytes()[:200])
    report = library.index()
    assert [(e.path, e.stage) for e in report.errors] == [(str(path), "decode")]
    assert "card" not in " ".join(r.path for r in library.search("card game").results)


def test_unreadable_file(tmp_path: Path, photo_copy: Path) -> None:
    path = photo_copy / "park/no-litter.jpg"
    path.chmod(0)
    try:
        result = run_cli_unprivileged("index", str(photo_copy), "--db", str(tmp_path / "db"), "--json")
        report = json.loads(result.stdout)
        assert [(e["path"], "permission denied" in e["message"].lower()) for e in report["errors"]] == [
            (str(path), True)
        ]
        assert report["new_photos"] == 2
    finally:
        path.chmod(0o644)


def test_odd_shapes_and_hostile_contents_cost_bounded_memory_and_say_why(tmp_path: Path) -> None:
    """A 75-byte 600×1 GIF once made OCR allocate 18 GB; a 2 GB non-image took minutes to refuse;
    error messages quoted the first bytes of whatever a link pointed to. Now: every shape indexed
    within the memory of an everyday photo, refusals in milliseconds, no content quoted."""
    import subprocess
    import sys
    import time

    from tests.badfiles import write_hostile_contents, write_odd_shapes

    folder = tmp_path / "photos"
    shapes = write_odd_shapes(folder / "shapes")
    hostile = write_hostile_contents(folder / "hostile")
    db = tmp_path / "db"
    started = time.monotonic()
    # A fresh parent whose only child is the index run, so the peak is that run's alone.
    measure = (
        "import resource, subprocess, sys; "
        "code = subprocess.run(sys.argv[1:]).returncode; "
        "sys.stderr.write(f'PEAK {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}'); sys.exit(code)"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            measure,
            sys.executable,
            "-m",
            "shashin",
            "index",
            str(folder),
            "--db",
            str(db),
            "--json",
            "--channels",
            "ocr,phash",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    peak_mb = int(result.stderr.rsplit("PEAK ", 1)[1]) / 1024
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    assert report["new_photos"] == len(shapes) and report["channels"]["ocr"]["processed"] == len(shapes)
    assert report["channels"]["ocr"]["failed"] == 0
    reported = {error["path"]: error["message"] for error in report["errors"]}
    assert set(reported) == set(hostile)
    for path, word in hostile.items():
        assert word in reported[path], (path, reported[path])
    assert (
        "root:x" not in result.stdout + result.stderr and "secret" not in reported[str(folder / "hostile/passwd.jpg")]
    )
    assert peak_mb < 1500, f"indexing odd shapes peaked at {peak_mb:.0f} MB"
    assert time.monotonic() - started < 300  # the 2 GB file was refused without being read
    status = run_cli("status", "--db", str(db), "--json", check=True).stdout
    assert "root:x" not in status
