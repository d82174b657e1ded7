"""People channel: photos of the people a query names ("Ken at the beach", 「健と海」, --person Ken),
by their faces grouped and named in shashin; a face typical of the person ranks first."""

from __future__ import annotations

from typing import ClassVar

from shashin.channels.base import Channel, ChannelEvidence, ChannelQuery, Highlight, Hit, ResultPage
from shashin.people.lookup import FaceMatch, faces_of
from shashin.store import Store


class PeopleChannel(Channel):
    """Faces of the people named, nearest their person's centre first."""

    name: ClassVar[str] = "people"
    description: ClassVar[str] = "people the query names, by their faces"
    fusion_weight: ClassVar[float | None] = 0.5  # who is in the photo: strong, but the words say what

    def evidence(self) -> ChannelEvidence:
        return ChannelEvidence("support")  # who is in it, not whether it shows what was asked

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        if not query.people:
            return []
        allowed = set(query.within.ids()) if query.within is not None else None
        best: dict[str, FaceMatch] = {}
        for match in faces_of(store, query.people):
            if allowed is not None and match.photo_id not in allowed:
                continue
            if match.photo_id not in best or match.distance < best[match.photo_id].distance:
                best[match.photo_id] = match
        query.found[self.name] = best
        ranked = sorted(best.values(), key=lambda m: m.distance)[:limit]
        return [Hit(m.photo_id, 1.0 - m.distance) for m in ranked]

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        best: dict[str, FaceMatch] = query.found.get(self.name) or {}
        return {
            photo_id: [Highlight(self.name, "person", f"{m.name} — face {m.n + 1}, distance {m.distance:.2f}", ())]
            for photo_id in page.photo_ids
            if (m := best.get(photo_id)) is not None
        }
