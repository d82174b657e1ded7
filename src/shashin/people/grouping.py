"""Faces grouped into people: a new face joins the nearest person, the rest group among
themselves (assign); every face regrouped from scratch on request (recluster). A person's
decisions (a confirmed face, a name) survive both."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import numpy as np

from shashin.config import FaceSettings
from shashin.models.faces import grouping_threshold
from shashin.people.group import chinese_whispers, nearest, pairs_between, pairs_under
from shashin.people.table import ALONE, DECIDED, FaceTable, write_faces
from shashin.store.contract import ManyPerPhotoStore


def _threshold(settings: FaceSettings) -> float:
    return grouping_threshold(settings.threshold, settings.model_dir)


def assign(store: ManyPerPhotoStore, settings: FaceSettings) -> None:
    """Faces not looked at yet join the person whose centre (mean descriptor) is nearest, under the threshold;
    the rest are grouped among themselves and the faces left alone earlier, groups of two or more
    becoming new (unnamed) people; a face still alone is marked so (source "alone")."""
    faces = FaceTable(store)
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
        write_faces(store, faces, changes)


def recluster(store: ManyPerPhotoStore, settings: FaceSettings) -> dict[str, int]:
    """Regroup every groupable face from scratch with Chinese whispers. Faces a person confirmed
    keep their person and pull their neighbours along; a named person keeps its name (by the
    faces it keeps); people left without faces are removed."""
    faces = FaceTable(store)
    members_of = np.flatnonzero(faces.groupable(settings)).tolist()
    people = {row["person_id"]: row for row in store.all_rows("people")}
    fixed_ids, fixed = _decided_people(faces, members_of)
    i, j, d = pairs_under(faces.descriptors[members_of], _threshold(settings))
    labels = chinese_whispers(len(members_of), i, j, d, fixed=fixed)
    groups: dict[int, list[int]] = {}
    for n, label in zip(members_of, labels.tolist(), strict=True):
        groups.setdefault(label, []).append(n)
    changes: dict[int, tuple[str | None, str | None]] = {}
    kept_people: set[str] = set()
    added = []
    for label, members in groups.items():
        person_id = fixed_ids[label] if label < len(fixed_ids) else _owner(faces, members, people, kept_people, changes)
        if person_id is None:
            continue
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
        write_faces(store, faces, changes)
    gone = [pid for pid, row in people.items() if pid not in kept_people and not row.get("name")]
    store.delete_rows("people", gone)
    return {"faces": len(members_of), "people": len(kept_people), "moved": len(changes), "removed_people": len(gone)}


def _decided_people(faces: FaceTable, members_of: list[int]) -> tuple[list[str], np.ndarray]:
    """The people a person decided faces for (they keep their faces), and each face's number
    among them (-1: free to move), for Chinese whispers' fixed labels."""
    decided = [faces.sources[n] in DECIDED for n in members_of]
    fixed_ids = sorted(
        {str(faces.people[n]) for n, d in zip(members_of, decided, strict=True) if d and faces.people[n]}
    )
    number = {pid: k for k, pid in enumerate(fixed_ids)}
    fixed = np.array(
        [number.get(faces.people[n] or "", -1) if d else -1 for n, d in zip(members_of, decided, strict=True)],
        dtype=np.int64,
    )
    return fixed_ids, fixed


def _owner(
    faces: FaceTable,
    members: list[int],
    people: dict[str, dict[str, Any]],
    kept_people: set[str],
    changes: dict[int, tuple[str | None, str | None]],
) -> str | None:
    """Who a group no decision holds is: the person most of its faces had (so a name given to it
    stays), or someone new; None for a face left alone (a named person's only face stays theirs)."""
    if len(members) < 2:
        lone = members[0]
        owner = faces.people[lone]
        if owner and (people.get(owner) or {}).get("name"):
            kept_people.add(owner)
        elif owner:
            changes[lone] = (None, ALONE)
        return None
    earlier = Counter(str(faces.people[m]) for m in members if faces.people[m])
    return next((pid for pid, _ in earlier.most_common() if pid not in kept_people), None) or uuid.uuid4().hex[:12]
