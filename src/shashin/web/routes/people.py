"""People: faces grouped by who they are — naming, merging, forgetting, moving a face, saying
someone is not in a photo — and a face's crop."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from shashin.library import LibraryError
from shashin.web import render
from shashin.web.state import ApiError, AppState, State

router = APIRouter()


class PersonName(BaseModel):
    """A name for a person."""

    name: str = Field(min_length=1, max_length=200)


class PersonMerge(BaseModel):
    """People who are the same person as the one in the path."""

    others: list[str] = Field(min_length=1, max_length=100)


def _person_or_404(state: AppState, person: str) -> None:
    if not any(
        p.person_id == person or (p.name or "").casefold() == person.casefold() for p in state.library.people.all()
    ):
        raise ApiError(404, f"no person {person} in this library")


@router.get("/api/people", tags=["people"], summary="People: faces grouped by who they are")
def api_people(state: State) -> dict[str, Any]:
    return {"people": [person.to_dict() for person in state.library.people.all()]}


@router.put("/api/people/{person_id}/name", tags=["people"], summary="Name (or rename) a person")
def api_name_person(state: State, person_id: str, edit: PersonName) -> dict[str, Any]:
    _person_or_404(state, person_id)
    with state.writing:
        kept = state.library.people.name(person_id, edit.name)
    return {"person_id": kept, "name": edit.name}


@router.post("/api/people/{person_id}/merge", tags=["people"], summary="Make other people this person")
def api_merge_people(state: State, person_id: str, edit: PersonMerge) -> dict[str, Any]:
    _person_or_404(state, person_id)
    with state.writing:
        moved = state.library.people.merge(person_id, edit.others)
    return {"person_id": person_id, "faces_moved": moved}


@router.delete("/api/people/{person_id}", tags=["people"], summary="Forget a person: name and face descriptors")
def api_forget_person(state: State, person_id: str) -> dict[str, Any]:
    _person_or_404(state, person_id)
    with state.writing:
        forgotten = state.library.people.forget(person_id)
    return {"person_id": person_id, "faces_forgotten": forgotten}


@router.get("/api/photos/{photo_id}/faces", tags=["people"], summary="The faces in a photo, with boxes and people")
def api_faces(state: State, photo_id: str) -> dict[str, Any]:
    state.detail(photo_id)
    return {"faces": state.library.people.faces(photo_id)}


@router.put("/api/faces/{face_id}/person", tags=["people"], summary="Give a face to a person, confirmed")
def api_move_face(state: State, face_id: str, edit: PersonName) -> dict[str, Any]:
    state.detail(face_id.rsplit(":", 1)[0])
    with state.writing:
        state.library.people.move_face(face_id, edit.name)
    return {"face_id": face_id, "person": edit.name}


@router.post("/api/photos/{photo_id}/not/{person}", tags=["people"], summary="Say a person is not in a photo")
def api_not_person(state: State, photo_id: str, person: str) -> dict[str, Any]:
    state.detail(photo_id)
    with state.writing:
        changed = state.library.people.not_in(photo_id, person)
    return {"photo_id": photo_id, "faces_changed": changed}


@router.get("/api/faces/{face_id}/crop", tags=["people"], summary="One face, cut from its photo (JPEG)")
def api_face_crop(state: State, face_id: str) -> Response:
    state.detail(face_id.rsplit(":", 1)[0])
    try:
        data = state.library.people.face_crop(face_id)
    except LibraryError as exc:
        raise ApiError(404, str(exc)) from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/people", response_class=HTMLResponse, include_in_schema=False)
def page_people(request: Request, state: State) -> HTMLResponse:
    return state.page("people.html", request, people=[p.to_dict() for p in state.library.people.all()])


@router.post("/people/{person_id}/name", include_in_schema=False)
def page_name_person(
    request: Request, state: State, person_id: str, name: Annotated[str, Form()], csrf: Annotated[str, Form()]
) -> RedirectResponse:
    state.from_our_page(csrf)
    _person_or_404(state, person_id)
    with state.writing:
        state.library.people.name(person_id, name)
    return RedirectResponse(f"/people?ui={render.lang(request)}", status_code=303)
