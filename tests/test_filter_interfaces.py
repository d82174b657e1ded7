"""Every declared filter (search.filters.declared.FILTERS) reaches every interface: the CLI's
search, similar and saved add, /api/search, the MCP search tool, the search page's panel, saved
searches and the Filters a search carries. A filter one interface lacks fails here."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from fastapi.testclient import TestClient

from shashin.assistant.server import build_server
from shashin.cli import app
from shashin.config import load_settings
from shashin.library import Library
from shashin.search.filters import FILTERS, build_filters, select
from shashin.web import WebSettings, create_app

SAMPLE = {declared.argument: [declared.example] if declared.many else declared.example for declared in FILTERS}
# Read together with another filter rather than selecting on their own: from + to make one date
# range (Filters.when), radius goes with near (Filters.near).
COMPOSED = {"taken_from", "taken_to", "near", "radius_km"}
READ_BY_ANOTHER = {argument for declared in FILTERS for argument in declared.reads}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Library:
    root = tmp_path_factory.mktemp("filters")
    (root / "photos").mkdir()
    library = Library(settings=load_settings({"db": str(root / "db"), "channels": "phash"}))
    library.index([root / "photos"])  # an empty library: the interfaces are what is checked
    return library


def test_every_filter_is_declared_whole() -> None:
    assert len({f.argument for f in FILTERS}) == len({f.param for f in FILTERS}) == len(FILTERS)
    for declared in FILTERS:
        assert declared.help and all(declared.label), declared.argument
        assert declared.example is not None, f"{declared.argument}: give an example value"
        if declared.argument in COMPOSED:
            assert declared.select is None
        elif declared.argument in READ_BY_ANOTHER:  # qualifies another filter's values (--any-person)
            assert declared.select is None
            assert declared.words(declared.clean(SAMPLE[declared.argument])), f"{declared.argument} says nothing"
        else:
            assert callable(getattr(select, declared.select or "", None)), (
                f"{declared.argument}: no select.{declared.select}"
            )
            assert declared.words(declared.clean(SAMPLE[declared.argument])), f"{declared.argument} says nothing"


def _options(*path: str) -> set[str]:
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return {flag.split("/")[0] for parameter in command.params for flag in parameter.opts}


@pytest.mark.parametrize("command", [("search",), ("similar",), ("saved", "add")])
def test_the_cli_has_every_filter(command: tuple[str, ...]) -> None:
    options = _options(*command)
    for declared in FILTERS:
        assert (
            declared.flags[0].split("/")[0] if declared.flags else f"--{declared.param.replace('_', '-')}"
        ) in options


def test_the_api_and_the_search_page_have_every_filter(library: Library) -> None:
    client = TestClient(create_app(library, WebSettings()), base_url="http://127.0.0.1")
    documented = {p["name"] for p in client.get("/openapi.json").json()["paths"]["/api/search"]["get"]["parameters"]}
    page = client.get("/").text
    for declared in FILTERS:
        assert declared.param in documented, f"/api/search does not document {declared.param}"
        assert re.search(rf'<(input|select)[^>]* name="{declared.param}"', page), f"the panel lacks {declared.param}"
    # Every filter given on the page's address is read (its value is shown back in the panel).
    address = client.get("/", params={"q": "", **_params()}).text
    for declared in FILTERS:
        shown = html.unescape(address)
        assert str(declared.example).lower() in shown.lower(), declared.param


def _params() -> dict[str, Any]:
    return {d.param: str(d.example).lower() if isinstance(d.example, bool) else d.example for d in FILTERS}


def test_the_mcp_search_tool_has_every_filter(library: Library) -> None:
    tools = asyncio.run(build_server(library).list_tools())
    schema = next(tool for tool in tools if tool.name == "search").input_schema
    for declared in FILTERS:
        assert declared.argument in schema["properties"], declared.argument
        assert schema["properties"][declared.argument]["description"] == declared.help


def test_saved_searches_keep_every_filter(library: Library) -> None:
    client = TestClient(create_app(library, WebSettings()), base_url="http://127.0.0.1")
    saved = client.put("/api/saved/Everything", json={"query": "sign", "filters": _params()})
    assert saved.status_code == 200, saved.text
    kept = saved.json()["filters"]
    assert set(kept) == {f.argument for f in FILTERS}
    page = client.get("/api/saved").json()["saved"][0]["page"]
    assert all(f"{declared.param}=" in page for declared in FILTERS), page
    assert library.saved.all()[0].describe().count("·") >= len(FILTERS) - len(COMPOSED)


def test_a_search_carries_every_filter() -> None:
    filters = build_filters(**SAMPLE)
    described = filters.to_dict()
    for declared in FILTERS:
        if declared.argument not in COMPOSED:
            assert described[declared.argument] not in (None, []), declared.argument
    assert len(filters.describe()) >= len(FILTERS) - len(COMPOSED) + 2  # dates and place in words too


def test_a_bad_value_names_its_filter_everywhere(library: Library, tmp_path: Path) -> None:
    client = TestClient(create_app(library, WebSettings()), base_url="http://127.0.0.1")
    answer = client.get("/api/search", params={"q": "x", "rating": "lots"})
    assert answer.status_code == 400 and answer.json()["error"].startswith("rating must be a whole number")
    with pytest.raises(Exception, match="--rating must be a whole number of stars from 1 to 5"):
        build_filters(rating=9)
