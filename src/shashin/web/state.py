"""What every router shares: the library, the server's settings and secrets, and the few steps
routes of several areas take (find a photo or a 404, search within the concurrency limit, add
links to results, check a form came from this server's page)."""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from shashin.errors import ShashinError
from shashin.library import Library, PhotoDetail
from shashin.search.engine import SearchResponse
from shashin.search.filters import build_filters
from shashin.web import render
from shashin.web.security import WebSettings, same

PHOTO_ID = re.compile(r"^[0-9a-f]{32}$")


class ApiError(ShashinError):
    """An error only the web has (a form from elsewhere, a photo id that is not one), with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = status


@dataclass
class AppState:
    """One server's library, settings, templates and locks (app.state.shashin)."""

    library: Library
    settings: WebSettings
    pages: Environment = field(default_factory=render.environment)
    form_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))  # forms and uploads carry it
    writing: threading.Lock = field(default_factory=threading.Lock)  # one write at a time from this server

    def __post_init__(self) -> None:
        self.searching = threading.BoundedSemaphore(max(1, self.settings.concurrent_searches))

    def detail(self, photo_id: str) -> PhotoDetail:
        """The photo, or a 404 that says why (not an id, not in this library)."""
        if not PHOTO_ID.match(photo_id):
            raise ApiError(404, f"no photo {photo_id!r}: photo ids are 32 hexadecimal digits")
        found = self.library.photo(photo_id)
        if found is None:
            raise ApiError(404, f"no photo {photo_id} in this library")
        return found

    def search(self, query: str, filters: dict[str, Any], **options: Any) -> SearchResponse:
        """A search within the server's concurrency limit; a bad filter is a 400 (a UsageError)."""
        chosen = build_filters(**filters)
        with self.searching:
            return self.library.search(query, filters=chosen, **options)

    def similar(self, target: str, limit: int, offset: int) -> SearchResponse:
        with self.searching:
            return self.library.similar(target, limit=limit, offset=offset)

    def with_links(self, response: SearchResponse, language: str) -> dict[str, Any]:
        """A response as JSON with each result's thumbnail, page and alt text."""
        document = response.to_dict()
        alts = self.library.alt_texts([r.photo_id for r in response.results], language)
        for result in document["results"]:
            result["thumbnail"] = f"/api/photos/{result['photo_id']}/thumbnail"
            result["page"] = f"/photo/{result['photo_id']}"
            result["alt_text"] = alts.get(result["photo_id"], "")
        return document

    def from_our_page(self, csrf: str) -> None:
        """A form post must carry the secret of this server's pages (its origin was checked by the gate)."""
        if not same(csrf, self.form_secret):
            raise ApiError(403, "this form did not come from this server's page; reload the page and try again")

    def page(self, name: str, request: Request, **context: Any) -> HTMLResponse:
        """A page in the reader's language, with this server's form secret."""
        return render.page(self.pages, name, request, render.lang(request), csrf=self.form_secret, **context)


async def _state(request: Request) -> AppState:
    # async: FastAPI runs a plain function dependency in its thread pool, a hop per request for nothing.
    state: AppState = request.app.state.shashin
    return state


State = Annotated[AppState, Depends(_state)]
"""A route's parameter for the app's state: `def route(state: State)`."""
