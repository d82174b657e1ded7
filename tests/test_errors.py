"""Every error kind shashin explains reaches a person the same way: one line and its exit code on
the command line, JSON with its status from the web — translated in one place each."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import shashin
from shashin.errors import ShashinError
from shashin.library import Library
from tests.web.conftest import LiveServer


def _every_kind() -> list[type[ShashinError]]:
    for module in pkgutil.walk_packages(shashin.__path__, "shashin."):
        if not module.name.startswith(("shashin.scale", "shashin.__main__")):
            importlib.import_module(module.name)
    importlib.import_module("shashin.scale.ray_ingest")  # without starting Ray
    kinds, todo = [], [ShashinError]
    while todo:
        kind = todo.pop()
        kinds.append(kind)
        todo.extend(kind.__subclasses__())
    return sorted({k for k in kinds if k.__name__ != "ApiError"}, key=lambda k: k.__qualname__)


KINDS = _every_kind()


def test_the_kinds_people_meet_are_all_on_the_one_base() -> None:
    names = {kind.__name__ for kind in KINDS}
    assert {
        "ConfigError",
        "StorageError",
        "StoreError",
        "StoreBusy",
        "LibraryError",
        "QueryError",
        "ModelUnavailable",
        "RayUnavailable",
        "MediaError",
        "FilterError",
        "DateError",
        "ExportError",
        "CaptionFileError",
        "QueryFileError",
    } <= names
    statuses = {kind.__name__: kind.http_status for kind in KINDS}
    assert statuses["ConfigError"] == 400 and statuses["StorageError"] == 503  # were 500s
    assert statuses["StoreBusy"] == 409 and statuses["QueryError"] == 400 and statuses["ModelUnavailable"] == 503


def _raising(kind: type[ShashinError], library: Library) -> None:
    def status() -> None:
        raise kind(f"{kind.__name__}: what went wrong and how to fix it")

    library.status = status  # type: ignore[method-assign]


def test_every_kind_is_json_with_its_status_from_the_web(tmp_path: Path) -> None:
    library = Library(tmp_path / "db")
    with LiveServer(library) as live:
        for kind in KINDS:
            _raising(kind, library)
            answer = httpx.get(f"{live.url}/api/status")
            assert answer.status_code == kind.http_status, kind
            assert answer.headers["content-type"].startswith("application/json"), kind
            assert answer.json() == {
                "error": f"{kind.__name__}: what went wrong and how to fix it",
                "status": kind.http_status,
            }


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_every_kind_is_one_line_and_its_exit_code_on_the_command_line(
    kind: type[ShashinError], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shashin.cli import app

    def status(self: Library) -> None:
        raise kind(f"{kind.__name__}: what went wrong")

    monkeypatch.setattr(Library, "status", status)
    result = CliRunner().invoke(app, ["status", "--db", str(tmp_path / "db")])
    assert result.exit_code == kind.exit_code
    assert result.output.strip() == f"error: {kind.__name__}: what went wrong"
    assert "Traceback" not in result.output
