"""How the web answers: pages rendered by Jinja2 with autoescaping (no inline script), errors as
JSON under /api and as a page elsewhere, never a traceback; the reader's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from shashin.search.explain import Snippet
from shashin.web.i18n import TEXTS, choose_language

HERE = Path(__file__).parent


def environment() -> Environment:
    """The page templates, every value escaped unless a template says otherwise."""
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))


def is_api(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/") or path == "/openapi.json"


def lang(request: Request) -> str:
    """The reader's language: ?ui= first, then the browser's Accept-Language."""
    return choose_language(request.query_params.get("ui"), request.headers.get("accept-language"))


def error(request: Request, status: int, message: str, pages: Environment) -> Response:
    """An error as JSON ({"error", "status"}) for the API, as a page for a person."""
    if is_api(request):
        return JSONResponse({"error": message, "status": status}, status_code=status)
    language = lang(request)
    body = pages.get_template("error.html").render(t=TEXTS[language], lang=language, status=status, message=message)
    return HTMLResponse(body, status_code=status)


def page(pages: Environment, name: str, request: Request, language: str, **context: Any) -> HTMLResponse:
    """A page in the reader's language, with a link to the same page in the other one."""
    other = "en" if language == "ja" else "ja"
    switch = str(request.url.include_query_params(ui=other).replace(scheme="", netloc=""))
    body = pages.get_template(name).render(
        t=TEXTS[language], lang=language, switch=switch, segments=segments, **context
    )
    return HTMLResponse(body)


def here(request: Request, **changes: Any) -> str:
    """This page's address (path and query, no host) with some parameters changed."""
    return str(request.url.include_query_params(**changes).replace(scheme="", netloc=""))


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
