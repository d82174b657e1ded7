"""Place channel: photos taken in a place the query names ("Tokyo tower", 「大阪城」), by GPS.

It ranks the photos within a town's radius by their distance to it (nearest first) and has no
opinion about the others, so a photo without GPS is never pushed down; a country ranks the
photos whose nearest town is in it. Filters ("in Tokyo") exclude; this channel only ranks.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from shashin.channels.base import Channel, ChannelEvidence, ChannelQuery, Highlight, Hit, ResultPage
from shashin.places import Place, distance_km, gazetteer
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
            best = np.maximum(best, _closeness(place, facts.latitude, facts.longitude, located))
        rows = np.flatnonzero(best > -np.inf)
        order = rows[np.argsort(-best[rows], kind="stable")][:limit]
        return [Hit(facts.ids[i].decode(), float(best[i])) for i in order]

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        found: dict[str, list[Highlight]] = {}
        for photo_id in page.photo_ids:
            row = page.photos.get(photo_id) or {}
            if row.get("latitude") is None or row.get("longitude") is None or not query.places:
                continue
            lat, lon = np.array([row["latitude"]]), np.array([row["longitude"]])
            for place in query.places:
                if _closeness(place, lat, lon, np.array([True]))[0] > -np.inf:
                    where = (
                        place.label
                        if place.is_country
                        else f"{distance_km(lat, lon, place)[0]:.1f} km from {place.label}"
                    )
                    found[photo_id] = [Highlight(self.name, "taken", where, ())]
                    break
        return found


def _closeness(place: Place, latitude: np.ndarray, longitude: np.ndarray, located: np.ndarray) -> np.ndarray:
    """1 at the place's centre falling to 0 at its radius (-inf outside); a country: 1 inside."""
    result = np.full(len(latitude), -np.inf)
    if not located.any():
        return result
    if place.is_country:
        towns, _ = gazetteer().nearest(latitude[located], longitude[located])
        inside = gazetteer().town_countries(towns) == place.country
        values = result[located]
        values[inside] = 1.0
        result[located] = values
        return result
    radius = place.default_radius_km()
    distance = distance_km(latitude[located], longitude[located], place)
    values = np.where(distance <= radius, 1.0 - distance / radius, -np.inf)
    result[located] = values
    return result
