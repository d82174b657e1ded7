"""Keywords written where other apps read them, merged with what is there.

shashin's keywords for a photo are its suggested tags above a probability (in the export's
languages) and the tags a person set, less the ones a person took away. They go to dc:subject
(every app), lr:hierarchicalSubject under a root ("shashin|tags|dog": Lightroom, digiKam,
darktable) and digiKam:TagsList ("shashin/tags/dog": digiKam, immich). A keyword shashin did not
write is never removed: a record of what it added to each file (`WrittenLog`) lets it take back
only its own keywords once they no longer hold.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shashin import storage
from shashin.media import is_supported
from shashin.metadata.kept import PersonTags, fold
from shashin.metadata.regions import REGIONS
from shashin.untrusted import read_photo_metadata, read_sidecar

SUBJECT = "Xmp.dc.subject"
HIERARCHICAL = "Xmp.lr.hierarchicalSubject"
DIGIKAM = "Xmp.digiKam.TagsList"
TITLE = "Xmp.dc.title"
KEYWORD_FIELDS = (SUBJECT, HIERARCHICAL, DIGIKAM)


@dataclass(frozen=True)
class Wanted:
    """What shashin wants a photo's keyword fields (and title) to hold of its own."""

    values: dict[str, tuple[str, ...]]  # field -> values
    title: str | None = None


def wanted_keywords(
    suggested: Iterable[Mapping[str, Any]],
    person: PersonTags,
    langs: Sequence[str],
    min_score: float,
    root: str,
) -> dict[str, tuple[str, ...]]:
    """The keyword fields' values for one photo: suggested tags ({en, ja, score}) at least
    `min_score` probable, in each language of `langs` they have, then a person's tags; a tag a
    person took away (in any of its languages) is left out."""
    removed = {fold(word) for word in person.removed}
    words: list[str] = []
    for tag in sorted(suggested, key=lambda t: -float(t.get("score") or 0)):
        names = [str(tag.get(lang) or "") for lang in langs]
        if float(tag.get("score") or 0) < min_score or any(fold(n) in removed for n in names if n):
            continue
        words.extend(name for name in names if name)
    words.extend(word for word in person.added if fold(word) not in removed)
    unique = list(dict.fromkeys(words))
    levels = [part for part in root.split("|") if part]
    return {
        SUBJECT: tuple(unique),
        HIERARCHICAL: tuple("|".join([*levels, word]) for word in unique),
        DIGIKAM: tuple("/".join([*levels, word.replace("/", "-")]) for word in unique),
    }


@dataclass(frozen=True)
class Change:
    """What writing shashin's keywords into one file does: the fields to set (a list, or None to
    remove a field left empty), the keywords added and removed, and what shashin has added there."""

    fields: dict[str, Any]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    written: dict[str, list[str]] = field(default_factory=dict)

    @property
    def changes(self) -> bool:
        return bool(self.added or self.removed)


def merge(
    current: Mapping[str, Any], wanted: Mapping[str, Sequence[str]], earlier: Mapping[str, Sequence[str]]
) -> Change:
    """Merge `wanted` into the `current` values of each keyword field: keep everything there except
    values shashin added `earlier` that it no longer wants; add what is missing. Only values shashin
    itself added (not ones already there) are recorded as its own."""
    fields: dict[str, Any] = {}
    added: list[str] = []
    removed: list[str] = []
    written: dict[str, list[str]] = {}
    for key, values in wanted.items():
        present = list(_values(current.get(key)))
        ours = set(earlier.get(key, ()))
        keep = [v for v in present if v not in ours or v in values]
        gone = [v for v in present if v not in keep]
        new = [v for v in values if v not in keep]
        written[key] = [v for v in dict.fromkeys([*ours, *new]) if v in values]
        if new or gone:
            fields[key] = keep + new or None
        if key == SUBJECT:
            added, removed = new, gone
    return Change(fields, added, removed, {k: v for k, v in written.items() if v})


def merge_title(
    current: Mapping[str, Any], title: str | None, earlier: str | None
) -> tuple[dict[str, Any], str | None]:
    """dc:title set to `title` only where the file has none, or has the one shashin wrote before
    (a person's title is never replaced); returns the field to set and what shashin wrote."""
    present = current.get(TITLE)
    text = present.get('lang="x-default"') if isinstance(present, dict) else present
    if not title or (text and text != earlier):
        return {}, earlier if text == earlier else None
    if text == title:
        return {}, title
    return {TITLE: {'lang="x-default"': title}}, title


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def current_fields(target: str, photo: str) -> dict[str, Any]:
    """The keyword fields and title a write to `target` starts from: the target's own (a sidecar,
    or the photo itself), and for a sidecar that lacks a field, the photo's embedded one — a new
    sidecar must not hide the keywords the photo already holds from apps that prefer sidecars."""
    own = _read(target) if storage.exists(target) else {}
    if target != photo:
        embedded = _read(photo)
        for key in (*KEYWORD_FIELDS, TITLE):
            if key not in own and key in embedded:
                own[key] = embedded[key]
        if not any(key.startswith(REGIONS) for key in own):  # regions go as one group
            own.update({key: value for key, value in embedded.items() if key.startswith(REGIONS)})
    return own


def _read(path: str) -> dict[str, Any]:
    import pyexiv2

    try:
        with pyexiv2.ImageData(read_photo_metadata(path) if is_supported(path) else read_sidecar(path)) as data:
            xmp = data.read_xmp() or {}
    except Exception:  # an unreadable file is reported by the write that follows
        return {}
    return {key: value for key, value in xmp.items() if key in (*KEYWORD_FIELDS, TITLE) or key.startswith(REGIONS)}


class WrittenLog:
    """What shashin added to each file's keyword fields and title (JSON in the library), so that
    a later export takes back only its own keywords."""

    def __init__(self, location: str) -> None:
        self.location = location
        try:
            self.entries: dict[str, dict[str, Any]] = json.loads(storage.read_bytes(location))
        except (OSError, ValueError):
            self.entries = {}

    def of(self, target: str) -> dict[str, Any]:
        return self.entries.get(target, {})

    def record(self, target: str, written: Mapping[str, Any]) -> None:
        if written:
            self.entries[target] = dict(written)
        else:
            self.entries.pop(target, None)

    def save(self) -> None:
        """Write the record atomically (a crash leaves the old one); nothing when it would be empty and new."""
        if not self.entries and not storage.exists(self.location):
            return
        storage.write_bytes(self.location, json.dumps(self.entries, ensure_ascii=False, indent=1).encode())
