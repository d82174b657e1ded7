"""What a resident process (shashin serve) answers on the library's socket: searches for the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shashin.errors import ShashinError
from shashin.resident import Handler, ResidentServer, settings_fingerprint
from shashin.search.filters import build_filters

if TYPE_CHECKING:
    from shashin.library import Library


def resident_server(library: Library) -> ResidentServer | None:
    """A ResidentServer answering for `library` (not yet started), or None for a library on
    object storage, which has no folder to hold a socket."""
    from pathlib import Path

    if not isinstance(library.path, Path):
        return None
    return ResidentServer(library.path, search_handler(library))


def search_handler(library: Library) -> Handler:
    """Answer {"op": "search", "query", "options", "filters"} as `shashin search` would, for
    clients whose settings are this library's; anything else is left to the client."""
    fingerprint = settings_fingerprint(library.settings)

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        if request.get("settings") != fingerprint:
            return {"fallback": "the client runs with other settings"}
        if request.get("op") != "search":
            return {"fallback": f"unknown request {request.get('op')!r}"}
        try:
            options = dict(request.get("options") or {})
            response = library.search(
                str(request["query"]), filters=build_filters(**(request.get("filters") or {})), **options
            )
        except ShashinError as exc:
            return {"ok": False, "error": exc.message, "exit_code": exc.exit_code}
        return {"ok": True, "response": response.to_dict()}

    return answer


__all__ = ["resident_server", "search_handler"]
