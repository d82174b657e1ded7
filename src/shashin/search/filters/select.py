"""How each filter picks photos: a mask over the library's photos (PhotoFacts.ids), from the facts
kept in memory or from a channel's index. `declared.py` names which function serves which filter."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.compute as pc

from shashin.channels.labels import LabelsChannel
from shashin.channels.ocr import OcrChannel
from shashin.metadata.kept import Kept, facet, fold
from shashin.metadata.sync import CHANNEL as METADATA
from shashin.people.lookup import photos_of
from shashin.people.table import FORGOTTEN, face_columns
from shashin.places import Place, distance_km, in_country, normalize_name
from shashin.store import PhotoFacts, PhotoSet, Store
from shashin.store.contract import ChannelStore
from shashin.text.query import parse_keywords
from shashin.text.tokenize import terms

if TYPE_CHECKING:
    from shashin.search.filters.model import Near
    from shashin.text.dates import When


def taken(store: Store, facts: PhotoFacts, when: When) -> np.ndarray:
    """Photos taken within the dates (and months) asked for; a photo without a date never is."""
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


def in_folders(store: Store, facts: PhotoFacts, folders: tuple[str, ...]) -> np.ndarray:
    """Photos with a file under any of the folders."""
    prefixes = tuple(os.path.join(os.path.abspath(os.path.expanduser(f)), "") for f in folders)
    inside = np.zeros(len(facts.file_paths), bool)
    for prefix in prefixes:
        inside |= pc.starts_with(facts.file_paths, prefix).to_numpy(zero_copy_only=False)
    mask = np.zeros(len(facts.ids), bool)
    mask[facts.file_photos[inside]] = True
    return mask


def by_camera(store: Store, facts: PhotoFacts, cameras: tuple[str, ...]) -> np.ndarray:
    """Photos whose camera make, model or lens contains any of the words given."""
    wanted = [c.casefold() for c in cameras]
    named = [n for n, camera in enumerate(facts.camera_names) if any(c in camera for c in wanted)]
    return np.isin(facts.camera, named)


def with_text(store: Store, facts: PhotoFacts, has_text: bool) -> np.ndarray:
    """Photos in which OCR found text (or, False, found none)."""
    return facts.has_text == has_text


def shaped(store: Store, facts: PhotoFacts, orientations: tuple[str, ...]) -> np.ndarray:
    """Photos of any of the orientations as shown; sides within 2% of each other are square."""
    wide, tall = facts.width.astype(np.int64), facts.height.astype(np.int64)
    known = (wide > 0) & (tall > 0)
    square = known & (np.abs(wide - tall) * 50 <= np.maximum(wide, tall))
    shapes = {"landscape": known & ~square & (wide > tall), "portrait": known & ~square & (tall > wide)}
    shapes["square"] = square
    mask = np.zeros(len(facts.ids), bool)
    for orientation in orientations:
        mask |= shapes[orientation]
    return mask


def near(store: Store, facts: PhotoFacts, places: tuple[Near, ...]) -> np.ndarray:
    """Photos taken within any place's radius (or country); photos without GPS when their texts name it."""
    located = ~np.isnan(facts.latitude) & ~np.isnan(facts.longitude)
    mask = np.zeros(len(facts.ids), bool)
    for one in places:
        if one.place.is_country:
            mask |= in_country(facts.town, one.place.country)
        else:
            with np.errstate(invalid="ignore"):
                mask |= located & (distance_km(facts.latitude, facts.longitude, one.place) <= one.radius_km)
        if one.place.country:  # a named place; "lat,lon" has no name to find in texts
            mask |= ~located & _named(store, facts, one.place, one.said)
    return mask


def _having(
    store: ChannelStore, facts: PhotoFacts, tokens: list[str], channel: str = METADATA, column: str = "facets"
) -> np.ndarray:
    """Photos whose channel text (by default the kept metadata's facets) has every token."""
    hits = store.search_channel(channel, column, tokens, limit=len(facts.ids) or 1, require_all=True)
    return PhotoSet.of(facts.ids, {hit[0] for hit in hits}).mask if hits else np.zeros(len(facts.ids), bool)


def with_keywords(store: ChannelStore, facts: PhotoFacts, keywords: tuple[str, ...]) -> np.ndarray:
    """Photos with every keyword (a hierarchical one also by its leading levels: "Places|Japan")."""
    return _having(store, facts, [facet("k", keyword) for keyword in keywords])


def showing(store: ChannelStore, facts: PhotoFacts, things: tuple[str, ...]) -> np.ndarray:
    """Photos whose labels (the labels channel: a label's name or what it is a kind of, in English
    or Japanese) hold every one of `things`."""
    each = [parse_keywords(thing).terms for thing in things]
    if not each:
        return np.ones(len(facts.ids), bool)
    if not all(each):  # a thing with no word to look for is shown by no photo
        return np.zeros(len(facts.ids), bool)
    return _having(store, facts, [word for words in each for word in words], LabelsChannel.name, "tag_terms")


def rated(store: ChannelStore, facts: PhotoFacts, stars: int) -> np.ndarray:
    """Photos rated at least `stars`."""
    return _having(store, facts, [f"r{stars}"])


def labelled(store: ChannelStore, facts: PhotoFacts, labels: tuple[str, ...]) -> np.ndarray:
    """Photos with any of the colour labels."""
    mask = np.zeros(len(facts.ids), bool)
    for label in labels:
        mask |= _having(store, facts, [facet("l", label)])
    return mask


def with_people(
    store: Store, facts: PhotoFacts, people: tuple[str, ...], any_people: bool = False, only_people: bool = False
) -> np.ndarray:
    """Photos naming every person (`any_people`: any of them), by faces grouped and named in
    shashin or regions and Takeout's people; `only_people`: and nobody else named."""
    faces = photos_of(store, people)
    mask = np.zeros(len(facts.ids), bool) if any_people else np.ones(len(facts.ids), bool)
    for person in people:
        named = _having(store, facts, [facet("p", word) for word in fold(person).split()])
        named |= PhotoSet.of(facts.ids, faces.get(fold(person), set())).mask
        mask = mask | named if any_people else mask & named
    if only_people and mask.any():
        mask &= ~PhotoSet.of(facts.ids, _someone_else(store, PhotoSet(facts.ids, mask).ids(), people)).mask
    return mask


def _someone_else(store: Store, photo_ids: list[str], people: tuple[str, ...]) -> set[str]:
    """The photos that name a person who is none of `people`: a face of another named person, or
    another name a photo app kept. A name is one of them when it holds every word asked ("Ken"
    is Ken Tanaka)."""
    asked = [set(fold(person).split()) for person in people]

    def theirs(name: str) -> bool:
        return any(words <= set(fold(name).split()) for words in asked)

    names = {row["person_id"]: row["name"] for row in store.all_rows("people") if row["name"]}
    wanted = set(photo_ids)
    others = {
        row["photo_id"]
        for row in face_columns(store, ["photo_id", "person_id", "source"])
        if row["photo_id"] in wanted and row["source"] != FORGOTTEN and row["person_id"] in names
        and not theirs(names[row["person_id"]])
    }  # fmt: skip
    for photo_id, row in store.channel_rows(METADATA, photo_ids, ["fields"]).items():
        kept = Kept.from_dict(json.loads(row.get("fields") or "{}"))
        if any(not theirs(name) for name in kept.names()):
            others.add(photo_id)
    return others


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
