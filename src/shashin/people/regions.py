"""Names from other apps' face regions (Lightroom, digiKam, Picasa) given to the faces they
overlap, and the named faces written back out as regions."""

from __future__ import annotations

import uuid

from shashin.boxes import iou
from shashin.people.table import DECIDED, FORGOTTEN, REJECTED, face_columns
from shashin.store.contract import ManyPerPhotoStore
from shashin.text.fold import fold

_REGION_IOU = 0.3  # a named region from a photo app names the detected face it overlaps this much


def import_region_names(store: ManyPerPhotoStore, regions: dict[str, list[tuple[str, list[float]]]]) -> int:
    """Named face regions other apps wrote ((name, box) by photo; see shashin.metadata) name the
    face they overlap: its person takes the name, or the face joins the person already called so.
    A face a person decided about is left alone. Returns the faces named."""
    if not regions:
        return 0
    faces = store.rows_of("faces", list(regions))
    people = {row["person_id"]: row for row in store.all_rows("people")}
    by_name = {fold(row["name"]): pid for pid, row in people.items() if row["name"]}
    named = 0
    for photo_id, found in regions.items():
        for name, box in found:
            candidates = [f for f in faces.get(photo_id, []) if f["source"] not in (*DECIDED, REJECTED, FORGOTTEN)]
            face = max(candidates, key=lambda f: iou(f["box"], box), default=None)
            if face is None or iou(face["box"], box) < _REGION_IOU:
                continue
            owner = by_name.get(fold(name))
            current = face["person_id"]
            if owner is None and current and not people[current]["name"]:
                store.put_rows("people", [{**people[current], "name": name}])  # the whole group takes the name
                people[current]["name"] = name
                by_name[fold(name)] = current
                owner = current
            elif owner is None:
                owner = uuid.uuid4().hex[:12]
                people[owner] = {"person_id": owner, "photo_id": photo_id, "name": name}
                store.put_rows("people", [people[owner]])
                by_name[fold(name)] = owner
            store.put_rows("faces", [{**face, "person_id": owner, "source": "imported"}])
            named += 1
    return named


def named_faces(store: ManyPerPhotoStore) -> dict[str, list[tuple[str, list[float]]]]:
    """Each photo's faces whose person has a name: (name, box), what `export --fields people` writes."""
    names = {row["person_id"]: row["name"] for row in store.all_rows("people") if row["name"]}
    found: dict[str, list[tuple[str, list[float]]]] = {}
    for row in face_columns(store, ["photo_id", "person_id", "source", "box"]):
        if row["person_id"] in names and row["source"] != FORGOTTEN:
            found.setdefault(row["photo_id"], []).append((names[row["person_id"]], list(row["box"])))
    return found
