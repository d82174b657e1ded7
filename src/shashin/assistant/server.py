"""`shashin mcp`: the library as Model Context Protocol tools and resources, for assistants.

Tools: search (words and every filter, results with why they matched and thumbnail links),
similar, photo (details, captions, alt text), status, and — only when started with
--allow-writes — set_caption. Resources: shashin://photos/{id} (details as JSON) and
shashin://photos/{id}/thumbnail (WebP). Over stdio (an assistant starts it) or streamable HTTP."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

from shashin import __version__
from shashin.errors import ShashinError
from shashin.library import Library
from shashin.search import SORTS
from shashin.search.filters import Filter, build_filters
from shashin.search.filters.declared import Parameters

INSTRUCTIONS = (
    "Search the user's photo library by what photos show, the text in them, captions, file names, "
    'dates, places, cameras and people, in English or Japanese. Queries read dates and places ("beach '
    'July 2023", 「2025年9月の京都」), exclusions ("cat -dog") and alternatives ("cat OR kitten"). Each '
    "result says why it matched; cite the photo's path. Thumbnails are resources shashin://photos/{id}/thumbnail."
)


def _argument(declared: Filter) -> tuple[str, Any, Any]:
    """A declared filter as an argument of the search tool: its Python name, described. One that
    repeats also takes a single value ("near": "Kyoto", as before it repeated)."""
    from pydantic import Field

    kind: Any = list[str] | str | None if declared.many else declared.kind | None
    return declared.argument, Annotated[kind, Field(description=declared.help)], None


mcp_filters = Parameters(_argument)


def build_server(library: Library, *, allow_writes: bool = False, links: str = "", any_file: bool = False) -> Any:
    """The MCP server for `library`; `links`: the address of a running `shashin serve`, for
    thumbnail and page links an assistant can show (else resource URIs); `any_file`: similar may
    open any image file the server's user can read, not only the library's (--allow-any-file)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError

    server = MCPServer("shashin", version=__version__, instructions=INSTRUCTIONS)

    def told(action: Callable[..., Any]) -> Callable[..., Any]:
        """A tool whose every explained failure (no such photo, a date that does not exist, a
        channel's model missing) reaches the assistant as its message, not as "error executing"."""

        @functools.wraps(action)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return action(*args, **kwargs)
            except ShashinError as exc:
                raise ToolError(exc.message) from exc

        return run

    def thumbnail(photo_id: str) -> str:
        if links:
            return f"{links.rstrip('/')}/api/photos/{photo_id}/thumbnail"
        return f"shashin://photos/{photo_id}/thumbnail"

    def shown(response: Any) -> dict[str, Any]:
        document = response.to_dict()
        for result in document["results"]:
            result["thumbnail"] = thumbnail(result["photo_id"])
            result["why"] = [f"{h['field']}: {h['text']}" for h in result["highlights"]]
            if links:
                result["page"] = f"{links.rstrip('/')}/photo/{result['photo_id']}"
        return document

    @server.tool()
    @told
    @mcp_filters
    def search(
        query: str,
        filters: dict[str, Any],
        limit: int = 10,
        offset: int = 0,
        sort: str = "relevance",
        all: bool = False,
    ) -> dict[str, Any]:
        """Search photos: words or a description (any language), with optional filters — dates
        (taken_from/taken_to: "2023", "2023-07", "July 2023"), a place (near: "Kyoto" or "lat,lon",
        radius_km), cameras, people named in the library, keywords, rating (1-5 stars, at least),
        labels, has_text, folders. "cat -dog" excludes, "cat OR kitten" finds either. Returns the
        photos best first (sort: relevance, date for oldest first, -date for newest first) with why
        each matched and a thumbnail link. `relevance` is the probability of a true match; weaker
        results are left out and counted in `cut` unless `all` (no results and cut > 0: nothing
        in the library matches well)."""
        if sort not in SORTS:
            raise ToolError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        chosen = build_filters(**{argument: value for argument, value in filters.items() if value is not None})
        return shown(
            library.search(
                query,
                filters=chosen,
                limit=max(1, min(limit, 100)),
                offset=max(0, offset),
                sort=sort,  # type: ignore[arg-type]
                everything=all,
            )
        )

    @server.tool()
    @told
    def similar(photo: str, limit: int = 10) -> dict[str, Any]:
        """Photos that look like `photo`: a photo id, a photo's path, or an image file under the
        library's folders (any image file when the server was started with --allow-any-file)."""
        return shown(library.similar(photo, limit=max(1, min(limit, 100)), any_file=any_file))

    @server.tool()
    @told
    def photo(photo_id: str) -> dict[str, Any]:
        """Everything known about one photo: files, date, place, camera, captions, text read in it,
        keywords, people, and its alt text."""
        detail = library.photo(photo_id)
        if detail is None:
            raise ToolError(f"no photo {photo_id} in this library")
        document = detail.to_dict()
        document["alt_text"] = library.alt_texts([photo_id]).get(photo_id, "")
        document["thumbnail"] = thumbnail(photo_id)
        return document

    @server.tool()
    @told
    def status() -> dict[str, Any]:
        """The library: photos, folders, each channel's progress, files that failed and why."""
        return library.status().to_dict()

    if allow_writes:

        @server.tool()
        @told
        def set_caption(photo: str, text: str, lang: str = "en") -> dict[str, Any]:
            """Write a caption for a photo (a path or photo id) in `lang` (en, ja): stored as a
            person's words, it wins over generated captions and becomes the alt text."""
            photo_id = library.set_caption(photo, text, lang=lang)
            return {"photo_id": photo_id, "lang": lang, "caption": " ".join(text.split())}

    @server.resource("shashin://photos/{photo_id}", mime_type="application/json")
    def photo_resource(photo_id: str) -> dict[str, Any]:
        """One photo's details."""
        detail = library.photo(photo_id)
        if detail is None:
            raise ResourceNotFoundError(f"no photo {photo_id} in this library")
        return detail.to_dict()

    @server.resource("shashin://photos/{photo_id}/thumbnail", mime_type="image/webp")
    def thumbnail_resource(photo_id: str) -> bytes:
        """One photo's thumbnail (WebP)."""
        data = library.thumbnail(photo_id)
        if data is None:
            raise ResourceNotFoundError(f"photo {photo_id} has no thumbnail")
        return data

    return server
