"""The library's faces and people: kept in step with the faces channel, grouped as faces arrive,
regrouped on request, and named by people. A person's decisions (a name, "not this person", a
confirmed face) survive every regrouping and a change of face model."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shashin.boxes import iou
from shashin.config import FaceSettings
from shashin.models.faces import grouping_threshold
from shashin.people.group import chinese_whispers, nearest, pairs_between, pairs_under
from shashin.store import Store
from shashin.text.fold import fold

CHANNEL = "faces"
DECIDED = ("confirmed", "imported")  # a person (or their photo app) said who this is
REJECTED = "rejected"  # a person said "not this one": never grouped again by itself
FORGOTTEN = "forgotten"  # its descriptor was deleted on request; the face stays as a tombstone
ALONE = "alone"  # looked at: nobody close yet (a later face of the same person groups with it)
_MATCH_IOU = 0.5  # a face found again by a new model is the same face when the boxes overlap this much


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


def sync_faces(store: Store, settings: FaceSettings, version: str) -> int:
    """Bring the faces table in line with the channel's current output (a person's decisions, and
    the faces of the people they named, carried to the same face found again — by a new model
    too), then group the new faces; returns faces written."""
    done = [pid for pid, (v, status) in store.channel_states(CHANNEL).items() if v == version and status == "done"]
    rows = _columns(store, ["photo_id", "version", "box", "person_id", "source"])  # no descriptors: _Faces reads those
    by_photo: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_photo.setdefault(row["photo_id"], []).append(row)
    stale = sorted(pid for pid in done if pid not in by_photo or any(r["version"] != version for r in by_photo[pid]))
    named = {row["person_id"] for row in store.all_rows("people") if row["name"]} if stale else set()
    written = 0
    for start in range(0, len(stale), 500):
        chunk = stale[start : start + 500]
        payloads = store.channel_rows(CHANNEL, chunk, ["faces"])
        fresh: list[dict[str, Any]] = []
        for photo_id in chunk:
            old = [
                r
                for r in by_photo.get(photo_id, [])
                if r.get("source") in (*DECIDED, REJECTED, FORGOTTEN) or r["person_id"] in named
            ]
            for n, face in enumerate((payloads.get(photo_id) or {}).get("faces") or []):
                row = {
                    "face_id": f"{photo_id}:{n}",
                    "photo_id": photo_id,
                    "n": n,
                    "box": face["box"],
                    "score": face["score"],
                    "size": face["size"],
                    "sharpness": face["sharpness"],
                    "descriptor": face["descriptor"],
                    "version": version,
                    "person_id": None,
                    "source": None,
                }
                match = max(old, key=lambda r: iou(r["box"], face["box"]), default=None)
                if match is not None and iou(match["box"], face["box"]) >= _MATCH_IOU:
                    row.update(person_id=match["person_id"], source=match["source"])
                    if match["source"] == FORGOTTEN:
                        row["descriptor"] = [0.0] * len(face["descriptor"])
                fresh.append(row)
        store.delete_rows_of("faces", chunk)
        store.put_rows("faces", fresh)
        written += len(fresh)
    assign(store, settings)  # also faces a crashed run wrote but did not group
    return written


def _columns(store: Store, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Every face with only these columns (without descriptors, reading is cheap)."""
    return store.rows_table("faces", columns).to_pylist()


class _Faces:
    """The faces table in bulk: its small columns as lists and arrays, descriptors as one matrix,
    whole rows made only for the faces that change."""

    def __init__(self, store: Store) -> None:
        self.table = store.rows_table("faces")
        self.ids: list[str] = self.table.column("face_id").to_pylist()
        self.photos: list[str] = self.table.column("photo_id").to_pylist()
        self.people: list[str | None] = self.table.column("person_id").to_pylist()
        self.sources: list[str | None] = self.table.column("source").to_pylist()
        self.numbers: list[int] = self.table.column("n").to_pylist()
        self.sizes = np.asarray(self.table.column("size").to_numpy(zero_copy_only=False), dtype=np.float64)
        self.sharpness = np.asarray(self.table.column("sharpness").to_numpy(zero_copy_only=False), dtype=np.float64)
        # Descriptors as one matrix of the newest face's length: after a change of face model, the
        # faces the old one found (another length) wait, ungrouped, until the channel redoes them.
        descriptors = self.table.column("descriptor").combine_chunks()
        lengths = pc.list_value_length(descriptors).to_numpy(zero_copy_only=False)
        newest = int(np.argmax(self.table.column("created_at").to_numpy(zero_copy_only=False))) if len(lengths) else 0
        dimensions = int(lengths[newest]) if len(lengths) else 0
        self.current = lengths == dimensions
        self.descriptors = np.zeros((len(self.ids), dimensions), np.float32)
        if self.current.any():
            values = descriptors.filter(pa.array(self.current)).flatten().to_numpy(zero_copy_only=False)
            self.descriptors[self.current] = values.reshape(-1, dimensions)

    def groupable(self, settings: FaceSettings) -> np.ndarray:
        """The faces that may join or found a group, as a mask: decided by a person, or large,
        sharp and not rejected — and found by the current face model."""
        decided = np.array([s in DECIDED for s in self.sources], bool)
        out = np.array([s in (REJECTED, FORGOTTEN) for s in self.sources], bool)
        big = (np.nan_to_num(self.sizes) >= settings.min_size) & (
            np.nan_to_num(self.sharpness) >= settings.min_sharpness
        )
        return (decided | (big & ~out)) & self.current

    def rows(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        return self.table.take(np.asarray(indices, dtype=np.int64)).to_pylist() if len(indices) else []


def _write(store: Store, faces: _Faces, changes: dict[int, tuple[str | None, str | None]]) -> None:
    """Set (person, source) of the faces at these positions (one commit)."""
    order = sorted(changes)
    rows = faces.rows(order)
    for row, index in zip(rows, order, strict=True):
        row["person_id"], row["source"] = changes[index]
    store.put_rows("faces", rows)


def _threshold(settings: FaceSettings) -> float:
    return grouping_threshold(settings.threshold, settings.model_dir)


def assign(store: Store, settings: FaceSettings) -> None:
    """Faces not looked at yet join the person whose centre (mean descriptor) is nearest, under the threshold;
    the rest are grouped among themselves and the faces left alone earlier, groups of two or more
    becoming new (unnamed) people; a face still alone is marked so (source "alone")."""
    faces = _Faces(store)
    able = faces.groupable(settings)
    known = [n for n in range(len(faces.ids)) if faces.people[n] and able[n]]
    todo = [n for n in range(len(faces.ids)) if not faces.people[n] and faces.sources[n] is None and able[n]]
    if not todo:
        return
    threshold = _threshold(settings)
    # Each person's centre: a new face joins the nearest one under the threshold (5,000 centres
    # are searched instead of 100,000 faces, and one odd face of a person misleads nobody).
    owners = sorted({str(faces.people[n]) for n in known})
    slot = {pid: k for k, pid in enumerate(owners)}
    sums = np.zeros((len(owners), faces.descriptors.shape[1]), np.float64)
    counts = np.zeros(len(owners))
    member_slots = np.array([slot[str(faces.people[n])] for n in known], dtype=np.int64)
    np.add.at(sums, member_slots, faces.descriptors[known])
    np.add.at(counts, member_slots, 1)
    centres = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
    index, distance = nearest(faces.descriptors[todo], centres)
    changes: dict[int, tuple[str | None, str | None]] = {}
    rest = []
    for n, i, d in zip(todo, index.tolist(), distance.tolist(), strict=True):
        if i >= 0 and d < threshold:
            changes[n] = (owners[i], "clustered")
        else:
            rest.append(n)
    alone = [n for n in range(len(faces.ids)) if faces.sources[n] == ALONE and able[n]]
    pool = rest + alone
    labels = np.arange(len(pool))
    if rest:  # pairs among the new faces, and between them and those left alone before (not old × old)
        fresh = faces.descriptors[rest]
        i1, j1, d1 = pairs_under(fresh, threshold)
        i2, j2, d2 = pairs_between(fresh, faces.descriptors[alone], threshold)
        i, j = np.concatenate([i1, i2]), np.concatenate([j1, j2 + len(rest)])
        labels = chinese_whispers(len(pool), i, j, np.concatenate([d1, d2]))
    sizes = Counter(labels.tolist())
    people = []
    new_person: dict[int, str] = {}
    for n, label in zip(pool, labels.tolist(), strict=True):
        if sizes[label] < 2:
            if faces.sources[n] is None:
                changes[n] = (None, ALONE)
            continue
        if label not in new_person:
            new_person[label] = uuid.uuid4().hex[:12]
            people.append({"person_id": new_person[label], "photo_id": faces.photos[n], "name": None})
        changes[n] = (new_person[label], "clustered")
    if people:
        store.put_rows("people", people)
    if changes:
        _write(store, faces, changes)


def recluster(store: Store, settings: FaceSettings) -> dict[str, int]:
    """Regroup every groupable face from scratch with Chinese whispers. Faces a person confirmed
    keep their person and pull their neighbours along; a named person keeps its name (by the
    faces it keeps); people left without faces are removed."""
    faces = _Faces(store)
    members_of = np.flatnonzero(faces.groupable(settings)).tolist()
    people = {row["person_id"]: row for row in store.all_rows("people")}
    decided = [faces.sources[n] in DECIDED for n in members_of]
    fixed_ids = sorted(
        {str(faces.people[n]) for n, d in zip(members_of, decided, strict=True) if d and faces.people[n]}
    )
    number = {pid: k for k, pid in enumerate(fixed_ids)}
    fixed = np.array(
        [number.get(faces.people[n] or "", -1) if d else -1 for n, d in zip(members_of, decided, strict=True)],
        dtype=np.int64,
    )
    i, j, d = pairs_under(faces.descriptors[members_of], _threshold(settings))
    labels = chinese_whispers(len(members_of), i, j, d, fixed=fixed)
    groups: dict[int, list[int]] = {}
    for n, label in zip(members_of, labels.tolist(), strict=True):
        groups.setdefault(label, []).append(n)
    changes: dict[int, tuple[str | None, str | None]] = {}
    kept_people: set[str] = set()
    added = []
    for label, members in groups.items():
        if label < len(fixed_ids):
            person_id = fixed_ids[label]
        else:
            if len(members) < 2:
                lone = members[0]
                owner = faces.people[lone]
                if owner and (people.get(owner) or {}).get("name"):
                    kept_people.add(owner)  # a named person's only face stays theirs
                elif owner:
                    changes[lone] = (None, ALONE)
                continue
            # The group keeps the person most of its faces had (so a name given to it stays).
            earlier = Counter(str(faces.people[m]) for m in members if faces.people[m])
            person_id = (
                next((pid for pid, _ in earlier.most_common() if pid not in kept_people), None) or uuid.uuid4().hex[:12]
            )
        kept_people.add(person_id)
        if person_id not in people:
            people[person_id] = {"person_id": person_id, "photo_id": faces.photos[members[0]], "name": None}
            added.append(people[person_id])
        for m in members:
            if faces.people[m] != person_id:
                changes[m] = (person_id, faces.sources[m] if faces.sources[m] in DECIDED else "clustered")
    if added:
        store.put_rows("people", added)
    if changes:
        _write(store, faces, changes)
    gone = [pid for pid, row in people.items() if pid not in kept_people and not row.get("name")]
    store.delete_rows("people", gone)
    return {"faces": len(members_of), "people": len(kept_people), "moved": len(changes), "removed_people": len(gone)}


def list_people(store: Store) -> list[Person]:
    """Every person with their face and photo counts, named ones first, then the largest."""
    faces = [
        r
        for r in _columns(store, ["face_id", "photo_id", "person_id", "source", "size"])
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


MIN_ID_PREFIX = 4  # an id given by its first digits needs this many (as git's short hashes)


def find_person(store: Store, key: str) -> dict[str, Any] | None:
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


def person_named(store: Store, name: str, rows: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The person who carries `name` (case-insensitive, spaces as one), or None — never an id."""
    folded = " ".join(name.split()).casefold()
    rows = store.all_rows("people") if rows is None else rows
    return next((row for row in rows if row["name"] and " ".join(row["name"].split()).casefold() == folded), None)


def name_person(store: Store, person_id: str, name: str) -> str:
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


def merge_people(store: Store, into: str, others: Iterable[str]) -> int:
    """Move every face of `others` to `into` and remove them; returns the faces moved."""
    others = [pid for pid in others if pid != into]
    moving = [r for r in store.all_rows("faces") if r["person_id"] in others]
    if moving:
        store.put_rows("faces", [{**r, "person_id": into} for r in moving])
    store.delete_rows("people", others)
    return len(moving)


def photos_of(store: Store, names: Iterable[str]) -> dict[str, set[str]]:
    """Photos with a face of each named person (folded name asked -> photo ids): a person matches
    when every word asked is a word of their name ("obama" finds Barack Obama)."""
    wanted: dict[str, set[str]] = {fold(name): set() for name in names}
    people = {row["person_id"]: set(fold(row["name"]).split()) for row in store.all_rows("people") if row["name"]}
    matches = {asked: {pid for pid, words in people.items() if set(asked.split()) <= words} for asked in wanted}
    if not any(matches.values()):
        return wanted
    for row in _columns(store, ["photo_id", "person_id", "source"]):
        if row["source"] == FORGOTTEN or not row["person_id"]:
            continue
        for asked, persons in matches.items():
            if row["person_id"] in persons:
                wanted[asked].add(row["photo_id"])
    return wanted


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


@dataclass(frozen=True)
class FaceMatch:
    """A face of a person the query names, and how typical of them it is (distance to their centre)."""

    photo_id: str
    n: int
    name: str
    distance: float


def faces_of(store: Store, names: Iterable[str]) -> list[FaceMatch]:
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


def faces_in(store: Store, photo_id: str) -> list[dict[str, Any]]:
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


def not_person(store: Store, photo_id: str, person_id: str) -> int:
    """ "This photo's face is not that person": its faces of the person leave them and are never
    grouped again by themselves; returns the faces changed."""
    rows = [r for r in store.rows_of("faces", [photo_id]).get(photo_id, []) if r["person_id"] == person_id]
    if rows:
        store.put_rows("faces", [{**r, "person_id": None, "source": REJECTED} for r in rows])
    return len(rows)


def move_face(store: Store, face_id: str, person_id: str) -> None:
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


_REGION_IOU = 0.3  # a named region from a photo app names the detected face it overlaps this much


def import_region_names(store: Store, regions: dict[str, list[tuple[str, list[float]]]]) -> int:
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


def named_faces(store: Store) -> dict[str, list[tuple[str, list[float]]]]:
    """Each photo's faces whose person has a name: (name, box), what `export --fields people` writes."""
    names = {row["person_id"]: row["name"] for row in store.all_rows("people") if row["name"]}
    found: dict[str, list[tuple[str, list[float]]]] = {}
    for row in _columns(store, ["photo_id", "person_id", "source", "box"]):
        if row["person_id"] in names and row["source"] != FORGOTTEN:
            found.setdefault(row["photo_id"], []).append((names[row["person_id"]], list(row["box"])))
    return found


def names_in(store: Store, photo_ids: Iterable[str]) -> dict[str, list[str]]:
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
