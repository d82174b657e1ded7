"""A running `shashin serve` answers CLI searches over the library's socket; the CLI falls back."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from shashin.library.resident import search_handler
from shashin.resident import SOCKET_NAME, ResidentServer, ask
from tests.conftest import run_cli


def echo(request: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "echo": request}


def test_the_socket_is_owner_only_answers_and_is_removed_on_stop(tmp_path: Path) -> None:
    server = ResidentServer(tmp_path, echo)
    assert server.start()
    try:
        mode = stat.S_IMODE((tmp_path / SOCKET_NAME).stat().st_mode)
        assert mode == 0o600
        assert ask(tmp_path, {"op": "x", "n": 1}) == {"ok": True, "echo": {"op": "x", "n": 1}}
        assert ask(tmp_path, {"op": "ping"})["pid"] == os.getpid()
        assert not ResidentServer(tmp_path, echo).start()  # one server per library: the first keeps it
        assert ask(tmp_path, {"op": "x"}) is not None
    finally:
        server.stop()
    assert not (tmp_path / SOCKET_NAME).exists()
    assert ask(tmp_path, {"op": "x"}) is None  # nobody listens: the caller works alone


def test_a_socket_left_by_a_dead_server_is_replaced(tmp_path: Path) -> None:
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(tmp_path / SOCKET_NAME))
    dead.close()  # the file stays, nobody listens: as after kill -9
    assert ask(tmp_path, {"op": "x"}) is None
    server = ResidentServer(tmp_path, echo)
    assert server.start()
    try:
        assert ask(tmp_path, {"op": "x"})["ok"]
    finally:
        server.stop()


def test_a_library_path_longer_than_a_socket_address_still_works(tmp_path: Path) -> None:
    folder = tmp_path / ("deep-folder-name-" * 8)
    folder.mkdir()
    assert len(str(folder / SOCKET_NAME)) > 108
    server = ResidentServer(folder, echo)
    assert server.start()
    try:
        assert ask(folder, {"op": "x"})["ok"]
    finally:
        server.stop()


def test_a_failing_handler_or_a_garbled_request_lets_the_client_work_alone(tmp_path: Path) -> None:
    def broken(request: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")

    server = ResidentServer(tmp_path, broken)
    assert server.start()
    try:
        assert ask(tmp_path, {"op": "search"}) is None
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.connect(str(tmp_path / SOCKET_NAME))
            raw.sendall(b"not json\n")
            assert "fallback" in json.loads(raw.makefile("rb").readline())
        assert ask(tmp_path, {"op": "ping"})["ok"]  # still serving
    finally:
        server.stop()


@pytest.fixture
def served(indexed):  # type: ignore[no-untyped-def]
    """The indexed sample library with a resident server answering for it, counting requests."""
    library, _ = indexed
    answered: list[dict[str, Any]] = []
    handler = search_handler(library)

    def counting(request: dict[str, Any]) -> dict[str, Any]:
        answer = handler(request)
        answered.append(answer)
        return answer

    server = ResidentServer(library.path, counting)
    assert server.start()
    yield library, answered
    server.stop()


def test_the_cli_gets_the_same_results_from_a_running_server(served, text_photos: Path) -> None:  # type: ignore[no-untyped-def]
    library, answered = served
    db = str(library.path)
    through_server = run_cli("search", "ポイ捨て", "--db", db, "--json", check=True)
    assert [a.get("ok") for a in answered] == [True]
    alone = run_cli("search", "ポイ捨て", "--db", db, "--json", check=True, env={"SHASHIN_NO_RESIDENT": "1"})
    assert len(answered) == 1
    assert json.loads(through_server.stdout) == json.loads(alone.stdout)
    assert json.loads(through_server.stdout)["results"][0]["path"] == str(text_photos / "park/no-litter.jpg")
    explained = run_cli("search", "NO LITTER", "--db", db, "--explain", "--limit", "2", check=True)
    assert "no-litter.jpg" in explained.stdout and "fused score" in explained.stdout and len(answered) == 2


def test_a_bad_filter_is_the_servers_error_with_the_usual_exit_code(served) -> None:  # type: ignore[no-untyped-def]
    library, answered = served
    result = run_cli("search", "sign", "--db", str(library.path), "--from", "the day after never")
    assert result.returncode == 2 and "--from" in result.stderr
    assert answered and answered[-1]["ok"] is False


def test_a_client_with_other_settings_searches_itself(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    library, answered = served
    config = tmp_path / "other.toml"
    config.write_text("[search]\nrrf_k = 7\n")
    result = run_cli("search", "ポイ捨て", "--db", str(library.path), "--json", env={"SHASHIN_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert answered == [{"fallback": "the client runs with other settings"}]
    assert json.loads(result.stdout)["results"]
