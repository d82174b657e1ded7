"""The web app: REST API under /api, HTML pages around it, one Library behind both.

Safety, since photo text comes from strangers and any web page the user visits can send requests
to a server on their machine: every request meets the guards in `security` first (the Host names
this server, state-changing and embedded requests come from its own pages, bodies are bounded, a
token when it listens beyond this machine); forms and uploads carry a per-server secret
(`state.AppState.form_secret`); pages are rendered with autoescaping and no inline script
(`render`); files are served only by photo id and only while they are what was indexed
(`routes.files`); every error is JSON (API) or a page, never a traceback (below).

Routes live in `routes/`, one router per area, over one `AppState`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from shashin import __version__
from shashin.errors import ShashinError
from shashin.library import Library
from shashin.web import render, security
from shashin.web.routes import ROUTERS
from shashin.web.security import WebSettings, host_allowed
from shashin.web.state import ApiError, AppState


def create_app(library: Library, settings: WebSettings | None = None) -> FastAPI:
    """The FastAPI app serving `library`."""
    state = AppState(library, settings or WebSettings())
    app = FastAPI(title="shashin", version=__version__, description="Search your photos.", docs_url="/docs")
    app.state.shashin = state
    app.mount("/static", StaticFiles(directory=render.HERE / "static"), name="static")
    pages = state.pages

    @app.exception_handler(ShashinError)
    async def explained(request: Request, exc: ShashinError) -> Response:
        # Every kind the library explains, in one place: its message, with the status its kind carries.
        return render.error(request, exc.http_status, exc.message, pages)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return render.error(request, exc.status_code, str(exc.detail), pages)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return render.error(request, 400, problems or "bad request", pages)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        # Logged by the server with its traceback; the client learns nothing of paths or code.
        return render.error(request, 500, "the server could not answer this request (see the server's log)", pages)

    security.guard(app, state.settings, pages)
    for router in ROUTERS:
        # Their routes join the app's own list: FastAPI's include_router keeps each router nested
        # and resolves it on every request (about 1 ms a request on this machine's 2 cores).
        app.router.routes.extend(router.routes)
    return app


__all__ = ["ApiError", "WebSettings", "create_app", "host_allowed"]
