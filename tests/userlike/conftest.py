"""The library like a user's (tests/userlike/library.py), built once per session, and ways to use
it: the real command in this process, a copy of the library for tests that change it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shashin import Library
from shashin.config import load_settings
from tests.userlike.library import UserLibrary, build


@pytest.fixture(scope="session")
def user_library(tmp_path_factory: pytest.TempPathFactory, tiny_models: dict[str, Path]) -> UserLibrary:
    from tools.render import cjk_font_path

    if cjk_font_path() is None:
        pytest.fail("the library renders Japanese signs and needs a CJK font: apt install fonts-noto-cjk")
    return build(tmp_path_factory.mktemp("user-library"), tiny_models["siglip2-fixres"])


@pytest.fixture
def library_copy(user_library: UserLibrary, tmp_path: Path) -> UserLibrary:
    """The user library with a database of its own (the same photos): for tests that change it."""
    db = tmp_path / "db"
    shutil.copytree(user_library.db, db)
    settings = {**user_library.settings, "db": str(db)}
    config = tmp_path / "config.toml"
    config.write_text(user_library.config.read_text(encoding="utf-8").replace(str(user_library.db), str(db)))
    return UserLibrary(
        user_library.photos,
        settings,
        Library(settings=load_settings(settings)),
        config,
        dict(user_library.roles),
        list(user_library.people),
        coco=user_library.coco,
        faces=user_library.faces,
    )


@dataclass(frozen=True)
class Ran:
    """What one command did: exit code, what it printed, and anything it let escape."""

    code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    def ok(self) -> Ran:
        assert self.code == 0 and self.exception is None, f"exit {self.code}: {self.stderr or self.stdout}"
        return self


def run_shashin(library: UserLibrary, *args: str, stdin: str | None = None) -> Ran:
    """`shashin ARGS` with the library's settings file, in this process (the real command's code:
    typer's runner calls the same app the console script does)."""
    from shashin.cli import app

    env = {"SHASHIN_CONFIG": str(library.config), "COLUMNS": "200", "SHASHIN_NO_RESIDENT": "1"}
    result = CliRunner().invoke(app, list(args), env=env, input=stdin, catch_exceptions=True)
    escaped = result.exception if not isinstance(result.exception, SystemExit) else None
    assert "Traceback" not in result.stderr, result.stderr
    assert "unexpected" not in result.stderr, result.stderr
    return Ran(result.exit_code, result.stdout, result.stderr, escaped)
