"""Named face regions written back (MWG `mwg-rs:Regions`, what Lightroom, digiKam, Picasa and
Apple Photos read): one per face shashin knows the name of, merged with the regions already there.

A region another app wrote is never removed or renamed; a face it already covers gets no second
region. shashin takes back only regions it wrote itself (its record, as for keywords) once the
name no longer holds."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shashin.boxes import iou

REGIONS = "Xmp.mwg-rs.Regions"
_LIST = REGIONS + "/mwg-rs:RegionList"
_ENTRY = re.compile(r"^Xmp\.mwg-rs\.Regions/mwg-rs:RegionList\[(\d+)\](.*)$")
_OVERLAP = 0.3  # a region already over a face (this much IoU) stands for it


@dataclass(frozen=True)
class RegionChange:
    """The region fields to write (all of mwg-rs:Regions, rewritten), and what changed."""

    fields: dict[str, Any]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    written: list[list[Any]] = field(default_factory=list)  # [name, box] shashin wrote


def _entries(current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The regions in a file: each as its own sub-keys ("/mwg-rs:Name": ...), in order."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in current.items():
        match = _ENTRY.match(key)
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [found[n] for n in sorted(found)]


def _box(entry: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    try:
        x, y, w, h = (float(entry[f"/mwg-rs:Area/stArea:{part}"]) for part in "xywh")
    except (KeyError, TypeError, ValueError):
        return None
    return (x - w / 2, y - h / 2, w, h)


def merge_regions(
    current: Mapping[str, Any],
    named: Sequence[tuple[str, Sequence[float]]],
    earlier: Sequence[Sequence[Any]],
    size: tuple[int, int],
) -> RegionChange:
    """Merge shashin's named faces ((name, box as left/top/width/height fractions)) into the
    regions of a file; `earlier`: the [name, box] shashin wrote there before; `size`: the photo's
    upright width and height (written as the dimensions the regions apply to when there are none)."""
    ours_before = [(str(name), tuple(box)) for name, box in earlier]
    entries = _entries(current)
    kept, removed = [], []
    wanted = [(name, tuple(box)) for name, box in named]
    for entry in entries:
        area = _box(entry)
        name = str(entry.get("/mwg-rs:Name") or "")
        mine = area is not None and any(n == name and iou(b, area) > 0.9 for n, b in ours_before)
        if mine and area is not None and not any(n == name and iou(b, area) > 0.9 for n, b in wanted):
            removed.append(name)
            continue
        kept.append(entry)
    added, written = [], []
    for name, face_box in wanted:
        covering = [e for e in kept if (b := _box(e)) is not None and iou(b, face_box) >= _OVERLAP]
        if covering:
            if any(str(e.get("/mwg-rs:Name") or "") == name for e in covering) and any(
                n == name and iou(b, face_box) > 0.9 for n, b in ours_before
            ):
                written.append([name, list(face_box)])
            continue
        left, top, width, height = face_box
        kept.append(
            {
                "/mwg-rs:Name": name,
                "/mwg-rs:Type": "Face",
                "/mwg-rs:Area": 'type="Struct"',
                "/mwg-rs:Area/stArea:x": f"{left + width / 2:.5f}",
                "/mwg-rs:Area/stArea:y": f"{top + height / 2:.5f}",
                "/mwg-rs:Area/stArea:w": f"{width:.5f}",
                "/mwg-rs:Area/stArea:h": f"{height:.5f}",
                "/mwg-rs:Area/stArea:unit": "normalized",
            }
        )
        added.append(name)
        written.append([name, list(face_box)])
    if not added and not removed:
        return RegionChange({}, written=written)
    fields: dict[str, Any] = {key: None for key in current if key.startswith(REGIONS)}
    if kept:
        fields[REGIONS] = 'type="Struct"'
        dimensions = {k: v for k, v in current.items() if k.startswith(REGIONS + "/mwg-rs:AppliedToDimensions")}
        if not dimensions:
            dimensions = {
                REGIONS + "/mwg-rs:AppliedToDimensions": 'type="Struct"',
                REGIONS + "/mwg-rs:AppliedToDimensions/stDim:w": str(size[0]),
                REGIONS + "/mwg-rs:AppliedToDimensions/stDim:h": str(size[1]),
                REGIONS + "/mwg-rs:AppliedToDimensions/stDim:unit": "pixel",
            }
        fields.update(dimensions)
        fields[_LIST] = 'type="Bag"'
        for number, entry in enumerate(kept, start=1):
            fields[f"{_LIST}[{number}]"] = 'type="Struct"'
            for sub, value in sorted(entry.items(), key=lambda kv: kv[0].count("/")):
                fields[f"{_LIST}[{number}]{sub}"] = value
    return RegionChange(fields, added, removed, written)
