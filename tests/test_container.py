"""The container image self-hosters run: built from the Containerfile with buildah, started with
podman against a copy of samples/ (read-only), healthy, searched through the API with its token,
a photo added to the mounted folder found, and stopped cleanly.

Skipped where podman/buildah are absent, or where no base image is at hand (no registry is
reachable on these machines: SHASHIN_CONTAINER_BASE names a local one, by default
localhost/debian:bookworm as NOTES.md says how to make). Package indexes and wheel folders that
pip uses here (file:// paths) are mounted into the build."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO

BASE = os.environ.get("SHASHIN_CONTAINER_BASE", "localhost/debian:bookworm")
TOKEN = "container-test-token"


def _have(tool: str) -> bool:
    return shutil.which(tool) is not None


pytestmark = pytest.mark.skipif(not (_have("podman") and _have("buildah")), reason="needs podman and buildah")


def _podman(*arguments: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", "--runtime", "runc", *arguments], capture_output=True, text=True, timeout=timeout, check=check
    )


def _pip_settings() -> tuple[list[str], list[str]]:
    """Build arguments and volumes that give pip in the build what it has here (file:// indexes)."""
    listed = subprocess.run(["pip", "config", "list"], capture_output=True, text=True).stdout
    values: dict[str, str] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        values[key.split(".")[-1]] = value.strip().strip("'")
    arguments, volumes = [], []
    for name, variable in (("extra-index-url", "PIP_EXTRA_INDEX_URL"), ("find-links", "PIP_FIND_LINKS")):
        if values.get(name):
            arguments += ["--build-arg", f"{variable}={values[name]}"]
            for folder in re.findall(r"(?:file://)?(/[^\s]+)", values[name]):
                root = "/" + folder.strip("/").split("/")[0] + "/" + folder.strip("/").split("/")[1]
                if Path(root).is_dir() and f"{root}:{root}:ro" not in volumes:
                    volumes += ["-v", f"{root}:{root}:ro"]
    if values.get("cert") and Path(values["cert"]).is_file():  # a proxy's own certificate authority
        volumes += ["-v", f"{values['cert']}:/etc/ssl/host-ca.crt:ro"]
        arguments += ["--build-arg", "PIP_CERT=/etc/ssl/host-ca.crt"]
    if values.get("find-links"):  # torch's CPU build lies there: its index need not be reached
        arguments += ["--build-arg", "TORCH_INDEX=https://pypi.org/simple"]
    return arguments, volumes


@pytest.fixture(scope="module")
def image() -> str:
    if _podman("image", "exists", BASE, check=False).returncode != 0:
        pytest.skip(f"no base image {BASE} here (NOTES.md, Containers, says how to make one)")
    tag = f"localhost/shashin-test:{uuid.uuid4().hex[:8]}"
    arguments, volumes = _pip_settings()
    built = subprocess.run(
        ["buildah", "bud", "--layers", "--format", "docker", "--isolation", "chroot", "--build-arg", f"BASE={BASE}", *arguments, *volumes,
         "-t", tag, "-f", "Containerfile", "."],
        cwd=REPO, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    yield tag
    _podman("rmi", "-f", tag, check=False)


def test_the_image_serves_watches_and_stops_cleanly(image: str, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    shutil.copytree(REPO / "samples", photos)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    name = f"shashin-test-{uuid.uuid4().hex[:8]}"
    _podman(
        "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8750", "-e", f"SHASHIN_TOKEN={TOKEN}",
        "-e", "HF_HUB_OFFLINE=1", "-v", f"{photos}:/photos:ro", image,
    )  # fmt: skip
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {TOKEN}"}

    def found(words: str) -> list[str]:
        try:
            answer = httpx.get(f"{url}/api/search", params={"q": words}, headers=auth, timeout=10)
        except httpx.HTTPError:
            return []
        return [Path(r["path"]).name for r in answer.json().get("results", [])] if answer.status_code == 200 else []

    try:
        deadline = time.monotonic() + 300
        while _podman("healthcheck", "run", name, check=False).returncode != 0:
            assert time.monotonic() < deadline, _podman("logs", name, check=False).stderr[-3000:]
            time.sleep(2)
        assert httpx.get(f"{url}/api/status", timeout=10).status_code == 401  # the token guards it
        deadline = time.monotonic() + 300
        while "station.jpg" not in found("station"):
            assert time.monotonic() < deadline, _podman("logs", name, check=False).stderr[-3000:]
            time.sleep(2)
        shutil.copy(REPO / "samples" / "tokyo" / "exit.png", photos / "added-exit.png")
        started = time.monotonic()
        while "added-exit.png" not in found("added exit"):
            assert time.monotonic() - started < 120, _podman("logs", name, check=False).stderr[-3000:]
            time.sleep(1)
        stopped = _podman("stop", "-t", "60", name, timeout=120)
        assert stopped.returncode == 0
        state = _podman("inspect", "--format", "{{.State.ExitCode}} {{.Config.User}}", name).stdout.split()
        assert state == ["0", "shashin"]
    finally:
        _podman("rm", "-f", name, check=False)


@pytest.mark.skipif(not _have("podman-compose"), reason="needs podman-compose (apt install podman-compose)")
def test_compose_yaml_runs_as_the_readme_says_with_podman_compose(image: str, tmp_path: Path) -> None:
    """`podman-compose up -d` with the .env the README describes (here with SHASHIN_IMAGE naming
    the image built above, as a published one would be): healthy, guarded by its token, searching."""
    photos = tmp_path / "photos"
    shutil.copytree(REPO / "samples" / "tokyo", photos)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project = f"shashin-compose-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "SHASHIN_TOKEN": TOKEN,
        "PHOTOS": str(photos),
        "SHASHIN_PORT": str(port),
        "SHASHIN_IMAGE": image,
    }
    compose = ["podman-compose", "-p", project, "-f", str(REPO / "compose.yaml")]
    try:
        up = subprocess.run([*compose, "up", "-d", "--no-build"], env=env, capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
        name = f"{project}_shashin_1"
        deadline = time.monotonic() + 300
        while _podman("healthcheck", "run", name, check=False).returncode != 0:  # the healthcheck came along
            assert time.monotonic() < deadline, _podman("logs", name, check=False).stderr[-3000:]
            time.sleep(2)
        url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{url}/api/status", timeout=10).status_code == 401
        deadline = time.monotonic() + 300
        while True:
            answer = httpx.get(f"{url}/api/search", params={"q": "station"}, headers=auth, timeout=10)
            if answer.status_code == 200 and any(r["path"].endswith("station.jpg") for r in answer.json()["results"]):
                break
            assert time.monotonic() < deadline, _podman("logs", name, check=False).stderr[-3000:]
            time.sleep(2)
    finally:
        subprocess.run([*compose, "down", "-v"], env=env, capture_output=True, text=True, timeout=300)
