"""Every MCP tool and resource on a library like a user's, through the official SDK's client. A test
fails when a tool is added without a case here."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from tests.userlike.library import UserLibrary

pytest.importorskip("mcp")
from mcp import Client


def _data(result: Any) -> Any:
    assert not result.is_error, result.content[0].text
    if getattr(result, "structured_content", None):
        return result.structured_content.get("result", result.structured_content)
    return json.loads(result.content[0].text)


def test_every_tool_on_a_users_library(library_copy: UserLibrary) -> None:
    from shashin.assistant.server import build_server

    used: set[str] = set()

    async def call(client: Client, tool: str, arguments: dict[str, Any]) -> Any:
        used.add(tool)
        return await client.call_tool(tool, arguments)

    async def session() -> None:
        async with Client(build_server(library_copy.library, allow_writes=True)) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            for query, filters in (
                ("cat -dog", {}),
                ("temple OR castle", {}),
                ("", {"keywords": ["Places|Japan"]}),
                ("deer", {"near": "Nara"}),
                ("", {"taken_from": "2019", "taken_to": "2019"}),
                ("清水寺", {"rating": 4}),
                ("", {"cameras": ["Nikon"], "has_text": False}),
                ("sign", {"folders": [str(library_copy.photos / "samples")], "limit": 3, "offset": 1}),
            ):
                found = _data(await call(client, "search", {"query": query, **filters}))
                assert "results" in found
            [temple] = _data(await call(client, "search", {"query": "", "keywords": ["Places|Japan|Kyoto"]}))["results"]
            detail = _data(await call(client, "photo", {"photo_id": temple["photo_id"]}))
            assert detail["kept"]["rating"] == 4 and "alt_text" in detail
            similar = _data(await call(client, "similar", {"photo": library_copy.path("park_sign"), "limit": 3}))
            assert len(similar["results"]) == 3
            refused = await call(client, "similar", {"photo": "/etc/hostname"})
            assert refused.is_error and "only files under its folders" in refused.content[0].text
            status = _data(await call(client, "status", {}))
            assert status["photos"] >= 25 and len(status["errors"]) == 3
            written = await call(
                client, "set_caption", {"photo": temple["photo_id"], "text": "清水の舞台", "lang": "ja"}
            )
            assert not written.is_error
            again = _data(await call(client, "search", {"query": "清水の舞台"}))
            assert again["results"][0]["photo_id"] == temple["photo_id"]
            if library_copy.faces:
                people = _data(await call(client, "search", {"query": "", "people": ["Barack Obama"]}))
                assert people["results"]
            resource = await client.read_resource(f"shashin://photos/{temple['photo_id']}")
            assert temple["photo_id"] in resource.contents[0].text
            thumbnail = await client.read_resource(temple["thumbnail"])
            assert thumbnail.contents[0].mime_type == "image/webp"
            assert tools - used == set(), "tools without a case on the user library"

    anyio.run(session)
