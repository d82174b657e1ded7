"""`shashin mcp`: assistants search the library through the Model Context Protocol, tested with the
official SDK's own client — in-process, over stdio (the command an assistant starts) and over
streamable HTTP; read-only unless --allow-writes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from shashin import Library
from shashin.config import load_settings
from tests.conftest import REPO

pytest.importorskip("mcp")
from mcp import Client, StdioServerParameters


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("mcp")
    shutil.copytree(REPO / "samples", root / "photos")
    library = Library(settings=load_settings({"db": str(root / "db"), "channels": "phash"}))
    library.index([root / "photos"])
    return library


def _data(result: Any) -> Any:
    """A tool's answer: its structured content, or the JSON in its text."""
    if getattr(result, "structured_content", None):
        return result.structured_content.get("result", result.structured_content)
    return json.loads(result.content[0].text)


def test_an_assistant_finds_photos_and_reads_one(library: Library) -> None:
    from shashin.assistant.server import build_server

    async def session() -> None:
        async with Client(build_server(library)) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert tools == {"search", "similar", "photo", "status"}  # read-only: no set_caption
            found = _data(await client.call_tool("search", {"query": "park sign", "taken_from": "2024"}))
            [first] = found["results"]
            assert first["path"].endswith("2024-04-03_park-sign.jpg") and first["why"]
            assert first["thumbnail"] == f"shashin://photos/{first['photo_id']}/thumbnail"
            detail = _data(await client.call_tool("photo", {"photo_id": first["photo_id"]}))
            assert detail["photo_id"] == first["photo_id"] and "alt_text" in detail
            status = _data(await client.call_tool("status", {}))
            assert status["photos"] == 9
            thumb = await client.read_resource(first["thumbnail"])
            assert thumb.contents[0].mime_type == "image/webp"
            missing = await client.call_tool("photo", {"photo_id": "nope"})
            assert missing.is_error and "no photo nope" in missing.content[0].text

    anyio.run(session)


def test_writes_only_when_allowed(library: Library) -> None:
    from shashin.assistant.server import build_server

    async def session() -> None:
        async with Client(build_server(library, allow_writes=True, links="http://127.0.0.1:8750")) as client:
            assert "set_caption" in {tool.name for tool in (await client.list_tools()).tools}
            found = _data(await client.call_tool("search", {"query": "exit"}))
            target = found["results"][0]
            assert target["page"] == f"http://127.0.0.1:8750/photo/{target['photo_id']}"
            await client.call_tool("set_caption", {"photo": target["photo_id"], "text": "An emergency exit sign"})
            again = _data(await client.call_tool("search", {"query": "emergency"}))
            assert again["results"][0]["photo_id"] == target["photo_id"]

    anyio.run(session)


def test_similar_opens_only_the_librarys_files_unless_allowed(tmp_path: Path, tiny_models: dict[str, Path]) -> None:
    """Before, the similar tool opened any path the server's user could read."""
    from PIL import Image

    from shashin.assistant.server import build_server

    folder = tmp_path / "photos"
    shutil.copytree(REPO / "samples" / "tokyo", folder)
    outside = tmp_path / "private" / "secret.png"
    outside.parent.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(outside)
    Image.new("RGB", (64, 48), (30, 30, 200)).save(folder / "not-indexed-yet.png")
    settings = {"db": str(tmp_path / "db"), "channels": "image", "image.model": str(tiny_models["siglip2-fixres"])}
    library = Library(settings=load_settings(settings))
    library.index([folder])
    (folder / "late.png").write_bytes((folder / "not-indexed-yet.png").read_bytes())
    (folder / "link.png").symlink_to(outside)  # a link put inside the folder is judged by where it leads

    async def session(any_file: bool) -> dict[str, Any]:
        answers = {}
        async with Client(build_server(library, any_file=any_file)) as client:
            for name, path in (("outside", outside), ("link", folder / "link.png"), ("late", folder / "late.png")):
                answers[name] = await client.call_tool("similar", {"photo": str(path), "limit": 3})
        return answers

    guarded = anyio.run(session, False)
    for name in ("outside", "link"):
        assert guarded[name].is_error and "only files under its folders" in guarded[name].content[0].text
    assert not guarded["late"].is_error and _data(guarded["late"])["results"]  # under the folder: fine
    allowed = anyio.run(session, True)
    assert not allowed["outside"].is_error and _data(allowed["outside"])["results"]
    assert library.similar(outside, limit=3).results  # the command line keeps opening any file


def test_the_command_over_stdio_and_http(library: Library) -> None:
    env = {**os.environ, "SHASHIN_CHANNELS": "phash"}
    command = StdioServerParameters(
        command=sys.executable, args=["-m", "shashin", "mcp", "--db", str(library.path)], env=env
    )

    async def over_stdio() -> None:
        async with Client(command) as client:
            found = _data(await client.call_tool("search", {"query": "station"}))
            assert any(r["path"].endswith("station.jpg") for r in found["results"])

    anyio.run(over_stdio)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "shashin", "mcp", "--db", str(library.path), "--http", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        async def over_http() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                found = _data(await client.call_tool("search", {"query": "station"}))
                assert any(r["path"].endswith("station.jpg") for r in found["results"])

        for attempt in range(100):
            try:
                anyio.run(over_http)
                break
            except Exception:
                if attempt == 99 or server.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)
    refused = subprocess.run(
        [sys.executable, "-m", "shashin", "mcp", "--db", str(library.path), "--http", "0.0.0.0:9"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and "this machine" in refused.stderr


def test_no_library_is_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shashin", "mcp", "--db", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 1 and "no shashin library" in result.stderr
