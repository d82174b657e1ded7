"""Who is in the library and where: people with their counts, the photos and faces of named
people (search, filters), the faces of one photo, the names in photos."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shashin.people.table import DECIDED, FORGOTTEN, face_columns
from shashin.store.contract import ManyPerPhotoStore
from shashin.text.fold import fold


@dataclass(frozen=True)
class Person:
    """A person: id, name (None until given), how many faces and photos, and a face to show."""

    person_id: str
    name: str | None
    faces: int
    photos: int
    sample_face: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "name": self.name,
            "faces": self.faces,
            "photos": self.photos,
            "sample_face": self.sample_face,
        }


def list_people(store: ManyPerPhotoStore) -> list[Person]:
    """Every person with their face and photo counts, named ones first, then the largest."""
    faces = [
        r
        for r in face_columns(store, ["face_id", "photo_id", "person_id", "source", "size"])
        if r["person_id"] and r["source"] != FORGOTTEN
    ]
    by_person: dict[str, list[dict[str, Any]]] = {}
    for row in faces:
        by_person.setdefault(row["person_id"], []).append(row)
    found = []
    for row in store.all_rows("people"):
        mine = by_person.get(row["person_id"], [])
        if not mine and not row["name"]:
            continue
        best = max(mine, key=lambda r: (r["source"] in DECIDED, r["size"] or 0), default=None)
        found.append(
            Person(
                row["person_id"],
                row["name"],
                len(mine),
                len({r["photo_id"] for r in mine}),
                best["face_id"] if best else None,
            )
        )
    return sorted(found, key=lambda p: (p.name is None, -p.faces, p.name or "", p.person_id))


def photos_of(store: ManyPerPhotoStore, names: Iterable[str]) -> dict[str, set[str]]:
    """Photos with a face of each named person (folded name asked -> photo ids): a person matches
    when every word asked is a word of their name ("obama" finds Barack Obama)."""
    wanted: dict[str, set[str]] = {fold(name): set() for name in names}
    people = {row["person_id"]: set(fold(row["name"]).split()) for row in store.all_rows("people") if row["name"]}
    matches = {asked: {pid for pid, words in people.items() if set(asked.split()) <= words} for asked in wanted}
    if not any(matches.values()):
        return wanted
    for row in face_columns(store, ["photo_id", "person_id", "source"]):
        if row["source"] == FORGOTTEN or not row["person_id"]:
            continue
        for asked, persons in matches.items():
            if row["person_id"] in persons:
                wanted[asked].add(row["photo_id"])
    return wanted


@dataclass(frozen=True)
class FaceMatch:
    """A face of a person the query names, and how typical of them it is (distance to their centre)."""

    photo_id: str
    n: int
    name: str
    distance: float


def faces_of(store: ManyPerPhotoStore, names: Iterable[str]) -> list[FaceMatch]:
    """Every face of the people whose names hold the words asked ("obama" → Barack Obama), with
    its distance to the centre of that person's faces."""
    asked = [set(fold(name).split()) for name in names]
    people = {
        row["person_id"]: row["name"]
        for row in store.all_rows("people")
        if row["name"] and any(words <= set(fold(row["name"]).split()) for words in asked)
    }
    if not people:
        return []
    # Only those people's faces are read whole (descriptors): a query stays quick in a large library.
    small = store.rows_table("faces", ["photo_id", "person_id", "source"])
    theirs = pc.and_(
        pc.is_in(small.column("person_id"), pa.array(list(people))), pc.not_equal(small.column("source"), FORGOTTEN)
    )
    photos = set(small.column("photo_id").filter(pc.fill_null(theirs, False)).to_pylist())
    rows = [
        row
        for photo_rows in store.rows_of("faces", photos).values()
        for row in photo_rows
        if row["person_id"] in people and row["source"] != FORGOTTEN
    ]
    if not rows:
        return []
    length = len(max(rows, key=lambda row: row["created_at"])["descriptor"])  # the current face model's
    found = []
    for person_id, name in people.items():
        mine = [r for r in rows if r["person_id"] == person_id and len(r["descriptor"]) == length]
        if not mine:
            continue
        vectors = np.asarray([r["descriptor"] for r in mine], np.float32)
        distances = np.linalg.norm(vectors - vectors.mean(axis=0), axis=1)
        found += [
            FaceMatch(r["photo_id"], r["n"], name, float(d)) for r, d in zip(mine, distances.tolist(), strict=True)
        ]
    return found


def faces_in(store: ManyPerPhotoStore, photo_id: str) -> list[dict[str, Any]]:
    """A photo's faces (without descriptors), in the order the channel found them, with names."""
    names = {row["person_id"]: row["name"] for row in store.all_rows("people")}
    rows = sorted(store.rows_of("faces", [photo_id]).get(photo_id, []), key=lambda r: r["n"])
    return [
        {
            "face_id": r["face_id"],
            "n": r["n"],
            "box": list(r["box"]),
            "person_id": r["person_id"],
            "name": names.get(r["person_id"] or ""),
            "source": r["source"],
        }
        for r in rows
    ]


def names_in(store: ManyPerPhotoStore, photo_ids: Iterable[str]) -> dict[str, list[str]]:
    """The named people with a face in each of these photos (photos with none left out)."""
    names = {row["person_id"]: row["name"] for row in store.all_rows("people") if row["name"]}
    if not names:
        return {}
    found: dict[str, list[str]] = {}
    for photo_id, rows in store.rows_of("faces", photo_ids).items():
        named = [names[r["person_id"]] for r in sorted(rows, key=lambda r: r["n"]) if r["person_id"] in names]
        if named:
            found[photo_id] = list(dict.fromkeys(named))
    return found
