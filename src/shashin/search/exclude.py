"""What "not" means, channel by channel ("cat -dog"): which of a search's candidates a term removes.

- A keyword channel (text in the photo, captions, file names, kept keywords, tags) removes the
  photos in which it finds the term itself: every word of it, or the quoted phrase.
- A meaning channel (image vectors, caption vectors) has no words to find, only nearness: it
  removes a photo whose likeness to the excluded concept is greater than its likeness to what was
  asked — the photo is more "dog" than "cat" — and keeps a cat photo with a dog in a corner.
Only the candidates of the positive query are looked at, so every one of them is judged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from shashin.channels.base import Channel, ChannelQuery, Hit, ModelUnavailable
from shashin.store import Store
from shashin.store.memory import PhotoSet, positions


@dataclass(frozen=True)
class Removal:
    """The photos one excluded term removed, and which channel removed each."""

    term: str
    by: dict[str, str] = field(default_factory=dict)  # photo id -> the channel that found the term

    def counts(self) -> dict[str, int]:
        """Photos removed per channel."""
        counted: dict[str, int] = {}
        for channel in self.by.values():
            counted[channel] = counted.get(channel, 0) + 1
        return counted

    def describe(self) -> str:
        parts = ", ".join(f"{channel} {n}" for channel, n in sorted(self.counts().items()))
        return f"not {self.term}: {len(self.by)} photos removed" + (f" ({parts})" if parts else "")

    def to_dict(self) -> dict[str, object]:
        return {"term": self.term, "removed": len(self.by), "by_channel": self.counts()}


def removals(
    store: Store,
    channels: Sequence[Channel],
    excluded: Sequence[str],
    candidates: set[str],
    positive: dict[str, list[Hit]],
    margin: float = 0.0,
) -> list[Removal]:
    """For each excluded term, the candidates it removes (see the module's docstring)."""
    if not excluded:
        return []
    if not candidates:
        return [Removal(term) for term in excluded]
    universe = store.photo_facts().ids
    # Keyword channels look at every candidate; a meaning channel only at those it ranked for the
    # query (the others have no likeness to compare with). One binary search places them all.
    ids = list(candidates)
    where = dict(zip(ids, positions(universe, ids).tolist(), strict=True))
    every = PhotoSet.at(universe, list(where.values()))
    ranked: dict[str, tuple[PhotoSet, int]] = {}
    for channel in channels:
        if not channel.matches_words and (
            mine := [where[h.photo_id] for h in positive.get(channel.name, []) if h.photo_id in where]
        ):
            ranked[channel.name] = (PhotoSet.at(universe, mine), len(mine))
    found: list[Removal] = []
    for term in excluded:
        by: dict[str, str] = {}
        in_words = ChannelQuery.from_text(term, every)
        for channel in channels:
            try:
                if channel.matches_words:
                    removed = channel.holding(in_words, store, len(candidates))
                elif channel.name in ranked:
                    within, size = ranked[channel.name]
                    hits = channel.search(dataclasses.replace(in_words, within=within, found={}), store, size)
                    removed = _more_like(hits, positive[channel.name], margin)
                else:
                    continue
            except ModelUnavailable:
                continue
            for photo_id in removed:
                by.setdefault(photo_id, channel.name)
        found.append(Removal(term, by))
    return found


def _more_like(hits: list[Hit], asked: list[Hit], margin: float) -> set[str]:
    """The photos more like the excluded concept (`hits`) than like the query (`asked`), by `margin`."""
    likeness = {hit.photo_id: hit.score for hit in asked}
    return {hit.photo_id for hit in hits if hit.photo_id in likeness and hit.score > likeness[hit.photo_id] + margin}
