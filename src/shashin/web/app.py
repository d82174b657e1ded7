"""The web app: REST API under /api, HTML pages around it, one Library behind both.

Safety, since photo text comes from strangers and any web page the user visits can send requests
to a server on their machine: a request is answered only when it names this server (its Host is
loopback, an IP address or a name it was told: a rebinding DNS name is refused before anything
else); a state-changing request from another origin is refused (Origin, Sec-Fetch-Site), so is
any request another site's page makes but a link followed (fetches, images, frames), and
forms and uploads carry a per-server secret; bodies are refused from their declared length or as
soon as they pass it; every page is rendered by Jinja2 with autoescaping and no inline script (a
Content-Security-Policy forbids it); files are served only by photo id and only while they are
what was indexed; a token guards every route when the server listens beyond this machine; every
error is JSON (API) or a page, never a traceback.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import mimetypes
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal
from urllib.parse import quote

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from shashin import __version__, storage
from shashin.errors import ShashinError
from shashin.library import Library, LibraryError, PhotoDetail
from shashin.search.engine import SearchResponse
from shashin.search.explain import Snippet
from shashin.search.filters import build_filters
from shashin.web.i18n import TEXTS, choose_language

HERE = Path(__file__).parent
PHOTO_ID = re.compile(r"^[0-9a-f]{32}$")
COOKIE = "shashin_token"
_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# FastAPI's /docs page is Swagger UI from a CDN with an inline bootstrap script.
_DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https://fastapi.tiangolo.com; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' https://cdn.jsdelivr.net; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
Sort = Literal["relevance", "newest", "oldest"]


_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_UPLOAD_ROUTES = frozenset({"/api/similar", "/similar"})
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
CSRF_HEADER = "x-shashin-csrf"


@dataclass(frozen=True)
class WebSettings:
    """How the server guards itself: an access token (None: open, for 127.0.0.1), the host names
    it answers to besides loopback names and IP addresses ("photos.example.com", ".lan" for every
    name under lan, "*" for any), and limits on bodies, uploads, queries and concurrent searches."""

    token: str | None = None
    max_upload_bytes: int = 30_000_000
    max_upload_pixels: int = 60_000_000
    allowed_hosts: tuple[str, ...] = ()
    max_body_bytes: int = 64_000  # JSON and form bodies other than uploads
    concurrent_searches: int = 4  # more wait; a slow search holds one place, not the server


class PersonName(BaseModel):
    """A name for a person."""

    name: str = Field(min_length=1, max_length=200)


class PersonMerge(BaseModel):
    """People who are the same person as the one in the path."""

    others: list[str] = Field(min_length=1, max_length=100)


class TagEdit(BaseModel):
    """A person's tags: words to add to a photo, or to take away."""

    action: Literal["add", "remove"]
    words: list[str] = Field(min_length=1, max_length=50)


class SavedBody(BaseModel):
    """A search to keep under a name: its words, its filters (named as /api/search's parameters:
    from, to, folder, camera, has_text, near, radius, keyword, rating, label, person) and order."""

    query: str = Field("", max_length=2000)
    filters: dict[str, Any] = Field(default_factory=dict)
    sort: Sort = "relevance"


class CaptionEdit(BaseModel):
    """A caption written by a person."""

    text: str = Field(min_length=1, max_length=2000)
    prompt_set: Literal["brief", "detailed"] = "brief"


class ApiError(ShashinError):
    """An error only the web has (a form from elsewhere, a photo id that is not one), with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = status


def create_app(library: Library, settings: WebSettings | None = None) -> FastAPI:
    """The FastAPI app serving `library`."""
    settings = settings or WebSettings()
    app = FastAPI(title="shashin", version=__version__, description="Search your photos.", docs_url="/docs")
    pages = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
    searching = threading.BoundedSemaphore(max(1, settings.concurrent_searches))
    writing = threading.Lock()  # one write at a time from this server (the library's writer lock is per process)
    form_secret = secrets.token_urlsafe(24)  # pages' forms and uploads carry it: another site cannot post them
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next):  # type: ignore[no-untyped-def]
        if settings.token and not _authorized(request, settings.token):
            if _is_api(request):
                return JSONResponse(
                    {"error": "a token is needed: send 'Authorization: Bearer TOKEN'", "status": 401}, status_code=401
                )
            return HTMLResponse(
                "<!doctype html><title>shashin</title><p>This server needs its token: open the address "
                "printed by <code>shashin serve</code>, which ends in ?token=…</p>",
                status_code=401,
            )
        response: Response = await call_next(request)
        token = request.query_params.get("token")
        if settings.token and token and _same(token, settings.token):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        docs = request.url.path in ("/docs", "/docs/oauth2-redirect")
        response.headers["Content-Security-Policy"] = _DOCS_CSP if docs else _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # nothing leaks to other sites; forms keep their Origin
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.exception_handler(ShashinError)
    async def explained(request: Request, exc: ShashinError) -> Response:
        # Every kind the library explains, in one place: its message, with the status its kind carries.
        return _error(request, exc.http_status, exc.message, pages)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail), pages)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return _error(request, 400, problems or "bad request", pages)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # Logged by the server with its traceback; the client learns nothing of paths or code.
        return _error(request, 500, "the server could not answer this request (see the server's log)", pages)

    app.add_middleware(Gate, settings=settings, pages=pages)

    def run_search(params: dict[str, Any]) -> SearchResponse:
        # A FilterError is a UsageError: the app's ShashinError handler answers it with a 400.
        filters = build_filters(**filter_arguments(params))
        with searching:
            return library.search(
                params.get("q") or "",
                limit=params["limit"],
                offset=params["offset"],
                filters=filters,
                parse=not params.get("literal"),
                sort=params.get("sort") or "relevance",
                min_score=params.get("min_score") or 0.0,
                facets=bool(params.get("facets")),
            )

    def similar_to(target: str, limit: int, offset: int) -> SearchResponse:
        with searching:
            return library.similar(target, limit=limit, offset=offset)

    async def similar_to_upload(request: Request, photo: UploadFile, limit: int, csrf: str) -> dict[str, Any]:
        """Search by an uploaded photo; needs the form secret (or the token), and no temporary path
        ever shows in an answer."""
        if not _upload_allowed(request, [csrf, request.headers.get(CSRF_HEADER, "")], form_secret, settings.token):
            raise ApiError(
                403,
                "an upload needs this server's form secret (field csrf or header X-Shashin-CSRF, "
                "from GET /api/csrf) or its token",
            )
        name = _display_name(photo.filename)
        path = await _save_upload(photo, settings)
        try:
            return with_links(similar_to(str(path), limit, 0), _lang(request))
        except ApiError as exc:
            raise ApiError(exc.http_status, exc.message.replace(str(path), name)) from None
        finally:
            path.unlink(missing_ok=True)

    def detail(photo_id: str) -> PhotoDetail:
        if not PHOTO_ID.match(photo_id):
            raise ApiError(404, f"no photo {photo_id!r}: photo ids are 32 hexadecimal digits")
        found = library.photo(photo_id)
        if found is None:
            raise ApiError(404, f"no photo {photo_id} in this library")
        return found

    def with_links(response: SearchResponse, lang: str) -> dict[str, Any]:
        document = response.to_dict()
        alts = library.alt_texts([r.photo_id for r in response.results], lang)
        for result in document["results"]:
            result["thumbnail"] = f"/api/photos/{result['photo_id']}/thumbnail"
            result["page"] = f"/photo/{result['photo_id']}"
            result["alt_text"] = alts.get(result["photo_id"], "")
        return document

    # ------------------------------------------------------------------ REST API

    @app.get("/api/search", tags=["search"], summary="Search photos by words, dates, places and filters")
    def api_search(
        request: Request,
        q: str = "",
        taken_from: Annotated[
            str | None, Query(alias="from", description="2023, 2023-07, 'July 2023', 2025年9月")
        ] = None,
        to: str | None = None,
        folder: Annotated[list[str], Query()] = [],  # noqa: B006
        camera: Annotated[list[str], Query()] = [],  # noqa: B006
        has_text: bool | None = None,
        near: str | None = None,
        radius: Annotated[float | None, Query(gt=0)] = None,
        keyword: Annotated[list[str], Query(description="every one; 'Places|Japan' matches deeper levels")] = [],  # noqa: B006
        rating: Annotated[int | None, Query(ge=1, le=5, description="at least this many stars")] = None,
        label: Annotated[list[str], Query(description="any of these colour labels")] = [],  # noqa: B006
        person: Annotated[list[str], Query(description="every one of these people")] = [],  # noqa: B006
        sort: Sort = "relevance",
        min_score: Annotated[float, Query(ge=0, le=1)] = 0.0,
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
        literal: bool = False,
        facets: Annotated[
            bool, Query(description="count the photos found by year, place, camera, text, keyword, person")
        ] = False,
    ) -> dict[str, Any]:
        """Results with their explanation: each channel's rank and score, highlights, date, place.
        `q` reads "cat -dog" (not dog), "cat OR kitten" (either) unless `literal`."""
        params = {
            "q": q,
            "from": taken_from,
            "to": to,
            "folder": folder,
            "camera": camera,
            "has_text": has_text,
            "near": near,
            "radius": radius,
            "keyword": keyword,
            "rating": rating,
            "label": label,
            "person": person,
            "sort": sort,
            "min_score": min_score,
            "limit": limit,
            "offset": offset,
            "literal": literal,
            "facets": facets,
        }
        return with_links(run_search(params), _lang(request))

    @app.get("/api/photos/{photo_id}", tags=["photos"], summary="Everything known about one photo")
    def api_photo(photo_id: str) -> dict[str, Any]:
        return detail(photo_id).to_dict()

    @app.get("/api/photos/{photo_id}/thumbnail", tags=["photos"], summary="The photo's thumbnail (WebP)")
    def api_thumbnail(photo_id: str) -> Response:
        detail(photo_id)
        data = library.thumbnail(photo_id)
        if data is None:
            raise ApiError(404, f"photo {photo_id} has no thumbnail")
        return Response(data, media_type="image/webp", headers={"Cache-Control": "private, max-age=86400"})

    @app.get("/api/photos/{photo_id}/file", tags=["photos"], summary="The original file")
    def api_file(photo_id: str) -> Response:
        """Only while it is the file that was indexed (see Library.open_original)."""
        detail(photo_id)
        try:
            original = library.open_original(photo_id)
        except LibraryError as exc:  # no file of it can be served: for this route, not found
            raise ApiError(404, str(exc)) from exc
        name = storage.basename(original.path)
        return StreamingResponse(
            _chunks(original.handle),
            media_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
            headers={
                "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}",
                "Content-Length": str(original.size),
            },
        )

    @app.get("/api/photos/{photo_id}/similar", tags=["search"], summary="Photos that look like this one")
    def api_similar(
        request: Request,
        photo_id: str,
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        detail(photo_id)
        return with_links(similar_to(photo_id, limit, offset), _lang(request))

    @app.post("/api/similar", tags=["search"], summary="Photos that look like an uploaded photo")
    async def api_similar_upload(
        request: Request,
        photo: Annotated[UploadFile, File()],
        limit: Annotated[int, Form(ge=1, le=200)] = 20,
        csrf: Annotated[str, Form(description="this server's form secret (GET /api/csrf), or send the token")] = "",
    ) -> dict[str, Any]:
        """Needs the form secret (field `csrf` or header X-Shashin-CSRF) or the token."""
        return await similar_to_upload(request, photo, limit, csrf)

    @app.get("/api/csrf", tags=["library"], summary="The form secret uploads and forms carry")
    def api_csrf() -> dict[str, str]:
        """Another site cannot read it (browsers keep answers to their own origin), so a request
        carrying it came from a page or program of this server's user."""
        return {"csrf": form_secret, "header": "X-Shashin-CSRF", "field": "csrf"}

    @app.put("/api/photos/{photo_id}/captions/{lang}", tags=["photos"], summary="Write a photo's caption yourself")
    def api_set_caption(photo_id: str, lang: str, edit: CaptionEdit) -> dict[str, Any]:
        """Stored as a person's caption: it wins over generated text and no caption run replaces it."""
        detail(photo_id)
        with writing:
            library.set_caption(photo_id, edit.text, lang=lang, prompt_set=edit.prompt_set)
        return detail(photo_id).to_dict()

    def from_our_page(csrf: str) -> None:
        """A form post must carry the secret of this server's pages (its origin was checked by the gate)."""
        if not _same(csrf, form_secret):
            raise ApiError(403, "this form did not come from this server's page; reload the page and try again")

    # ------------------------------------------------------------------ people

    def person_or_404(person: str) -> None:
        if not any(p.person_id == person or (p.name or "").casefold() == person.casefold() for p in library.people()):
            raise ApiError(404, f"no person {person} in this library")

    @app.get("/api/people", tags=["people"], summary="People: faces grouped by who they are")
    def api_people() -> dict[str, Any]:
        return {"people": [person.to_dict() for person in library.people()]}

    @app.put("/api/people/{person_id}/name", tags=["people"], summary="Name (or rename) a person")
    def api_name_person(person_id: str, edit: PersonName) -> dict[str, Any]:
        person_or_404(person_id)
        with writing:
            kept = library.name_person(person_id, edit.name)
        return {"person_id": kept, "name": edit.name}

    @app.post("/api/people/{person_id}/merge", tags=["people"], summary="Make other people this person")
    def api_merge_people(person_id: str, edit: PersonMerge) -> dict[str, Any]:
        person_or_404(person_id)
        with writing:
            moved = library.merge_people(person_id, edit.others)
        return {"person_id": person_id, "faces_moved": moved}

    @app.delete("/api/people/{person_id}", tags=["people"], summary="Forget a person: name and face descriptors")
    def api_forget_person(person_id: str) -> dict[str, Any]:
        person_or_404(person_id)
        with writing:
            forgotten = library.forget_person(person_id)
        return {"person_id": person_id, "faces_forgotten": forgotten}

    @app.get("/api/photos/{photo_id}/faces", tags=["people"], summary="The faces in a photo, with boxes and people")
    def api_faces(photo_id: str) -> dict[str, Any]:
        detail(photo_id)
        return {"faces": library.faces(photo_id)}

    @app.put("/api/faces/{face_id}/person", tags=["people"], summary="Give a face to a person, confirmed")
    def api_move_face(face_id: str, edit: PersonName) -> dict[str, Any]:
        detail(face_id.rsplit(":", 1)[0])
        with writing:
            library.move_face(face_id, edit.name)
        return {"face_id": face_id, "person": edit.name}

    @app.post("/api/photos/{photo_id}/not/{person}", tags=["people"], summary="Say a person is not in a photo")
    def api_not_person(photo_id: str, person: str) -> dict[str, Any]:
        detail(photo_id)
        with writing:
            changed = library.not_person(photo_id, person)
        return {"photo_id": photo_id, "faces_changed": changed}

    @app.get("/api/faces/{face_id}/crop", tags=["people"], summary="One face, cut from its photo (JPEG)")
    def api_face_crop(face_id: str) -> Response:
        detail(face_id.rsplit(":", 1)[0])
        try:
            data = library.face_crop(face_id)
        except LibraryError as exc:
            raise ApiError(404, str(exc)) from exc
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/people", response_class=HTMLResponse, include_in_schema=False)
    def page_people(request: Request) -> HTMLResponse:
        lang = _lang(request)
        return _page(
            pages, "people.html", request, lang, people=[p.to_dict() for p in library.people()], csrf=form_secret
        )

    @app.post("/people/{person_id}/name", include_in_schema=False)
    def page_name_person(
        request: Request, person_id: str, name: Annotated[str, Form()], csrf: Annotated[str, Form()]
    ) -> RedirectResponse:
        from_our_page(csrf)
        person_or_404(person_id)
        with writing:
            library.name_person(person_id, name)
        return RedirectResponse(f"/people?ui={_lang(request)}", status_code=303)

    @app.post("/api/photos/{photo_id}/tags", tags=["photos"], summary="Tag a photo yourself, or take a tag away")
    def api_tag(photo_id: str, edit: TagEdit) -> dict[str, Any]:
        """Added tags are searched and filtered at once and exported as keywords; a removed one (yours,
        or one shashin suggested) is never exported."""
        detail(photo_id)
        with writing:
            library.tag(photo_id, edit.action, edit.words)
        return detail(photo_id).to_dict()

    @app.post("/photo/{photo_id}/tags", include_in_schema=False)
    def page_tag(
        request: Request,
        photo_id: str,
        action: Annotated[str, Form()],
        word: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
    ) -> RedirectResponse:
        from_our_page(csrf)
        detail(photo_id)
        with writing:
            library.tag(photo_id, action, [word])
        return RedirectResponse(f"/photo/{photo_id}?ui={_lang(request)}", status_code=303)

    @app.post("/photo/{photo_id}/caption", include_in_schema=False)
    def page_set_caption(
        request: Request,
        photo_id: str,
        lang: Annotated[str, Form()],
        text: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
    ) -> RedirectResponse:
        from_our_page(csrf)
        detail(photo_id)
        with writing:
            library.set_caption(photo_id, text, lang=lang)
        return RedirectResponse(f"/photo/{photo_id}?ui={_lang(request)}", status_code=303)

    @app.get("/api/saved", tags=["search"], summary="Saved searches (smart albums)")
    def api_saved() -> dict[str, Any]:
        return {"saved": [{**s.to_dict(), "page": search_address(s.to_dict())} for s in library.saved_searches()]}

    @app.put("/api/saved/{name}", tags=["search"], summary="Save a search under a name (replacing one)")
    def api_save(name: str, body: SavedBody) -> dict[str, Any]:
        """A live query: run it with GET /api/saved/{name}/results, photos indexed since included."""
        with writing:
            saved = library.save_search(name, body.query, filter_arguments(body.filters), body.sort)
        return saved.to_dict()

    @app.delete("/api/saved/{name}", tags=["search"], summary="Forget a saved search")
    def api_unsave(name: str) -> dict[str, Any]:
        with writing:
            return library.remove_saved_search(name).to_dict()

    @app.get("/api/saved/{name}/results", tags=["search"], summary="Run a saved search now")
    def api_saved_results(
        request: Request,
        name: str,
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
        facets: bool = False,
    ) -> dict[str, Any]:
        with searching:
            response = library.run_saved_search(name, limit=limit, offset=offset, facets=facets)
        return with_links(response, _lang(request))

    @app.post("/saved", include_in_schema=False)
    def page_save(
        request: Request, name: Annotated[str, Form()], address: Annotated[str, Form()], csrf: Annotated[str, Form()]
    ) -> RedirectResponse:
        """The search page's "save this search": its address's words and filters under a name."""
        from urllib.parse import parse_qs, urlsplit

        from_our_page(csrf)
        asked = parse_qs(urlsplit(address).query)
        repeated = {_FILTER_PARAMS[argument] for argument in _MANY}
        params: dict[str, Any] = {key: values if key in repeated else values[0] for key, values in asked.items()}
        if "has_text" in params:
            params["has_text"] = params["has_text"] in ("true", "1", "on")
        if params.get("rating"):
            params["rating"] = _number(params["rating"], int, "rating", "a whole number of stars from 1 to 5")
        if params.get("radius"):
            params["radius"] = _number(params["radius"], float, "radius", "a distance in kilometres")
        with writing:
            saved = library.save_search(
                name, params.get("q", ""), filter_arguments(params), params.get("sort", "relevance")
            )
        return RedirectResponse(search_address(saved.to_dict()) + f"&ui={_lang(request)}", status_code=303)

    @app.get("/api/status", tags=["library"], summary="Photos, channels, progress and errors")
    def api_status() -> dict[str, Any]:
        return library.status().to_dict()

    # ------------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page_search(
        request: Request,
        q: str = "",
        taken_from: Annotated[str | None, Query(alias="from")] = None,
        to: str | None = None,
        folder: str | None = None,
        camera: str | None = None,
        has_text: bool | None = None,
        near: str | None = None,
        radius: Annotated[float | None, Query(gt=0)] = None,
        keyword: str | None = None,
        rating: Annotated[str | None, Query(pattern="^[1-5]?$")] = None,  # the form sends "" for "any"
        label: str | None = None,
        person: str | None = None,
        sort: Sort = "relevance",
        offset: Annotated[int, Query(ge=0)] = 0,
        ui: str | None = None,
    ) -> HTMLResponse:
        lang = _lang(request)
        stars = int(rating) if rating else None
        params = {
            "q": q,
            "from": taken_from,
            "to": to,
            "folder": [folder] if folder else [],
            "camera": [camera] if camera else [],
            "has_text": has_text or None,
            "near": near,
            "radius": radius,
            "keyword": [keyword] if keyword else [],
            "rating": stars,
            "label": [label] if label else [],
            "person": [person] if person else [],
            "sort": sort,
            "limit": 24,
            "offset": offset,
            "facets": True,
        }
        asked = bool(
            q.strip() or taken_from or to or folder or camera or has_text or near or keyword or stars or label or person
        )
        document = with_links(run_search(params), lang) if asked else None
        return _page(
            pages,
            "search.html",
            request,
            lang,
            params=params,
            document=document,
            asked=asked,
            pages_links=_paging(request, document, 24) if document else {},
            facet_links=_facet_links(request, document) if document else {},
            saved=[(saved.name, search_address(saved.to_dict())) for saved in library.saved_searches()],
            address=str(request.url.replace(scheme="", netloc="")),
            csrf=form_secret,
        )

    @app.post("/similar", response_class=HTMLResponse, include_in_schema=False)
    async def page_similar_upload(
        request: Request, photo: Annotated[UploadFile, File()], csrf: Annotated[str, Form()] = ""
    ) -> HTMLResponse:
        lang = _lang(request)
        document = await similar_to_upload(request, photo, 24, csrf)
        params = {"q": "", "folder": [], "camera": [], "sort": "relevance", "offset": 0}
        return _page(
            pages,
            "search.html",
            request,
            lang,
            params=params,
            document=document,
            asked=True,
            by_photo=_display_name(photo.filename),
            pages_links={},
            csrf=form_secret,
        )

    @app.get("/photo/{photo_id}", response_class=HTMLResponse, include_in_schema=False)
    def page_photo(request: Request, photo_id: str) -> HTMLResponse:
        lang = _lang(request)
        found = detail(photo_id)
        try:
            similar = with_links(similar_to(photo_id, 8, 0), lang)["results"]
        except ShashinError:
            similar = []  # no image vectors: the page shows everything else
        brief = {c["lang"]: c["text"] for c in found.captions if c["prompt_set"] == "brief" and c["status"] == "done"}
        return _page(
            pages,
            "photo.html",
            request,
            lang,
            photo=found.to_dict(),
            alt=found.alt_text(lang),
            similar=similar,
            brief=brief,
            faces=library.faces(photo_id),
            csrf=form_secret,
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    return app


def _authorized(request: Request, token: str) -> bool:
    offered = [_bearer(request), request.cookies.get(COOKIE, ""), request.query_params.get("token", "")]
    return any(value and _same(value, token) for value in offered)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else ""


def _same(offered: str, secret: str) -> bool:
    """A constant-time comparison of any text a client sends (non-ASCII included) with a secret."""
    return hmac.compare_digest(offered.encode("utf-8", "surrogateescape"), secret.encode("utf-8"))


def _upload_allowed(request: Request, offered: Sequence[str], form_secret: str, token: str | None) -> bool:
    """An upload carries the form secret (a form field or header) or the token in its Authorization
    header (a cookie alone does not do: a browser sends it with any site's form)."""
    if any(value and _same(value, form_secret) for value in offered):
        return True
    return bool(token) and bool(_bearer(request)) and _same(_bearer(request), token or "")


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """Whether a request's Host names this server: loopback names and IP addresses always (a DNS
    rebinding attack needs a name of its own), other names only when `allowed` lists them."""
    name = _hostname(host)
    if not name:
        return False
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    for given in allowed:
        entry = given.strip().lower().rstrip(".")
        if entry in ("*", name) or (entry.startswith(".") and (name.endswith(entry) or name == entry[1:])):
            return True
    return False


def _hostname(host: str) -> str:
    """The name part of a Host header or an origin's netloc, lower-case: 'a.b:80' → 'a.b', '[::1]:8' → '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0].rstrip(".") if host.count(":") <= 1 else host


class Gate:
    """The first thing every request meets (pure ASGI, before any body is read): the Host must name
    this server, a state-changing request must come from this server's own pages, and a body is
    refused from its declared length or as soon as it passes it."""

    def __init__(self, app: Any, settings: WebSettings, pages: Environment) -> None:
        self.app, self.settings, self.pages = app, settings, pages

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            return await _error(request, refusal[0], refusal[1], self.pages)(scope, receive, send)
        limit = (
            self.settings.max_upload_bytes + 65_536 if scope["path"] in _UPLOAD_ROUTES else self.settings.max_body_bytes
        )
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            status = 413 if declared.isdigit() else 400
            message = (
                _too_large(scope["path"], self.settings) if declared.isdigit() else "Content-Length is not a number"
            )
            too_large = _error(request, status, message, self.pages)
            too_large.headers["Connection"] = "close"
            return await too_large(scope, receive, send)
        state = {"received": 0, "answered": False}

        async def bounded_receive() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    if not state["answered"]:
                        state["answered"] = True
                        refusal = _error(request, 413, _too_large(scope["path"], self.settings), self.pages)
                        refusal.headers["Connection"] = "close"  # stop the client sending the rest
                        await refusal(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if not state["answered"]:  # once refused, the app's own answer is dropped
                await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except Exception:
            if not state["answered"]:
                raise

    def _refusal(self, request: Request) -> tuple[int, str] | None:
        host = request.headers.get("host", "")
        if not host_allowed(host, self.settings.allowed_hosts):
            return 403, (
                f"this server does not answer to the name {_hostname(host) or '(none)'!r}; if it is yours, "
                "start it with --allowed-host NAME"
            )
        if request.method in _UNSAFE_METHODS:
            origin = request.headers.get("origin")
            if origin is not None and not self._own_origin(origin, host):
                return 403, "a request from another site (or from a sandboxed page) was refused"
        if request.headers.get("sec-fetch-site") == "cross-site" and not _followed_link(request):
            # Another site's page may link here, never fetch, embed or post (a resource isolation policy).
            return 403, "a request from another site was refused"
        return None

    def _own_origin(self, origin: str, host: str) -> bool:
        if origin == "null" or "://" not in origin:
            return False
        netloc = origin.split("://", 1)[1].rstrip("/").lower()
        name = _hostname(netloc)
        if netloc == host.strip().lower() or name in _LOOPBACK_NAMES:
            return True
        explicit = [entry for entry in self.settings.allowed_hosts if entry.strip() != "*"]
        return bool(explicit) and host_allowed(netloc, explicit) and not _is_ip(name)


def _number(text: str, kind: type[int] | type[float], name: str, wanted: str) -> Any:
    """A form's number, or a 400 naming the field (a saved search's address is typed by people too)."""
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise ApiError(400, f"{name} must be {wanted}, not {str(text)[:40]!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiError(400, f"{name} must be {wanted}, not {text!r}")
    return value


def _followed_link(request: Request) -> bool:
    """A person following a link or typing the address: a top-level GET navigation to a page."""
    headers = request.headers
    return (
        request.method in ("GET", "HEAD")
        and headers.get("sec-fetch-mode") == "navigate"
        and headers.get("sec-fetch-dest", "document") == "document"
    )


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _too_large(path: str, settings: WebSettings) -> str:
    if path in _UPLOAD_ROUTES:
        return f"the photo is larger than {settings.max_upload_bytes // 1_000_000} MB"
    return f"the request body is larger than {settings.max_body_bytes:,} bytes"


def _display_name(filename: str | None) -> str:
    """An uploaded file's name as it may be shown: no path, no control characters, bounded."""
    name = os.path.basename((filename or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable())[:100]
    return name or "the upload"


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/") or path == "/openapi.json"


def _lang(request: Request) -> str:
    return choose_language(request.query_params.get("ui"), request.headers.get("accept-language"))


async def _save_upload(upload: UploadFile, settings: WebSettings) -> Path:
    """The uploaded photo in a private temporary file, once it is known to be a bounded image."""
    from PIL import Image, UnidentifiedImageError

    data = await upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise ApiError(413, f"the photo is larger than {settings.max_upload_bytes // 1_000_000} MB")
    if not data:
        raise ApiError(400, "the upload is empty")
    suffix = re.sub(r"[^A-Za-z0-9.]", "", os.path.splitext(_display_name(upload.filename))[1])[:10]
    handle, name = tempfile.mkstemp(prefix="shashin-upload-", suffix=suffix)
    path = Path(name)
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    try:
        with Image.open(path) as image:  # reads the header only: dimensions before any decoding
            width, height = image.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        path.unlink(missing_ok=True)
        raise ApiError(400, f"{_display_name(upload.filename)} is not an image shashin can read") from exc
    if width * height > settings.max_upload_pixels:
        path.unlink(missing_ok=True)
        raise ApiError(
            413,
            f"the photo has {width}×{height} pixels; the limit is {settings.max_upload_pixels // 1_000_000} megapixels",
        )
    return path


def _error(request: Request, status: int, message: str, pages: Environment) -> Response:
    if _is_api(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    lang = _lang(request)
    body = pages.get_template("error.html").render(t=TEXTS[lang], lang=lang, status=status, message=message)
    return HTMLResponse(body, status_code=status)


def _page(pages: Environment, name: str, request: Request, lang: str, **context: Any) -> HTMLResponse:
    other = "en" if lang == "ja" else "ja"
    switch = str(request.url.include_query_params(ui=other).replace(scheme="", netloc=""))
    body = pages.get_template(name).render(t=TEXTS[lang], lang=lang, switch=switch, segments=segments, **context)
    return HTMLResponse(body)


# build_filters' argument -> the name /api/search and the pages give it; the list-valued ones repeat.
_FILTER_PARAMS = {
    "taken_from": "from",
    "taken_to": "to",
    "folders": "folder",
    "cameras": "camera",
    "has_text": "has_text",
    "near": "near",
    "radius_km": "radius",
    "keywords": "keyword",
    "rating": "rating",
    "labels": "label",
    "people": "person",
}
_MANY = frozenset({"folders", "cameras", "keywords", "labels", "people"})


def filter_arguments(params: dict[str, Any]) -> dict[str, Any]:
    """build_filters' arguments from the names /api/search and the pages use (from, camera, …)."""

    def many(name: str) -> list[str]:
        value = params.get(name)
        return [value] if isinstance(value, str) else list(value or [])

    arguments: dict[str, Any] = {}
    for argument, name in _FILTER_PARAMS.items():
        if argument in _MANY:
            arguments[argument] = many(name)
        elif argument in ("has_text", "rating", "radius_km"):
            arguments[argument] = params.get(name)
        else:
            arguments[argument] = params.get(name) or None
    return arguments


def search_address(saved: dict[str, Any]) -> str:
    """The search page's address for a saved search (to_dict() form): a live query, not a list."""
    from urllib.parse import urlencode

    pairs: list[tuple[str, Any]] = [("q", saved["query"])]
    for argument, value in saved["filters"].items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((_FILTER_PARAMS[argument], str(one).lower() if isinstance(one, bool) else one))
    if saved.get("sort") and saved["sort"] != "relevance":
        pairs.append(("sort", saved["sort"]))
    return "/?" + urlencode(pairs)


def _facet_links(request: Request, document: dict[str, Any]) -> dict[str, list[tuple[str, int, str]]]:
    """Each facet value as (value, count, the search's address with its filter added)."""
    links: dict[str, list[tuple[str, int, str]]] = {}
    for kind, values in (document.get("facets") or {}).items():
        links[kind] = [
            (
                value["value"],
                value["count"],
                str(request.url.include_query_params(**value["filter"], offset=0).replace(scheme="", netloc="")),
            )
            for value in values
        ]
    return links


def _paging(request: Request, document: dict[str, Any], size: int) -> dict[str, str]:
    links = {}
    offset, total = document["offset"], document["total"]
    if offset > 0:
        links["previous"] = str(
            request.url.include_query_params(offset=max(0, offset - size)).replace(scheme="", netloc="")
        )
    if offset + size < total:
        links["next"] = str(request.url.include_query_params(offset=offset + size).replace(scheme="", netloc=""))
    return links


def segments(highlight: dict[str, Any] | Snippet) -> list[tuple[str, bool]]:
    """A highlight as (text, marked) pieces, for the template to escape and wrap in <mark>."""
    text = highlight["text"] if isinstance(highlight, dict) else highlight.text
    spans = highlight["spans"] if isinstance(highlight, dict) else highlight.spans
    pieces: list[tuple[str, bool]] = []
    position = 0
    for start, end in spans:
        if start > position:
            pieces.append((text[position:start], False))
        pieces.append((text[start:end], True))
        position = end
    if position < len(text):
        pieces.append((text[position:], False))
    return pieces


__all__ = ["WebSettings", "create_app"]


def _chunks(handle: BinaryIO, size: int = 1 << 20) -> Any:
    """An open file's bytes in pieces, for streaming an original; closes it at the end."""
    with handle:
        while chunk := handle.read(size):
            yield chunk
