"""A person's tags on a photo: added ones are searched and exported as keywords; a removed one
(theirs, or one shashin suggested) is never exported."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from shashin.web import render
from shashin.web.state import State

router = APIRouter()


class TagEdit(BaseModel):
    """A person's tags: words to add to a photo, or to take away."""

    action: Literal["add", "remove"]
    words: list[str] = Field(min_length=1, max_length=50)


@router.post("/api/photos/{photo_id}/tags", tags=["photos"], summary="Tag a photo yourself, or take a tag away")
def api_tag(state: State, photo_id: str, edit: TagEdit) -> dict[str, Any]:
    """Added tags are searched and filtered at once and exported as keywords; a removed one (yours,
    or one shashin suggested) is never exported."""
    state.detail(photo_id)
    with state.writing:
        state.library.tag(photo_id, edit.action, edit.words)
    return state.detail(photo_id).to_dict()


@router.post("/photo/{photo_id}/tags", include_in_schema=False)
def page_tag(
    request: Request,
    state: State,
    photo_id: str,
    action: Annotated[str, Form()],
    word: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
) -> RedirectResponse:
    state.from_our_page(csrf)
    state.detail(photo_id)
    with state.writing:
        state.library.tag(photo_id, action, [word])
    return RedirectResponse(f"/photo/{photo_id}?ui={render.lang(request)}", status_code=303)
