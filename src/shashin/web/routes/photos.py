"""One photo: everything known about it (API and page), and captions written by a person."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from shashin.errors import ShashinError
from shashin.web import render
from shashin.web.state import State

router = APIRouter()


class CaptionEdit(BaseModel):
    """A caption written by a person."""

    text: str = Field(min_length=1, max_length=2000)
    prompt_set: Literal["brief", "detailed"] = "brief"


@router.get("/api/photos/{photo_id}", tags=["photos"], summary="Everything known about one photo")
def api_photo(state: State, photo_id: str) -> dict[str, Any]:
    return state.detail(photo_id).to_dict()


@router.put("/api/photos/{photo_id}/captions/{lang}", tags=["photos"], summary="Write a photo's caption yourself")
def api_set_caption(state: State, photo_id: str, lang: str, edit: CaptionEdit) -> dict[str, Any]:
    """Stored as a person's caption: it wins over generated text and no caption run replaces it."""
    state.detail(photo_id)
    with state.writing:
        state.library.set_caption(photo_id, edit.text, lang=lang, prompt_set=edit.prompt_set)
    return state.detail(photo_id).to_dict()


@router.get("/photo/{photo_id}", response_class=HTMLResponse, include_in_schema=False)
def page_photo(request: Request, state: State, photo_id: str) -> HTMLResponse:
    language = render.lang(request)
    found = state.detail(photo_id)
    try:
        similar = state.with_links(state.similar(photo_id, 8, 0), language)["results"]
    except ShashinError:
        similar = []  # no image vectors: the page shows everything else
    brief = {c["lang"]: c["text"] for c in found.captions if c["prompt_set"] == "brief" and c["status"] == "done"}
    return state.page(
        "photo.html",
        request,
        photo=found.to_dict(),
        alt=found.alt_text(language),
        similar=similar,
        brief=brief,
        faces=state.library.people.faces(photo_id),
    )


@router.post("/photo/{photo_id}/caption", include_in_schema=False)
def page_set_caption(
    request: Request,
    state: State,
    photo_id: str,
    lang: Annotated[str, Form()],
    text: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> RedirectResponse:
    state.from_our_page(csrf)
    state.detail(photo_id)
    with state.writing:
        state.library.set_caption(photo_id, text, lang=lang)
    return RedirectResponse(f"/photo/{photo_id}?ui={render.lang(request)}", status_code=303)
