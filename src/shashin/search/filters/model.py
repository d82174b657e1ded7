"""Filters: which photos a search may return, by date, folder, camera, text in the photo, place,
and what people keep in other apps (keywords, rating, colour label, named people).

A filter becomes a PhotoSet that every channel ranks within (so a selective filter still gets a
full page), and explains itself per photo ("3.2 km from Kyoto", "taken 2023-07-14").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shashin.errors import UsageError
from shashin.places import Place, gazetteer, nearest_towns
from shashin.search.filters import select
from shashin.search.filters.declared import BY_ARGUMENT, FILTERS, QUALIFIERS, FilterValueError
from shashin.store import PhotoFacts, PhotoSet, Store
from shashin.text.dates import DateError, When, normalize, parse_when


class FilterError(UsageError, ValueError):
    """A filter the user gave cannot be understood (an unknown place, an unreadable date)."""


@dataclass(frozen=True)
class Near:
    """Photos taken within `radius_km` of a town, or anywhere in a country; photos without GPS
    pass when their file, folder, caption or OCR text names the place."""

    place: Place
    radius_km: float = 0.0
    said: str = ""  # the name as the user wrote it ("New York" for New York City): texts naming it so count

    @classmethod
    def of(cls, place: Place, radius_km: float | None = None, said: str = "") -> Near:
        return cls(place, 0.0 if place.is_country else (radius_km or place.default_radius_km()), said)

    def describe(self) -> str:
        return (
            f"in {self.place.label}"
            if self.place.is_country
            else f"within {self.radius_km:.0f} km of {self.place.label}"
        )


@dataclass(frozen=True)
class Filters:
    """Everything a search is restricted to; empty fields restrict nothing. `when` (from --from and
    --to) and `near` (--near with --radius, or places a query introduced) are built from several
    values; every other declared filter (declared.FILTERS) keeps its value in `chosen`."""

    when: When | None = None
    near: tuple[Near, ...] = ()
    chosen: tuple[tuple[str, Any], ...] = ()  # (argument, value) of the filters given, in declaration order

    @classmethod
    def of(cls, when: When | None = None, near: tuple[Near, ...] = (), **values: Any) -> Filters:
        """Filters from build_filters' argument names (cameras=("ricoh",), rating=4), already clean."""
        unknown = set(values) - {f.argument for f in _KEPT}
        if unknown:
            raise TypeError(f"no such filter: {', '.join(sorted(unknown))}")
        chosen = tuple((f.argument, values[f.argument]) for f in _KEPT if values.get(f.argument) not in (None, (), []))
        return cls(when, tuple(near), chosen)

    def value(self, argument: str) -> Any:
        """The value given for one declared filter, or its empty value (None, or () when it repeats)."""
        return dict(self.chosen).get(argument, BY_ARGUMENT[argument].empty)

    @property
    def people(self) -> tuple[str, ...]:
        """The people every photo must show (search also explains each photo by them)."""
        return tuple(self.value("people"))

    @property
    def active(self) -> bool:
        """Whether these filters restrict anything (how several people combine does not, alone)."""
        return bool(self.when or self.near or any(argument not in QUALIFIERS for argument, _ in self.chosen))

    def merged(self, other: Filters) -> Filters:
        """Both sets of restrictions (dates intersect; lists join; the larger rating wins)."""
        when = self.when.intersect(other.when) if self.when and other.when else self.when or other.when
        given = dict(self.chosen).keys() | dict(other.chosen).keys()
        values = {
            f.argument: f.merged(self.value(f.argument), other.value(f.argument)) for f in _KEPT if f.argument in given
        }
        return Filters.of(when, self.near + other.near, **values)

    def describe(self) -> list[str]:
        """The filters in words, for explanations."""
        parts = [f"taken {self.when.describe()}"] if self.when else []
        parts += [near.describe() for near in self.near]
        for argument, value in self.chosen:
            parts += BY_ARGUMENT[argument].words(value)
        return parts

    def to_dict(self) -> dict[str, Any]:
        chosen = {f.argument: _plain(self.value(f.argument)) for f in _KEPT}
        return {
            "taken_from": self.when.start.isoformat() if self.when and self.when.start else None,
            "taken_before": self.when.end.isoformat() if self.when and self.when.end else None,
            "months": sorted(self.when.months) if self.when else [],
            **chosen,
            "described": self.describe(),
            "near": [
                {
                    "place": n.place.label,
                    "country": n.place.country,
                    "radius_km": round(n.radius_km, 1),
                    "latitude": n.place.latitude,
                    "longitude": n.place.longitude,
                }
                for n in self.near
            ],
        }

    def photo_set(self, store: Store) -> PhotoSet:
        """The photos of the library that pass every filter."""
        facts = store.photo_facts()
        mask = np.ones(len(facts.ids), bool)
        if self.when:
            mask &= select.taken(store, facts, self.when)
        if self.near:
            mask &= select.near(store, facts, self.near)
        given = dict(self.chosen)
        for argument, value in self.chosen:
            declared = BY_ARGUMENT[argument]
            if declared.select is not None:  # the others are read by the filter they qualify
                mask &= declared.picks(store, facts, value, given)
        return PhotoSet(facts.ids, mask)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# Every filter Filters keeps by value: all but the dates (when) and places (near) built from several.
_KEPT = tuple(f for f in FILTERS if f.argument not in ("taken_from", "taken_to", "near", "radius_km"))


def find_place(name: str) -> Place:
    """The place a user names (most populous first), or FilterError saying it is unknown."""
    found = gazetteer().lookup(name)
    if not found:
        raise FilterError(
            f"unknown place {name!r}: give a town or country name (English or Japanese), e.g. Kyoto, 京都, Japan"
        )
    return found[0]


@dataclass(frozen=True)
class PlaceOfPhoto:
    """Where a photo was taken, in words: its nearest town and how far from it."""

    town: Place
    distance_km: float

    def describe(self) -> str:
        return f"{self.town.label} ({self.distance_km:.1f} km)" if self.distance_km >= 1 else self.town.label


def places_of(photos: dict[str, dict[str, Any]]) -> dict[str, PlaceOfPhoto]:
    """The nearest town of each photo row that has GPS coordinates (loads the gazetteer only then)."""
    return {pid: PlaceOfPhoto(town, distance) for pid, (town, distance) in nearest_towns(photos).items()}


def places_in(facts: PhotoFacts, photo_ids: Sequence[str]) -> dict[str, PlaceOfPhoto]:
    """The nearest town of each of these photos that has GPS, as worked out when it was indexed."""
    at, there = facts.positions(photo_ids)
    if not there.any():
        return {}
    towns, distances = facts.town[at], facts.town_km[at]
    return {
        pid: PlaceOfPhoto(gazetteer().town(town), km)
        for pid, ok, town, km in zip(photo_ids, there.tolist(), towns.tolist(), distances.tolist(), strict=True)
        if ok and town >= 0
    }


_COORDINATES = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


def build_filters(**given: Any) -> Filters:
    """Filters from what a user typed, by build_filters' argument names (declared.FILTERS): dates
    as in queries ("2023", "2023-07", "July 2023", 「2025年9月」; taken_to includes the whole period
    it names), place names or "lat,lon" (any of them) with radius_km, and every other declared
    filter's value."""
    unknown = set(given) - set(BY_ARGUMENT)
    if unknown:
        raise FilterError(f"no such filter: {', '.join(sorted(unknown))} (filters: {', '.join(BY_ARGUMENT)})")
    values: dict[str, Any] = {}
    for argument, value in given.items():
        declared = BY_ARGUMENT[argument]
        try:
            values[argument] = declared.clean(value)
        except FilterValueError as exc:
            raise FilterError(f"--{declared.param.replace('_', '-')} must be {exc}, not {exc.given!r}") from None
    taken_from, taken_to = values.pop("taken_from", None), values.pop("taken_to", None)
    when = None
    if taken_from:
        start = _period(taken_from, "--from")
        when = When(start=start.start) if start.start else When(months=start.months)
    if taken_to:
        end = _period(taken_to, "--to")
        when = (when or When()).intersect(When(end=end.end) if end.end else When(months=end.months))
        if when.empty:
            raise FilterError(f"--from {taken_from} is after --to {taken_to}: no photo can be taken in between")
    near, radius_km = values.pop("near", ()), values.pop("radius_km", None)
    places = tuple(_near(one, radius_km) for one in near)
    return Filters.of(when, places, **values)


def _near(near: str, radius_km: float | None) -> Near:
    """A place a user named ("Kyoto", 京都, "35.01,135.77"), with the radius given or the town's own."""
    match = _COORDINATES.match(near)
    if match:
        latitude, longitude = float(match.group(1)), float(match.group(2))
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise FilterError(f"{near!r}: latitude must be within ±90 and longitude within ±180")
        return Near(Place(near.strip(), "", latitude, longitude), radius_km or 5.0)
    return Near.of(find_place(near), radius_km, said=near.strip())


def _period(text: str, option: str) -> When:
    try:
        when = parse_when(normalize(text))
    except DateError as exc:
        raise FilterError(f"{option} {exc}") from None
    if when is None:
        raise FilterError(
            f"{option} {text!r}: not a date; use e.g. 2023, 2023-07, 2023-07-14, 'July 2023' or 2025年9月"
        )
    return when
