"""What a person decides about people: a name, a merge, "not this person", a face moved,
a person forgotten; and the names kept beside the library for queries to recognize."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shashin.people.table import CHANNEL, FORGOTTEN, REJECTED
from shashin.store import Store
from shashin.store.contract import ManyPerPhotoStore

MIN_ID_PREFIX = 4  # an id given by its first digits needs this many (as git's short hashes)


def find_person(store: ManyPerPhotoStore, key: str) -> dict[str, Any] | None:
    """A person by id, by name (case-insensitive), or by the first MIN_ID_PREFIX or more digits of
    their id when no name matches and only one id starts so; None otherwise."""
    rows = store.all_rows("people")
    exact = next((row for row in rows if row["person_id"] == key), None)
    if exact is not None:
        return exact
    named = person_named(store, key, rows)
    if named is not None:
        return named
    key = key.strip().lower()
    if len(key) < MIN_ID_PREFIX:
        return None
    starting = [row for row in rows if row["person_id"].startswith(key)]
    return starting[0] if len(starting) == 1 else None


def person_named(
    store: ManyPerPhotoStore, name: str, rows: list[dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """The person who carries `name` (case-insensitive, spaces as one), or None — never an id."""
    folded = " ".join(name.split()).casefold()
    rows = store.all_rows("people") if rows is None else rows
    return next((row for row in rows if row["name"] and " ".join(row["name"].split()).casefold() == folded), None)


def name_person(store: ManyPerPhotoStore, person_id: str, name: str) -> str:
    """Give a person a name; a person already called so takes this one's faces (they are one).
    The name is only ever compared with names: "ed" never means the person whose id starts "ed".
    Returns the id of the person who now has the name."""
    other = person_named(store, name)
    if other is not None and other["person_id"] != person_id:
        merge_people(store, other["person_id"], [person_id])
        return str(other["person_id"])
    row = next(r for r in store.all_rows("people") if r["person_id"] == person_id)
    store.put_rows("people", [{**row, "name": name}])
    return person_id


def merge_people(store: ManyPerPhotoStore, into: str, others: Iterable[str]) -> int:
    """Move every face of `others` to `into` and remove them; returns the faces moved."""
    others = [pid for pid in others if pid != into]
    moving = [r for r in store.all_rows("faces") if r["person_id"] in others]
    if moving:
        store.put_rows("faces", [{**r, "person_id": into} for r in moving])
    store.delete_rows("people", others)
    return len(moving)


NAMES_FILE = "people-names.json"


def save_names(store: Store) -> None:
    """Write the people's names where query parsing reads them without opening the tables."""
    import json

    from shashin import storage

    names = sorted({row["name"] for row in store.all_rows("people") if row["name"]})
    storage.write_bytes(storage.join(str(store.root), NAMES_FILE), json.dumps(names, ensure_ascii=False).encode())


def known_names(store: Store) -> tuple[str, ...]:
    """The names people gave (what "Ken at the beach" is read with); () before any."""
    import json

    from shashin import storage

    try:
        return tuple(json.loads(storage.read_bytes(storage.join(str(store.root), NAMES_FILE))))
    except (OSError, ValueError):
        return ()


def not_person(store: ManyPerPhotoStore, photo_id: str, person_id: str) -> int:
    """ "This photo's face is not that person": its faces of the person leave them and are never
    grouped again by themselves; returns the faces changed."""
    rows = [r for r in store.rows_of("faces", [photo_id]).get(photo_id, []) if r["person_id"] == person_id]
    if rows:
        store.put_rows("faces", [{**r, "person_id": None, "source": REJECTED} for r in rows])
    return len(rows)


def move_face(store: ManyPerPhotoStore, face_id: str, person_id: str) -> None:
    """Give one face to a person, confirmed: it stays theirs across every regrouping."""
    photo_id = face_id.rsplit(":", 1)[0]
    row = next((r for r in store.rows_of("faces", [photo_id]).get(photo_id, []) if r["face_id"] == face_id), None)
    if row is None:
        raise KeyError(face_id)
    store.put_rows("faces", [{**row, "person_id": person_id, "source": "confirmed"}])


def forget_person(store: Store, person_id: str) -> int:
    """Delete a person's name and their faces' descriptors (the faces stay as tombstones, so a
    rerun does not find and group them again); returns the faces forgotten."""
    rows = [r for r in store.all_rows("faces") if r["person_id"] == person_id]
    if rows:
        store.put_rows(
            "faces",
            [{**r, "person_id": None, "source": FORGOTTEN, "descriptor": [0.0] * len(r["descriptor"])} for r in rows],
        )
    # The channel's own copy of those descriptors goes too (the faces stay, found, but unrecognizable).
    wanted: dict[str, set[int]] = {}
    for r in rows:
        wanted.setdefault(r["photo_id"], set()).add(r["n"])
    stored = store.channel_rows(CHANNEL, list(wanted), ["version", "status", "error", "faces", "count"])
    changed = []
    for photo_id, row in stored.items():
        faces = [
            {**face, "descriptor": [0.0] * len(face["descriptor"])} if n in wanted[photo_id] else face
            for n, face in enumerate(row["faces"] or [])
        ]
        changed.append({**row, "photo_id": photo_id, "faces": faces})
    if changed:
        store.put_channel_rows(CHANNEL, changed)
    store.delete_rows("people", [person_id])
    return len(rows)
