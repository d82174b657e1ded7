"""Search: by words and filters (/api/search and the search page), by an uploaded photo, and
photos that look like one in the library."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from shashin.search import Sort
from shashin.search.filters.declared import restricts
from shashin.web import render
from shashin.web.filters import openapi_parameters, panel, request_filters, search_address
from shashin.web.state import ApiError, AppState, State
from shashin.web.uploads import display_name, saved_upload

router = APIRouter()
Filtered = Annotated[dict[str, Any], Depends(request_filters)]
PAGE_SIZE = 24
ALL_HELP = "also the results below the relevance cut-off (counted in `cut` otherwise)"


@router.get(
    "/api/search",
    tags=["search"],
    summary="Search photos by words, dates, places and filters",
    openapi_extra={"parameters": openapi_parameters()},
)
def api_search(
    request: Request,
    state: State,
    filters: Filtered,
    q: str = "",
    sort: Sort = "relevance",
    min_score: Annotated[float, Query(ge=0, le=1)] = 0.0,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    literal: bool = False,
    facets: Annotated[
        bool, Query(description="count the photos found by year, place, camera, text, keyword, person")
    ] = False,
    everything: Annotated[bool, Query(alias="all", description=ALL_HELP)] = False,
) -> dict[str, Any]:
    """Results with their explanation: each channel's rank, score and evidence, how each channel
    was weighed for this query, highlights, date, place. `relevance` is the probability of a true
    match; results below the cut-off are counted in `cut`, not listed, unless `all`. `q` reads
    "cat -dog" (not dog), "cat OR kitten" (either) unless `literal`. `sort`: relevance, date
    (oldest first) or -date (newest first). Every filter is a parameter (see the list below); a
    repeated one gives several values."""
    response = state.search(
        q,
        filters,
        limit=limit,
        offset=offset,
        parse=not literal,
        sort=sort,
        min_score=min_score,
        facets=facets,
        everything=everything,
    )
    return state.with_links(response, render.lang(request))


@router.get("/api/photos/{photo_id}/similar", tags=["search"], summary="Photos that look like this one")
def api_similar(
    request: Request,
    state: State,
    photo_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    state.detail(photo_id)
    return state.with_links(state.similar(photo_id, limit, offset), render.lang(request))


@router.post("/api/similar", tags=["search"], summary="Photos that look like an uploaded photo")
async def api_similar_upload(
    request: Request,
    state: State,
    photo: Annotated[UploadFile, File()],
    limit: Annotated[int, Form(ge=1, le=200)] = 20,
    csrf: Annotated[str, Form(description="this server's form secret (GET /api/csrf), or send the token")] = "",
) -> dict[str, Any]:
    """Needs the form secret (field `csrf` or header X-Shashin-CSRF) or the token."""
    return await _similar_to_upload(request, state, photo, limit, csrf)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page_search(
    request: Request,
    state: State,
    filters: Filtered,
    q: str = "",
    sort: Sort = "relevance",
    offset: Annotated[int, Query(ge=0)] = 0,
    ui: str | None = None,
    everything: Annotated[bool, Query(alias="all")] = False,
) -> HTMLResponse:
    language = render.lang(request)
    asked = bool(q.strip()) or restricts(filters)
    home = None if asked else state.library.home()
    document = None
    if asked:
        response = state.search(
            q, filters, limit=PAGE_SIZE, offset=offset, sort=sort, facets=True, everything=everything
        )
        document = state.with_links(response, language)
    return state.page(
        "search.html",
        request,
        params={"q": q, "sort": sort, "offset": offset},
        show_all=render.here(request, all="true", offset=0),
        panel=panel(request, language),
        document=document,
        asked=asked,
        pages_links=_paging(request, document) if document else {},
        facet_links=_facet_links(request, document) if document else {},
        saved=[(saved.name, search_address(saved.to_dict())) for saved in state.library.saved.all()],
        address=str(request.url.replace(scheme="", netloc="")),
        home=home,
        alt_texts=state.library.alt_texts(home.recent, language) if home else {},
    )


@router.post("/similar", response_class=HTMLResponse, include_in_schema=False)
async def page_similar_upload(
    request: Request, state: State, photo: Annotated[UploadFile, File()], csrf: Annotated[str, Form()] = ""
) -> HTMLResponse:
    document = await _similar_to_upload(request, state, photo, PAGE_SIZE, csrf)
    return state.page(
        "search.html",
        request,
        params={"q": "", "sort": "relevance", "offset": 0},
        panel=panel(request, render.lang(request)),
        document=document,
        asked=True,
        by_photo=display_name(photo.filename),
        pages_links={},
    )


async def _similar_to_upload(
    request: Request, state: AppState, photo: UploadFile, limit: int, csrf: str
) -> dict[str, Any]:
    """Search by an uploaded photo; no temporary path ever shows in an answer."""
    name = display_name(photo.filename)
    async with saved_upload(request, state, photo, csrf) as path:
        try:
            return state.with_links(state.similar(str(path), limit, 0), render.lang(request))
        except ApiError as exc:
            raise ApiError(exc.http_status, exc.message.replace(str(path), name)) from None


def _facet_links(request: Request, document: dict[str, Any]) -> dict[str, list[tuple[str, int, str]]]:
    """Each facet value as (value, count, the search's address with its filter added)."""
    return {
        kind: [(v["value"], v["count"], render.here(request, **v["filter"], offset=0)) for v in values]
        for kind, values in (document.get("facets") or {}).items()
    }


def _paging(request: Request, document: dict[str, Any]) -> dict[str, str]:
    links = {}
    offset, total = document["offset"], document["total"]
    if offset > 0:
        links["previous"] = render.here(request, offset=max(0, offset - PAGE_SIZE))
    if offset + PAGE_SIZE < total:
        links["next"] = render.here(request, offset=offset + PAGE_SIZE)
    return links
