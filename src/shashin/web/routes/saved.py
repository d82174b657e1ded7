"""Saved searches (smart albums): kept under a name, run live; saved from the API or from the
search page's address."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from shashin.web import render
from shashin.web.filters import read_filters, search_address
from shashin.web.routes.search import Sort
from shashin.web.state import State

router = APIRouter()


class SavedBody(BaseModel):
    """A search to keep under a name: its words, its filters (named as /api/search's parameters:
    from, to, folder, camera, has_text, near, radius, keyword, rating, label, person) and order."""

    query: str = Field("", max_length=2000)
    filters: dict[str, Any] = Field(default_factory=dict)
    sort: Sort = "relevance"


@router.get("/api/saved", tags=["search"], summary="Saved searches (smart albums)")
def api_saved(state: State) -> dict[str, Any]:
    found = state.library.saved.all()
    return {"saved": [{**s.to_dict(), "page": search_address(s.to_dict())} for s in found]}


@router.put("/api/saved/{name}", tags=["search"], summary="Save a search under a name (replacing one)")
def api_save(state: State, name: str, body: SavedBody) -> dict[str, Any]:
    """A live query: run it with GET /api/saved/{name}/results, photos indexed since included."""
    filters = read_filters(body.filters.items())
    with state.writing:
        saved = state.library.saved.save(name, body.query, filters, body.sort)
    return saved.to_dict()


@router.delete("/api/saved/{name}", tags=["search"], summary="Forget a saved search")
def api_unsave(state: State, name: str) -> dict[str, Any]:
    with state.writing:
        return state.library.saved.remove(name).to_dict()


@router.get("/api/saved/{name}/results", tags=["search"], summary="Run a saved search now")
def api_saved_results(
    request: Request,
    state: State,
    name: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    facets: bool = False,
) -> dict[str, Any]:
    with state.searching:
        response = state.library.saved.run(name, limit=limit, offset=offset, facets=facets)
    return state.with_links(response, render.lang(request))


@router.post("/saved", include_in_schema=False)
def page_save(
    request: Request,
    state: State,
    name: Annotated[str, Form()],
    address: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> RedirectResponse:
    """The search page's "save this search": its address's words and filters under a name."""
    state.from_our_page(csrf)
    asked = parse_qsl(urlsplit(address).query)
    words = dict(asked)
    with state.writing:
        saved = state.library.saved.save(name, words.get("q", ""), read_filters(asked), words.get("sort", "relevance"))
    return RedirectResponse(search_address(saved.to_dict()) + f"&ui={render.lang(request)}", status_code=303)
