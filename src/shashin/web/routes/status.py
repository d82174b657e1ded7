"""The library's state (photos, channels, progress, errors) and the form secret clients need."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from shashin.web.state import State

router = APIRouter()


@router.get("/api/status", tags=["library"], summary="Photos, channels, progress and errors")
def api_status(state: State) -> dict[str, Any]:
    return state.library.status().to_dict()


@router.get("/api/home", tags=["library"], summary="The library at a glance: progress, newest photos, timeline, people")
def api_home(state: State) -> dict[str, Any]:
    return state.library.home().to_dict()


@router.get("/api/csrf", tags=["library"], summary="The form secret uploads and forms carry")
def api_csrf(state: State) -> dict[str, str]:
    """Another site cannot read it (browsers keep answers to their own origin), so a request
    carrying it came from a page or program of this server's user."""
    return {"csrf": state.form_secret, "header": "X-Shashin-CSRF", "field": "csrf"}


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return Response(status_code=204)
