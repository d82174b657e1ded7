"""`library.people`: everyone the library's faces were grouped into, and what a person decides
about them — one module the CLI, the web and the tests all use."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shashin.library.errors import LibraryError
from shashin.library.photos import open_original
from shashin.people.decisions import (
    find_person,
    forget_person,
    merge_people,
    move_face,
    name_person,
    not_person,
    save_names,
)
from shashin.people.grouping import recluster
from shashin.people.lookup import Person, faces_in, list_people
from shashin.store import Store

if TYPE_CHECKING:
    from shashin.library import Library


class People:
    """The library's people (library.people)."""

    def __init__(self, library: Library) -> None:
        self._library = library

    def all(self) -> list[Person]:
        """Everyone the library's faces were grouped into: named first, then the most seen."""
        return list_people(self._library.open_store())

    def name(self, person: str, name: str) -> str:
        """Name a person (by id, its first digits, or current name); a person already called
        `name` takes this one's faces. Returns the id that now carries the name."""
        name = " ".join(name.split())
        if not name:
            raise LibraryError("the name is empty")
        store = self._library.open_store()
        with store.writer():
            person_id = name_person(store, self.person_id(store, person), name)
            save_names(store)
            return person_id

    def merge(self, into: str, others: Sequence[str]) -> int:
        """Make `others` one person with `into` (their faces move, their names go); faces moved."""
        store = self._library.open_store()
        with store.writer():
            moved = merge_people(store, self.person_id(store, into), [self.person_id(store, o) for o in others])
            save_names(store)
            return moved

    def recluster(self) -> dict[str, int]:
        """Regroup every face from scratch; names and a person's decisions are kept."""
        store = self._library.open_store()
        with store.writer():
            done = recluster(store, self._library.settings.faces)
            save_names(store)
            return done

    def not_in(self, photo: str, person: str) -> int:
        """Say that `person` is not in `photo` (a path or photo id): its faces leave them for good."""
        store = self._library.open_store()
        photo_id, person_id = self._library.find_photo(photo), self.person_id(store, person)
        with store.writer():
            return not_person(store, photo_id, person_id)

    def move_face(self, face: str, person: str) -> None:
        """Give a face (its id, photo_id:n, from `shashin people faces PHOTO`) to a person, confirmed."""
        store = self._library.open_store()
        person_id = self.person_id(store, person)
        with store.writer():
            try:
                move_face(store, face, person_id)
            except KeyError:
                raise LibraryError(
                    f"{face!r} names no face of this library (see `shashin people faces PHOTO`)"
                ) from None

    def faces(self, photo: str) -> list[dict[str, Any]]:
        """The faces found in a photo, with their boxes and people."""
        return faces_in(self._library.open_store(), self._library.find_photo(photo))

    def forget(self, person: str) -> int:
        """Delete a person's name and their faces' descriptors; returns the faces forgotten."""
        store = self._library.open_store()
        person_id = self.person_id(store, person)
        with store.writer():
            forgotten = forget_person(store, person_id)
            save_names(store)
            return forgotten

    def face_crop(self, face_id: str, side: int = 160) -> bytes:
        """A JPEG of one face (a margin around its box), cut from the photo's original file."""
        from PIL import Image, ImageOps

        store = self._library.open_store()
        photo_id = face_id.rsplit(":", 1)[0]
        face = next((f for f in faces_in(store, photo_id) if f["face_id"] == face_id), None)
        if face is None:
            raise LibraryError(f"no face {face_id} in this library")
        original = open_original(store, photo_id)
        try:
            with Image.open(original.handle) as image:
                if image.width * image.height > self._library.settings.max_image_pixels:
                    raise LibraryError(f"photo {photo_id} is larger than max_image_pixels")
                upright = ImageOps.exif_transpose(image).convert("RGB")
        finally:
            original.handle.close()
        left, top, width, height = face["box"]
        margin = 0.25
        box = (
            max(0, int((left - margin * width) * upright.width)),
            max(0, int((top - margin * height) * upright.height)),
            min(upright.width, int((left + (1 + margin) * width) * upright.width)),
            min(upright.height, int((top + (1 + margin) * height) * upright.height)),
        )
        crop = upright.crop(box)
        crop.thumbnail((side, side))
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=85)
        return buffer.getvalue()

    def person_id(self, store: Store, key: str) -> str:
        """The id of the person `key` names (id, its first digits, or name), or a LibraryError."""
        found = find_person(store, key)
        if found is None:
            known = ", ".join(p.name or p.person_id for p in list_people(store)[:10]) or "none yet"
            raise LibraryError(f"{key!r} names no person of this library (see `shashin people`; e.g. {known})")
        return str(found["person_id"])
