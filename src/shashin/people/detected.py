"""The faces the channel detected, carried into the faces table: a person's decisions (a name,
"not this person", a confirmed face) follow the same face found again — by a new face model too —
and new faces are grouped as they arrive."""

from __future__ import annotations

from typing import Any

from shashin.boxes import iou
from shashin.config import FaceSettings
from shashin.people.grouping import assign
from shashin.people.table import CHANNEL, DECIDED, FORGOTTEN, REJECTED, face_columns
from shashin.store import Store

_MATCH_IOU = 0.5  # a face found again by a new model is the same face when the boxes overlap this much


def sync_faces(store: Store, settings: FaceSettings, version: str) -> int:
    """Bring the faces table in line with the channel's current output (a person's decisions, and
    the faces of the people they named, carried to the same face found again — by a new model
    too), then group the new faces; returns faces written."""
    done = [pid for pid, (v, status) in store.channel_states(CHANNEL).items() if v == version and status == "done"]
    rows = face_columns(
        store, ["photo_id", "version", "box", "person_id", "source"]
    )  # no descriptors: FaceTable reads those
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
