"""A toy channel, the one new file a contributor writes: the main colour of each photo, found by
its name. tests/channels/test_registry.py registers it with one line and nothing else changes."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from shashin.channels.base import Channel, ChannelQuery, Highlight, Hit, IndexedChannel, ResultPage
from shashin.media import DecodedPhoto, MaxSide
from shashin.store import Store

COLOURS = {"red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 220), "white": (240, 240, 240)}


class ColourChannel(IndexedChannel, Channel):
    """The colour nearest to the photo's mean pixel, as a word."""

    name: ClassVar[str] = "colour"
    description: ClassVar[str] = "main colour"
    matches_words: ClassVar[bool] = True
    fts_columns: ClassVar[tuple[str, ...]] = ("terms",)

    def version(self) -> str:
        return "colour 1"

    def load(self) -> None:
        pass

    def rendition(self) -> MaxSide:
        return MaxSide(32)

    def payload_fields(self) -> list[pa.Field]:
        return [pa.field("colour", pa.string()), pa.field("terms", pa.string())]

    def process(self, photo: DecodedPhoto, rendition: np.ndarray) -> dict[str, Any]:
        mean = rendition.reshape(-1, 3).mean(axis=0)
        colour = min(COLOURS, key=lambda name: float(np.linalg.norm(mean - COLOURS[name])))
        return {"colour": colour, "terms": colour}

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        found = store.search_channel(self.name, "terms", query.keywords.terms, limit=limit, within=query.within)
        return [Hit(photo_id, score, exact=True) for photo_id, score, _ in found]

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        rows = store.channel_rows(self.name, page.photo_ids, ["colour"], from_memory=True)
        return {
            photo_id: [Highlight(self.name, "colour", row["colour"], ((0, len(row["colour"])),))]
            for photo_id, row in rows.items()
            if row.get("colour") in query.keywords.terms
        }
