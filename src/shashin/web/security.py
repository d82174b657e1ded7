"""The web's guards, in one place: what every request meets before a route runs.

A request is answered only when it names this server (its Host is loopback, an IP address or a
name it was told: a rebinding DNS name is refused before anything else); a state-changing request
from another origin is refused (Origin, Sec-Fetch-Site), so is any request another site's page
makes but a link followed (fetches, images, frames); bodies are refused from their declared length
or as soon as they pass it; a token guards every route when the server listens beyond this
machine; every answer carries a Content-Security-Policy that forbids inline script.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment

from shashin.web.render import error, is_api

COOKIE = "shashin_token"
CSRF_HEADER = "x-shashin-csrf"

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


_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_UPLOAD_ROUTES = frozenset({"/api/similar", "/similar"})
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def guard(app: FastAPI, settings: WebSettings, pages: Environment) -> None:
    """Install the guards on `app`: the Gate first, then the token and the security headers."""

    @app.middleware("http")
    async def token_and_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        if settings.token and not _authorized(request, settings.token):
            if is_api(request):
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
        if settings.token and token and same(token, settings.token):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        docs = request.url.path in ("/docs", "/docs/oauth2-redirect")
        response.headers["Content-Security-Policy"] = _DOCS_CSP if docs else _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # nothing leaks to other sites; forms keep their Origin
        response.headers["X-Frame-Options"] = "DENY"
        return response

    app.add_middleware(Gate, settings=settings, pages=pages)


def _authorized(request: Request, token: str) -> bool:
    offered = [_bearer(request), request.cookies.get(COOKIE, ""), request.query_params.get("token", "")]
    return any(value and same(value, token) for value in offered)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else ""


def same(offered: str, secret: str) -> bool:
    """A constant-time comparison of any text a client sends (non-ASCII included) with a secret."""
    return hmac.compare_digest(offered.encode("utf-8", "surrogateescape"), secret.encode("utf-8"))


def upload_allowed(request: Request, offered: Sequence[str], form_secret: str, token: str | None) -> bool:
    """An upload carries the form secret (a form field or header) or the token in its Authorization
    header (a cookie alone does not do: a browser sends it with any site's form)."""
    if any(value and same(value, form_secret) for value in offered):
        return True
    return bool(token) and bool(_bearer(request)) and same(_bearer(request), token or "")


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
            return await error(request, refusal[0], refusal[1], self.pages)(scope, receive, send)
        limit = (
            self.settings.max_upload_bytes + 65_536 if scope["path"] in _UPLOAD_ROUTES else self.settings.max_body_bytes
        )
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            status = 413 if declared.isdigit() else 400
            message = (
                _too_large(scope["path"], self.settings) if declared.isdigit() else "Content-Length is not a number"
            )
            too_large = error(request, status, message, self.pages)
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
                        refusal = error(request, 413, _too_large(scope["path"], self.settings), self.pages)
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
