"""Google Takeout's JSON beside each photo: when and where it was taken, its description, its people.

Takeout names the JSON after the photo's original title: `IMG_1.jpg.json`, lately
`IMG_1.jpg.supplemental-metadata.json`; a name too long is cut (the part before ".json" keeps
about 46 characters, cutting into "supplemental-metadata" too), and a second photo of the same
title, `IMG_1(1).jpg`, has `IMG_1.jpg(1).json`. Edited copies (`IMG_1-edited.jpg`) share the
original's JSON. The JSON's own "title" confirms the match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from shashin import storage
from shashin.metadata.kept import Kept, capped, clean
from shashin.untrusted import UntrustedFileError, as_dict, as_list, load_json

SUPPLEMENTAL = ".supplemental-metadata"
MIN_CUT = 40  # a JSON name shorter than the title it stands for must have been cut at least here
_NUMBER = re.compile(r"^(?P<stem>.*?)(?P<n>\(\d+\))(?P<ext>\.[^.()]*)?$")
_JSON_NUMBER = re.compile(r"^(?P<key>.*?)(?P<n>\(\d+\))?$")
# What Takeout appends to an edited copy's name, in the languages it is seen in.
_EDITED = ("-edited", "-bearbeitet", "-modifié", "-editado", "-modificato", "-bewerkt", "-編集済み", "-편집됨")


def _split(name: str) -> tuple[str, str, str]:
    """(stem, "(n)" or "", extension) of a photo's file name."""
    match = _NUMBER.match(name)
    if match:
        return match.group("stem"), match.group("n"), match.group("ext") or ""
    stem, dot, ext = name.rpartition(".")
    return (stem, "", dot + ext) if dot and stem else (name, "", "")


def _originals(name: str) -> tuple[list[str], str]:
    """The titles the photo may have been uploaded as (an edited copy's original first), and its number."""
    stem, number, ext = _split(name)
    titles = [stem + ext]
    for suffix in _EDITED:
        if stem.casefold().endswith(suffix):
            titles.insert(0, stem[: -len(suffix)] + ext)
    return titles, number


class TakeoutNames:
    """One folder's JSON file names, indexed by what they stand for (the title, cut or not, with
    its number), so finding a photo's JSON costs a few lookups however big the folder."""

    def __init__(self, names: Collection[str]) -> None:
        self.by_key: dict[tuple[str, str], str] = {}
        for name in names:
            if name.lower().endswith(".json"):
                match = _JSON_NUMBER.match(name[:-5])
                if match and match.group("key"):
                    self.by_key.setdefault((match.group("key"), match.group("n") or ""), name)

    def find(self, photo_name: str) -> str | None:
        """The JSON that describes the photo `photo_name`: the longest (least cut) matching name."""
        if not self.by_key:
            return None
        titles, number = _originals(photo_name)
        for title in titles:
            whole = title + SUPPLEMENTAL
            for length in range(len(whole), min(len(title), MIN_CUT) - 1, -1):
                name = self.by_key.get((whole[:length], number))
                if name is not None:
                    return name
        return None


def json_for(photo_name: str, names: Collection[str]) -> str | None:
    """The name of the Takeout JSON among `names` (one folder's files) that describes the photo
    `photo_name`, or None. The longest matching name wins (the least cut)."""
    return TakeoutNames(names).find(photo_name)


def read_takeout(path: str, photo_name: str) -> Kept:
    """The fields of one Takeout JSON; a JSON that is broken, hostile (not a regular file, too large,
    nested too deeply) or describes another photo gives a note and no fields. A value of the wrong
    type ("people": 5) is read as absent."""
    origin = f"takeout {storage.basename(path)}"
    try:
        data = load_json(path)
        if not isinstance(data, dict):
            raise UntrustedFileError("not a JSON object")
    except UntrustedFileError as exc:
        return Kept(sources=(origin,), notes=(f"{origin}: cannot be read ({exc}); it was left out",))
    title = clean(data.get("title"))
    if title and not _same_photo(title, photo_name):
        return Kept(notes=(f"{origin}: describes {title!r}, not {photo_name!r}; it was left out",))
    notes: list[str] = []
    taken = _timestamp(data.get("photoTakenTime")) or None
    latitude, longitude = _position(data.get("geoData")) or _position(data.get("geoDataExif")) or (None, None)
    people = [clean(as_dict(p).get("name")) for p in as_list(data.get("people"))]
    return Kept(
        people=capped([p for p in people if p], "people", origin, notes),
        description=clean(data.get("description")),
        taken_at=taken,
        utc_offset="+00:00" if taken else None,
        latitude=latitude,
        longitude=longitude,
        sources=(origin,),
        notes=tuple(notes),
    )


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _same_photo(title: str, photo_name: str) -> bool:
    """The JSON's title names this photo: the same name, or one cut short of the other (Takeout
    cuts long names), or the original of an edited copy."""
    wanted = [_fold(_split(t)[0]) for t in _originals(photo_name)[0]]
    stem = _fold(_split(title)[0])
    return any(
        stem == w or (min(len(stem), len(w)) >= MIN_CUT and (stem.startswith(w) or w.startswith(stem))) for w in wanted
    )


def _timestamp(value: Any) -> datetime | None:
    """photoTakenTime: seconds since 1970 in UTC (as a string), kept as UTC time."""
    try:
        seconds = int(str((value or {}).get("timestamp")))
    except (TypeError, ValueError, AttributeError):
        return None
    if seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def _position(value: Any) -> tuple[float, float] | None:
    """geoData: 0.0, 0.0 is how Takeout says "unknown"."""
    try:
        latitude, longitude = float(value["latitude"]), float(value["longitude"])
    except (TypeError, KeyError, ValueError):
        return None
    if (latitude, longitude) == (0.0, 0.0) or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude
