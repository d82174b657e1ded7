"""The wheel users install (pipx install shashin-*.whl): `python -m build` makes it with the
templates and static files; installed into a fresh virtual environment, `shashin --version`,
`shashin index` and `shashin serve` work from another folder, pages and styles included.

The fresh environment takes shashin's dependencies from this one (a .pth line) rather than
downloading torch again: what is tested is the wheel's own contents and entry point."""

from __future__ import annotations

import os
import shutil
import site
import socket
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

from shashin import __version__
from tests.conftest import REPO

pytest.importorskip("build")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [made] = out.glob("shashin-*.whl")
    return made


def test_the_wheel_carries_what_serve_needs(wheel: Path) -> None:
    assert wheel.name.startswith(f"shashin-{__version__}-py3-none-any")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        path.relative_to(REPO / "src").as_posix()
        for path in (REPO / "src" / "shashin" / "web").rglob("*")
        if path.is_file() and path.parent.name in ("templates", "static")
    }
    assert shipped and shipped <= names
    assert any(name.endswith("entry_points.txt") for name in names)


def test_installed_from_the_wheel_it_indexes_and_serves_from_any_folder(wheel: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=True)
    python, shashin = fresh / "bin" / "python", fresh / "bin" / "shashin"
    packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # Appended (not prepended) to sys.path: the wheel's shashin is found before this checkout's.
    (packages / "zz_shashin_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "SHASHIN_DB": str(tmp_path / "db"), "SHASHIN_CHANNELS": "phash", "PYTHONPATH": ""}

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(shashin), *arguments], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
        )

    assert run("--version").stdout.strip() == f"shashin {__version__}"
    where = subprocess.run(
        [str(python), "-c", "import shashin; print(shashin.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    assert str(fresh) in where  # the installed wheel, not this checkout
    photos = tmp_path / "photos"
    shutil.copytree(REPO / "samples" / "tokyo", photos)
    indexed = run("index", str(photos))
    assert indexed.returncode == 0, indexed.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(shashin), "serve", "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                page = httpx.get(f"{url}/?q=station", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("the installed server did not answer")
        assert page.status_code == 200 and "station.jpg" in page.text
        assert httpx.get(f"{url}/static/style.css", timeout=5).status_code == 200
        assert httpx.get(f"{url}/api/status", timeout=5).json()["photos"] == 4
    finally:
        server.terminate()
        server.wait(timeout=60)
