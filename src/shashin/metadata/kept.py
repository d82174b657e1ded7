"""One photo's kept metadata as a value: what each source says, merged by precedence."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shashin.text.fold import fold

__all__ = ["Facts", "Kept", "PersonTags", "Region", "capped", "clean", "facet", "fold"]

MAX_KEYWORDS = 1000  # per photo and source: a runaway export (10,000 keywords) keeps the first ones
MAX_TEXT = 200  # characters kept of one keyword, title part or name
PATH_SEPARATOR = "|"  # Lightroom's: "Places|Japan|Kyoto" (digiKam's "/" is read as this)
PEOPLE_KINDS = frozenset({"face", ""})  # MWG region types that name a person ("" : Microsoft regions)


@dataclass(frozen=True)
class Region:
    """A named area of the photo (MWG or Microsoft regions): a face, a pet, a focus point.
    `box` is (left, top, width, height) as fractions of the upright photo, or None."""

    name: str
    kind: str = "Face"
    box: tuple[float, float, float, float] | None = None

    @property
    def is_person(self) -> bool:
        return self.kind.casefold() in PEOPLE_KINDS


@dataclass(frozen=True)
class Kept:
    """What a photo's metadata says; empty fields say nothing. `over` merges by precedence."""

    keywords: tuple[str, ...] = ()  # flat keywords (IPTC Keywords, dc:subject)
    paths: tuple[str, ...] = ()  # hierarchical keywords, levels joined by "|"
    title: str | None = None
    rating: int | None = None  # -1 rejected, 0 unrated, 1-5 stars
    label: str | None = None  # colour label ("Red") as the app wrote it
    regions: tuple[Region, ...] = ()
    people: tuple[str, ...] = ()  # names without a region (Google Takeout)
    location: tuple[tuple[str, str], ...] = ()  # (field, text): sub-location, city, state, country
    description: str | None = None  # Takeout's description (embedded ones are imported as captions)
    taken_at: datetime | None = None  # local time, from XMP dates or Takeout (UTC)
    utc_offset: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    sources: tuple[str, ...] = ()  # where it was read: "embedded", "sidecar IMG_1.xmp", "takeout IMG_1.jpg.json"
    notes: tuple[str, ...] = ()  # problems met while reading, in a user's words

    def over(self, lower: Kept) -> Kept:
        """This source's fields, and `lower`'s where this one says nothing (a sidecar over the
        embedded fields, XMP over Takeout); sources and notes of both."""
        merged: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            mine, theirs = getattr(self, f.name), getattr(lower, f.name)
            if f.name in ("sources", "notes"):
                merged[f.name] = tuple(dict.fromkeys(mine + theirs))
            elif f.name in ("latitude", "longitude"):
                located = self.latitude is not None and self.longitude is not None
                merged[f.name] = mine if located else theirs
            elif f.name == "utc_offset":
                merged[f.name] = mine if self.taken_at is not None else theirs
            else:
                merged[f.name] = mine if mine not in (None, (), "") else theirs
        return Kept(**merged)

    def without_own(self, root: str) -> Kept:
        """Without the keywords shashin itself exported under `root` ("shashin|tags|dog", and its
        "dog" in the flat list): its suggestions must not come back as a person's keywords."""
        prefix = root.strip("|") + PATH_SEPARATOR if root.strip("|") else ""
        if not prefix:
            return self
        own = [path for path in self.paths if path.startswith(prefix)]
        if not own:
            return self
        words = {path[len(prefix) :] for path in own}
        return dataclasses.replace(
            self,
            paths=tuple(p for p in self.paths if p not in own),
            keywords=tuple(k for k in self.keywords if k not in words),
        )

    def names(self) -> list[str]:
        """People named in the photo: person regions, then Takeout's people, each once."""
        found = [r.name for r in self.regions if r.is_person] + list(self.people)
        return list(dict.fromkeys(name for name in found if name))

    def levels(self) -> list[str]:
        """Every keyword, flat ones and each level of a hierarchical one, each once."""
        words = list(self.keywords)
        for path in self.paths:
            words.extend(path.split(PATH_SEPARATOR))
        return list(dict.fromkeys(w for w in words if w))

    @property
    def empty(self) -> bool:
        return self == Kept(sources=self.sources, notes=self.notes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (what the library stores and the API shows)."""
        return {
            "keywords": list(self.keywords),
            "hierarchical": list(self.paths),
            "title": self.title,
            "rating": self.rating,
            "label": self.label,
            "regions": [{"name": r.name, "type": r.kind, "box": list(r.box) if r.box else None} for r in self.regions],
            "people": list(self.people),
            "location": dict(self.location),
            "description": self.description,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "utc_offset": self.utc_offset,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "sources": list(self.sources),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Kept:
        return cls(
            keywords=tuple(data.get("keywords") or ()),
            paths=tuple(data.get("hierarchical") or ()),
            title=data.get("title"),
            rating=data.get("rating"),
            label=data.get("label"),
            regions=tuple(
                Region(r["name"], r.get("type") or "", tuple(r["box"]) if r.get("box") else None)  # type: ignore[arg-type]
                for r in data.get("regions") or ()
            ),
            people=tuple(data.get("people") or ()),
            location=tuple((data.get("location") or {}).items()),
            description=data.get("description"),
            taken_at=datetime.fromisoformat(data["taken_at"]) if data.get("taken_at") else None,
            utc_offset=data.get("utc_offset"),
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            sources=tuple(data.get("sources") or ()),
            notes=tuple(data.get("notes") or ()),
        )


def clean(value: object) -> str | None:
    """A text field as one tidy line (NUL bytes and runs of spaces gone, at most MAX_TEXT
    characters), or None when nothing is left."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace("\x00", " ").split())[:MAX_TEXT]
    return text or None


def capped(values: list[str], what: str, origin: str, notes: list[str]) -> tuple[str, ...]:
    """`values` without repeats, at most MAX_KEYWORDS (a note says how many were left out)."""
    unique = list(dict.fromkeys(values))
    if len(unique) > MAX_KEYWORDS:
        notes.append(f"{origin}: {len(unique)} {what}; the first {MAX_KEYWORDS} are kept")
    return tuple(unique[:MAX_KEYWORDS])


def facet(kind: str, value: str) -> str:
    """A token that stands for one fact (a keyword, a person's name word, a label) in the
    metadata table's filter column: the kind's letter and a digest of the folded value."""
    return kind + hashlib.blake2b(fold(value).encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class PersonTags:
    """Keywords a person set on a photo in shashin (`shashin tag`): added ones, and tags shashin
    suggested that the person took away."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    """A photo's kept metadata with a person's tags: what the metadata channel stores per photo."""

    kept: Kept = field(default_factory=Kept)
    tags: PersonTags = field(default_factory=PersonTags)

    def keyword_facets(self) -> list[str]:
        """Filter tokens: each keyword, each level and each leading part of a hierarchical one."""
        values = list(self.kept.keywords) + list(self.tags.added)
        for path in self.kept.paths:
            levels = path.split(PATH_SEPARATOR)
            values.extend(levels)
            values.extend(PATH_SEPARATOR.join(levels[: n + 1]) for n in range(1, len(levels)))
        return [facet("k", value) for value in dict.fromkeys(values)]

    def facets(self) -> str:
        """Every filter token of the photo, space-separated (what `Filters` asks the index for)."""
        tokens = self.keyword_facets()
        for name in self.kept.names():
            tokens.extend(facet("p", word) for word in fold(name).split())
        if self.kept.label:
            tokens.append(facet("l", self.kept.label))
        rating = self.kept.rating
        if rating is not None:
            tokens.extend(["rx"] if rating < 0 else [f"r{n}" for n in range(1, min(rating, 5) + 1)])
        return " ".join(dict.fromkeys(tokens))

    def text(self) -> str:
        """What keyword search reads: keywords (hierarchical ones level by level), titles, names,
        places and Takeout's description, one per line."""
        kept = self.kept
        lines = [*kept.keywords, *self.tags.added]
        lines += [path.replace(PATH_SEPARATOR, " ") for path in kept.paths]
        lines += [kept.title or "", *kept.names(), *(text for _, text in kept.location), kept.description or ""]
        lines += [r.name for r in kept.regions if not r.is_person]
        return "\n".join(dict.fromkeys(line for line in lines if line))

    def place_text(self) -> str:
        """The place names it holds (IPTC City, Country...): what place filters read for photos without GPS."""
        return "\n".join(text for _, text in self.kept.location)
