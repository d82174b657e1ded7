"""Filters: which photos a search may return, by date, folder, camera, text in the photo, place,
and what people keep in other apps (keywords, rating, colour label, named people).

A filter becomes a PhotoSet that every channel ranks within (so a selective filter still gets a
full page), and explains itself per photo ("3.2 km from Kyoto", "taken 2023-07-14").
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow.compute as pc

from shashin.channels.ocr import OcrChannel
from shashin.errors import UsageError
from shashin.metadata.kept import facet, fold
from shashin.metadata.sync import CHANNEL as METADATA
from shashin.people.faces import photos_of
from shashin.places import Place, distance_km, gazetteer, nearest_towns, normalize_name
from shashin.store import PhotoFacts, PhotoSet, Store
from shashin.text.dates import DateError, When, normalize, parse_when
from shashin.text.tokenize import terms


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
    """Everything a search is restricted to; empty fields restrict nothing. Several folders,
    cameras or places: any of them."""

    when: When | None = None
    folders: tuple[str, ...] = ()
    cameras: tuple[str, ...] = ()
    has_text: bool | None = None
    near: tuple[Near, ...] = ()
    keywords: tuple[str, ...] = ()  # every one (a hierarchical one also by its leading levels: "Places|Japan")
    min_rating: int | None = None  # at least this many stars
    labels: tuple[str, ...] = ()  # any of these colour labels
    people: tuple[str, ...] = ()  # every one of these people is named in the photo

    @property
    def active(self) -> bool:
        return bool(
            self.when or self.folders or self.cameras or self.has_text is not None or self.near or self.kept_active
        )

    @property
    def kept_active(self) -> bool:
        """It filters by kept metadata (keywords, rating, label, people)."""
        return bool(self.keywords or self.min_rating or self.labels or self.people)

    def merged(self, other: Filters) -> Filters:
        """Both sets of restrictions (dates intersect; lists join)."""
        when = self.when.intersect(other.when) if self.when and other.when else self.when or other.when
        return Filters(
            when,
            self.folders + other.folders,
            self.cameras + other.cameras,
            self.has_text if other.has_text is None else other.has_text,
            self.near + other.near,
            self.keywords + other.keywords,
            max(self.min_rating or 0, other.min_rating or 0) or None,
            self.labels + other.labels,
            self.people + other.people,
        )

    def describe(self) -> list[str]:
        """The filters in words, for explanations."""
        parts = []
        if self.when:
            parts.append(f"taken {self.when.describe()}")
        parts += [f"in folder {folder}" for folder in self.folders]
        parts += [f"camera {camera}" for camera in self.cameras]
        if self.has_text is not None:
            parts.append("with text in the photo" if self.has_text else "without text in the photo")
        parts += [near.describe() for near in self.near]
        parts += [f"keyword {keyword}" for keyword in self.keywords]
        if self.min_rating:
            parts.append(f"rated {'★' * self.min_rating} or more")
        if self.labels:
            parts.append("label " + " or ".join(self.labels))
        parts += [f"with {person}" for person in self.people]
        return parts

    def to_dict(self) -> dict[str, Any]:
        return {
            "taken_from": self.when.start.isoformat() if self.when and self.when.start else None,
            "taken_before": self.when.end.isoformat() if self.when and self.when.end else None,
            "months": sorted(self.when.months) if self.when else [],
            "folders": list(self.folders),
            "cameras": list(self.cameras),
            "has_text": self.has_text,
            "keywords": list(self.keywords),
            "min_rating": self.min_rating,
            "labels": list(self.labels),
            "people": list(self.people),
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
            mask &= _taken(facts, self.when)
        if self.folders:
            mask &= _in_folders(facts, self.folders)
        if self.cameras:
            wanted = [c.casefold() for c in self.cameras]
            named = [n for n, camera in enumerate(facts.camera_names) if any(c in camera for c in wanted)]
            mask &= np.isin(facts.camera, named)
        if self.has_text is not None:
            mask &= facts.has_text == self.has_text
        if self.near:
            mask &= _near(store, facts, self.near)
        if self.kept_active:
            mask &= _kept(store, facts, self)
        return PhotoSet(facts.ids, mask)


def _taken(facts: PhotoFacts, when: When) -> np.ndarray:
    known = ~np.isnat(facts.taken_at)
    mask = known.copy()
    if when.start:
        mask &= facts.taken_at >= np.datetime64(when.start, "s")
    if when.end:
        mask &= facts.taken_at < np.datetime64(when.end, "s")
    if when.months:
        months = facts.taken_at.astype("datetime64[M]").astype(np.int64) % 12 + 1
        mask &= np.isin(months, sorted(when.months))
    return mask & known


def _in_folders(facts: PhotoFacts, folders: tuple[str, ...]) -> np.ndarray:
    prefixes = tuple(os.path.join(os.path.abspath(os.path.expanduser(f)), "") for f in folders)
    inside = np.zeros(len(facts.file_paths), bool)
    for prefix in prefixes:
        inside |= pc.starts_with(facts.file_paths, prefix).to_numpy(zero_copy_only=False)
    mask = np.zeros(len(facts.ids), bool)
    mask[facts.file_photos[inside]] = True
    return mask


def _near(store: Store, facts: PhotoFacts, places: tuple[Near, ...]) -> np.ndarray:
    located = ~np.isnan(facts.latitude) & ~np.isnan(facts.longitude)
    mask = np.zeros(len(facts.ids), bool)
    for near in places:
        if near.place.is_country:
            if located.any():
                towns, _ = gazetteer().nearest(facts.latitude[located], facts.longitude[located])
                inside = np.zeros(len(facts.ids), bool)
                inside[located] = gazetteer().town_countries(towns) == near.place.country
                mask |= inside
        else:
            with np.errstate(invalid="ignore"):
                mask |= located & (distance_km(facts.latitude, facts.longitude, near.place) <= near.radius_km)
        if near.place.country:  # a named place; "lat,lon" has no name to find in texts
            mask |= ~located & _named(store, facts, near.place, near.said)
    return mask


def _kept(store: Store, facts: PhotoFacts, filters: Filters) -> np.ndarray:
    """Photos whose kept metadata has every keyword, the rating, one of the labels and every person."""
    every = len(facts.ids) or 1

    def having(tokens: list[str]) -> np.ndarray:
        hits = store.search_channel(METADATA, "facets", tokens, limit=every, require_all=True)
        return PhotoSet.of(facts.ids, {hit[0] for hit in hits}).mask if hits else np.zeros(len(facts.ids), bool)

    required = [facet("k", keyword) for keyword in filters.keywords]
    if filters.min_rating:
        required.append(f"r{filters.min_rating}")
    mask = having(required) if required else np.ones(len(facts.ids), bool)
    if filters.people:
        faces = photos_of(store, filters.people)  # faces grouped and named in shashin
        for person in filters.people:
            named = having([facet("p", word) for word in fold(person).split()])  # regions, Takeout
            mask &= named | PhotoSet.of(facts.ids, faces.get(fold(person), set())).mask
    if filters.labels:
        labelled = np.zeros(len(facts.ids), bool)
        for label in filters.labels:
            labelled |= having([facet("l", label)])
        mask &= labelled
    return mask


def _named(store: Store, facts: PhotoFacts, place: Place, said: str = "") -> np.ndarray:
    """Photos whose file or folder name, caption or OCR text names the place: by its own names, or
    as the user wrote it ("New York" finds a caption saying New York, not New York City)."""
    named: set[str] = set()
    names = {place.name, place.local_name} - {""}
    if said and normalize_name(said) not in {normalize_name(name) for name in names}:
        names.add(said)  # another name ("New York"), not the same one without its accents ("Sale" for Salé)
    for name in names:
        words = terms(name)
        if not words:
            continue
        every = len(facts.ids) or 1
        named.update(hit[1] for hit in store.search_files(words, limit=every, require_all=True))
        named.update(hit[1] for hit in store.search_captions(words, limit=every, require_all=True))
        for channel, column in ((OcrChannel.name, "terms"), (METADATA, "place_terms")):  # IPTC City, Country
            named.update(hit[0] for hit in store.search_channel(channel, column, words, limit=every, require_all=True))
    return PhotoSet.of(facts.ids, named).mask if named else np.zeros(len(facts.ids), bool)


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
    """The nearest town of each photo that has GPS coordinates (loads the gazetteer only then)."""
    return {pid: PlaceOfPhoto(town, distance) for pid, (town, distance) in nearest_towns(photos).items()}


_COORDINATES = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


def build_filters(
    *,
    taken_from: str | None = None,
    taken_to: str | None = None,
    folders: Sequence[str] = (),
    cameras: Sequence[str] = (),
    has_text: bool | None = None,
    near: str | None = None,
    radius_km: float | None = None,
    keywords: Sequence[str] = (),
    rating: int | None = None,
    labels: Sequence[str] = (),
    people: Sequence[str] = (),
) -> Filters:
    """Filters from what a user typed: dates as in queries ("2023", "2023-07", "July 2023",
    「2025年9月」; --to includes the whole period it names), a place name or "lat,lon", keywords
    ("Places|Japan" for a hierarchical one), at least `rating` stars, colour labels, people."""
    if rating is not None and not 1 <= rating <= 5:
        raise FilterError(f"--rating {rating}: give 1 to 5 (stars, at least)")

    def tidy(values: Sequence[str]) -> tuple[str, ...]:
        return tuple(value.strip() for value in values if value.strip())

    when = None
    if taken_from:
        start = _period(taken_from, "--from")
        when = When(start=start.start) if start.start else When(months=start.months)
    if taken_to:
        end = _period(taken_to, "--to")
        when = (when or When()).intersect(When(end=end.end) if end.end else When(months=end.months))
        if when.empty:
            raise FilterError(f"--from {taken_from} is after --to {taken_to}: no photo can be taken in between")
    if radius_km is not None and not (math.isfinite(radius_km) and radius_km > 0):
        raise FilterError("--radius must be a positive number of kilometres")
    places: tuple[Near, ...] = ()
    if near:
        match = _COORDINATES.match(near)
        if match:
            latitude, longitude = float(match.group(1)), float(match.group(2))
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                raise FilterError(f"{near!r}: latitude must be within ±90 and longitude within ±180")
            place = Place(near.strip(), "", latitude, longitude)
            places = (Near(place, radius_km or 5.0),)
        else:
            places = (Near.of(find_place(near), radius_km, said=near.strip()),)
    return Filters(
        when, tuple(folders), tuple(cameras), has_text, places, tidy(keywords), rating, tidy(labels), tidy(people)
    )


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
