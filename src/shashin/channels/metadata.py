"""Metadata channel: keywords, titles, names and places that people keep in other apps (XMP and
IPTC, embedded or in sidecars; Google Takeout), and tags set in shashin, searched by keyword.

Its table is kept current after every index run (metadata.sync) from the files themselves, not
from pixels: a changed sidecar is read again without any model running.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Self

from shashin.channels.base import Channel, ChannelQuery, DerivedChannel, Highlight, Hit, ResultPage
from shashin.channels.keywords import highlight, rank_by_keywords
from shashin.metadata.kept import Kept
from shashin.metadata.sources import READER_VERSION
from shashin.metadata.sync import CHANNEL, stored_facts, sync_metadata
from shashin.progress import Progress
from shashin.store import Store

if TYPE_CHECKING:
    from shashin.config import Settings


class MetadataChannel(Channel, DerivedChannel):
    """Keyword search over kept keywords (hierarchical ones by any level), titles, people's names,
    place names and a person's tags."""

    name: ClassVar[str] = CHANNEL
    description: ClassVar[str] = "keywords, titles, names and ratings kept by other apps (XMP, IPTC, Takeout)"
    matches_words: ClassVar[bool] = True

    def __init__(self, own_root: str = "") -> None:
        self.own_root = own_root  # where shashin's exported keywords live (settings keywords.root)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings.keywords.root)

    def version(self) -> str:
        return f"{READER_VERSION}; own keywords under {self.own_root or 'nothing'}"

    def refresh(self, store: Store, progress: Progress | None = None) -> int:
        return sync_metadata(store, progress, self.own_root)

    def progress(self, store: Store) -> tuple[int, int]:
        """(photos whose kept metadata was read by this reader, photos not read yet)."""
        done = store.count_channel(self.name, READER_VERSION, "done")  # rows carry the reader's version
        return done, max(0, store.count_photos() - done)

    def problems(self, store: Store) -> list[tuple[str, str]]:
        """Each note met reading a photo's metadata (a broken sidecar, a JSON of another photo)."""
        rows = store.channel_select(self.name, ["photo_id", "notes"], present=["notes"])
        return [(row["photo_id"], note) for row in rows for note in row["notes"] or []]

    def search(self, query: ChannelQuery, store: Store, limit: int) -> list[Hit]:
        def search_terms(terms, n, require_all):  # type: ignore[no-untyped-def]
            return store.search_channel(
                self.name, "terms", terms, limit=n, require_all=require_all, within=query.within
            )

        def texts(ids: list[str]) -> dict[str, str]:
            rows = store.channel_rows(self.name, ids, ["fields", "added", "removed"], from_memory=True)
            return {pid: stored_facts(row).text() for pid, row in rows.items()}

        return rank_by_keywords(query.keywords, search_terms, texts, limit)

    def highlights(self, query: ChannelQuery, store: Store, page: ResultPage) -> dict[str, list[Highlight]]:
        rows = store.channel_rows(self.name, page.photo_ids, ["fields", "added", "removed"], from_memory=True)
        found: dict[str, list[Highlight]] = {}
        for photo_id, row in rows.items():
            facts = stored_facts(row)
            for field, text in shown_fields(facts.kept, facts.tags.added):
                match = highlight(self.name, field, text, query.keywords)
                if match:
                    found.setdefault(photo_id, []).append(match)
        return found


def shown_fields(kept: Kept, added: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(field, text) pairs a person recognizes: "keyword: Places|Japan|Kyoto", "person: Hanako"."""
    pairs = [("keyword", path) for path in kept.paths]
    levels = {level.casefold() for path in kept.paths for level in path.split("|")}
    pairs += [("keyword", word) for word in kept.keywords if word.casefold() not in levels]
    pairs += [("tag", word) for word in added]
    if kept.title:
        pairs.append(("title", kept.title))
    pairs += [("person", name) for name in kept.names()]
    pairs += [(r.kind.casefold() or "region", r.name) for r in kept.regions if not r.is_person]
    pairs += [(field, text) for field, text in kept.location]
    if kept.description:
        pairs.append(("description", kept.description))
    return pairs


def metadata_of(store: Store, photo_ids: list[str]) -> dict[str, dict[str, object]]:
    """What the photo page and API show of each photo's kept metadata, with a person's tags."""
    rows = store.channel_rows(CHANNEL, photo_ids, ["fields", "added", "removed"])
    shown = {}
    for photo_id, row in rows.items():
        facts = stored_facts(row)
        shown[photo_id] = {
            **facts.kept.to_dict(),
            "tags_added": list(facts.tags.added),
            "tags_removed": list(facts.tags.removed),
        }
    return shown
