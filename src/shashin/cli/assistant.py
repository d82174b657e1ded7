"""`shashin mcp`: a Model Context Protocol server, so assistants can search the library."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from shashin.cli.common import DbOption, app, err, guarded, open_library, usage_error


@app.command()
def mcp(
    db: DbOption = None,
    http: Annotated[
        str | None,
        typer.Option(
            "--http",
            metavar="HOST:PORT",
            help="Serve streamable HTTP at http://HOST:PORT/mcp (this machine only: 127.0.0.1) instead of stdio.",
            show_default=False,
        ),
    ] = None,
    allow_writes: Annotated[
        bool, typer.Option("--allow-writes", help="Offer set_caption too (otherwise the library is only read).")
    ] = False,
    any_file: Annotated[
        bool,
        typer.Option(
            "--allow-any-file",
            help="Let the similar tool open any image file this user can read (otherwise: the library's photos and files under its folders).",
        ),
    ] = False,
    links: Annotated[
        str | None,
        typer.Option(
            "--links",
            metavar="URL",
            help="Address of a running `shashin serve` (http://127.0.0.1:8750): results link thumbnails and pages there.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run an MCP server so an assistant can search the library (stdio, or streamable HTTP).

    Tools: search, similar, photo, status (and set_caption with --allow-writes); photos are
    resources. Claude Desktop and other assistants start it themselves over stdio, e.g. in their settings:
    {"mcpServers": {"shashin": {"command": "shashin", "args": ["mcp"]}}}.
    """
    from shashin.assistant.server import build_server

    library = open_library(db)
    guarded(library.status)  # no library: one clear line now, not an error inside the protocol
    server = build_server(library, allow_writes=allow_writes, links=links or "", any_file=any_file)
    if http is None:
        server.run("stdio")
        return
    host, _, port = http.rpartition(":")
    try:
        loopback = ipaddress.ip_address(host or "127.0.0.1").is_loopback
        number = int(port)
    except ValueError:
        loopback, number = host == "localhost", int(port) if port.isdigit() else 0
    if not loopback or not 0 < number < 65536:
        usage_error(f"--http {http}: give 127.0.0.1:PORT (the MCP server has no access token; keep it on this machine)")
    err.print(f"shashin MCP server at http://{host or '127.0.0.1'}:{number}/mcp (Ctrl-C stops)")
    server.run("streamable-http", host=host or "127.0.0.1", port=number)
