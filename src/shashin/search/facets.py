"""Facets of a result set: how many of the photos found were taken each year, in each town, with
each camera, have text in them, carry each keyword or show each person — each with the filter
that narrows the search to it (what a click on it adds).

Years, towns, cameras and text come from the in-memory photo facts (every photo found is
counted); keywords, your tags and people read rows, so they count the best FACET_ROWS photos."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shashin.alttext import label_parts
from shashin.places import gazetteer
from shashin.store import Store

FACET_ROWS = 5_000  # photos whose keywords and people are read for their facets
NEAR_KM = 10.0  # a town facet's radius


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet: what it is, how many photos found have it, and the filter for it
    (as the REST API's query parameters: {"from": "2023", "to": "2023"}, {"person": "Ken"})."""

    value: str
    count: int
    filter: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "count": self.count, "filter": self.filter}


FACETS = ("year", "place", "camera", "text", "keyword", "tag", "person")


def facets(store: Store, photo_ids: Sequence[str], *, top: int = 8) -> dict[str, list[FacetValue]]:
    """The facets of these photos (best first: the search's order), `top` values each."""
    found: dict[str, list[FacetValue]] = {}
    if not photo_ids:
        return found
    facts = store.photo_facts()
    positions, there = facts.positions(photo_ids)
    positions = positions[there]  # photos removed since: not counted
    found["year"] = _years(facts.taken_at[positions], top)
    found["place"] = _towns(facts.town[positions], top)
    cameras = Counter(facts.camera_names[c] for c in facts.camera[positions].tolist() if facts.camera_names[c])
    found["camera"] = [FacetValue(name, n, {"camera": name}) for name, n in cameras.most_common(top)]
    with_text = int(facts.has_text[positions].sum())
    found["text"] = [FacetValue("text in the photo", with_text, {"has_text": "true"})] if with_text else []
    best = list(photo_ids[:FACET_ROWS])
    keywords, tags, named = _kept(store, best)
    found["keyword"] = [FacetValue(k, n, {"keyword": k}) for k, n in keywords.most_common(top)]
    found["tag"] = [FacetValue(k, n, {"keyword": k}) for k, n in tags.most_common(top)]
    found["shows"] = [FacetValue(kind, n, {"shows": kind}) for kind, n in _shown(store, best).most_common(top)]
    people = Counter(name for _, name in named | _faces(store, best))
    found["person"] = [FacetValue(name, n, {"person": name}) for name, n in people.most_common(top)]
    return {kind: values for kind, values in found.items() if values}


def _years(taken: np.ndarray, top: int) -> list[FacetValue]:
    known = taken[~np.isnat(taken)]
    years = Counter(known.astype("datetime64[Y]").astype(int).tolist())
    ordered = sorted(years.items(), key=lambda item: -item[1])[:top]
    return [FacetValue(str(1970 + y), n, {"from": str(1970 + y), "to": str(1970 + y)}) for y, n in ordered]


def _towns(towns: np.ndarray, top: int) -> list[FacetValue]:
    values = []
    for town, n in Counter(towns[towns >= 0].tolist()).most_common(top):
        place = gazetteer().town(int(town))
        near = f"{place.latitude:.4f},{place.longitude:.4f}"
        values.append(FacetValue(place.label, n, {"near": near, "radius": f"{NEAR_KM:g}"}))
    return values


def _shown(store: Store, photo_ids: list[str]) -> Counter[str]:
    """What the photos show, by the labels channel: each photo counted once per kind its labels
    name first ("Leonberger (dog, animal)" → dog), or per label without a kind."""
    from shashin.channels.labels import LabelsChannel

    shown: Counter[str] = Counter()
    for row in store.channel_rows(LabelsChannel.name, photo_ids, ["tags"], from_memory=True).values():
        kinds = set()
        for label in row.get("tags") or []:
            name, of = label_parts(str(label["en"]))
            kinds.add(of[0] if of else name)
        shown.update(kinds)
    return shown


def _kept(store: Store, photo_ids: list[str]) -> tuple[Counter[str], Counter[str], set[tuple[str, str]]]:
    """Keywords photo apps kept, a person's own tags, and the names in the photos' metadata
    (face regions, Takeout's people) as (photo, name)."""
    import json

    from shashin.metadata.kept import Kept
    from shashin.metadata.sync import CHANNEL as KEPT

    keywords: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    named: set[tuple[str, str]] = set()
    for photo_id, row in store.channel_rows(KEPT, photo_ids, ["fields", "added"]).items():
        if not row:
            continue
        fields = json.loads(row.get("fields") or "{}")
        # Each photo counts once per keyword: a set, never a dict (Counter.update adds a dict's values).
        keywords.update({str(k) for k in fields.get("keywords") or []})
        tags.update({str(t) for t in row.get("added") or []})
        named |= {(photo_id, name) for name in Kept.from_dict(fields).names()}
    return keywords, tags, named


def _faces(store: Store, photo_ids: list[str]) -> set[tuple[str, str]]:
    """(photo, name) of the named people with a face in these photos."""
    from shashin.people.lookup import names_in

    return {(photo_id, name) for photo_id, names in names_in(store, photo_ids).items() for name in names}
