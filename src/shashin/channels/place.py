"""Place channel: photos taken in a place the query names ("Tokyo tower", 「大阪城」), by GPS.

It ranks the photos within a town's radius by their distance to it (nearest first) and has no
opinion about the others, so a photo without GPS is never pushed down; a country ranks the
photos whose nearest town is in it. Filters ("in Tokyo") exclude; this channel only ranks.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from shashin.channels.base import Channel, ChannelEvidence, ChannelQuery, Highlight, Hit, ResultPage
from shashin.places import Place, distance_km, in_country
from shashin.store import Store


class PlaceChannel(Channel):
    """Where the photo was taken, for places named in the query."""

    name: ClassVar[str] = "place"
    description: ClassVar[str] = "where the photo was taken (GPS), for places the query names"
    fusion_weight: ClassVar[float | None] = 0.2  # supporting evidence, as a keyword is

    def evidence(self) -> ChannelEvidence:
        return ChannelEvidence("support")  # near the place named says nothing of what the photo shows

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        if not query.places:
            return []
        facts = store.photo_facts()
        located = ~np.isnan(facts.latitude) & ~np.isnan(facts.longitude)
        if query.within is not None:
            located &= query.within.mask
        if not located.any():
            return []
        best = np.full(len(facts.ids), -np.inf)
        for place in query.places:
            best = np.maximum(best, _closeness(place, facts.latitude, facts.longitude, facts.town, located))
        rows = np.flatnonzero(best > -np.inf)
        order = rows[np.argsort(-best[rows], kind="stable")][:limit]
        return [Hit(facts.ids[i].decode(), float(best[i])) for i in order]

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        found: dict[str, list[Highlight]] = {}
        if not query.places or not page.photo_ids:
            return found
        facts = store.photo_facts()
        at, there = facts.positions(page.photo_ids)
        if not there.any():
            return found
        latitude, longitude, towns = facts.latitude[at], facts.longitude[at], facts.town[at]
        located = there & ~np.isnan(latitude) & ~np.isnan(longitude)
        for place in query.places:
            inside = _closeness(place, latitude, longitude, towns, located) > -np.inf
            distances = distance_km(latitude, longitude, place) if not place.is_country else None
            for i in np.flatnonzero(inside).tolist():
                where = place.label if distances is None else f"{distances[i]:.1f} km from {place.label}"
                found.setdefault(page.photo_ids[i], [Highlight(self.name, "taken", where, ())])
        return found


def _closeness(
    place: Place, latitude: np.ndarray, longitude: np.ndarray, towns: np.ndarray, located: np.ndarray
) -> np.ndarray:
    """1 at the place's centre falling to 0 at its radius (-inf outside); a country: 1 inside
    (`towns`: each photo's nearest town, see PhotoFacts)."""
    result = np.full(len(latitude), -np.inf)
    if not located.any():
        return result
    if place.is_country:
        result[located & in_country(towns, place.country)] = 1.0
        return result
    radius = place.default_radius_km()
    distance = distance_km(latitude[located], longitude[located], place)
    result[located] = np.where(distance <= radius, 1.0 - distance / radius, -np.inf)
    return result
