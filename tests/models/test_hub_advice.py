"""The advice a missing model comes with fits how shashin was installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shashin.models.hub import download_advice


def test_an_install_gets_the_hf_command_of_its_own_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHASHIN_CONTAINER", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # as pipx leaves it: the environment's bin is not on PATH
    advice = download_advice("google/siglip2-base-patch16-256", "--image-model")
    hf = Path(sys.executable).with_name("hf")
    command = str(hf) if hf.exists() else "hf"
    assert f"`{command} download google/siglip2-base-patch16-256`" in advice
    assert "--image-model /path/to/folder" in advice and "docker" not in advice


def test_the_container_is_told_about_its_cache_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHASHIN_CONTAINER", "1")
    advice = download_advice("google/siglip2-base-patch16-256")
    assert "docker compose exec shashin hf download google/siglip2-base-patch16-256" in advice
    assert "/cache volume" in advice
