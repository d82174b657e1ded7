"""A person's words outlive their photo's stay in the library: orphans return to a photo.

When a photo leaves the library (its files deleted, replaced or edited beyond recognition), the
captions a person wrote for it are kept as an orphan (store.delete_orphan_photos). They return by
themselves when a photo with the same bytes or the same pixels is indexed, or when a person
attaches them to a photo (`shashin orphans attach`); only `shashin orphans forget` deletes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shashin.store import Orphan, Store

# Caption rows are stored as JSON in the orphans table; these columns were timestamps.
_TIMESTAMPS = ("created_at",)


@dataclass
class Reattached:
    """What returned to a photo, and what stayed an orphan because the photo has its own already."""

    photo_id: str
    former_photo_id: str
    attached: list[str] = field(default_factory=list)  # "caption brief:en"
    kept: list[str] = field(default_factory=list)


def reattach(store: Store, orphan: Orphan, photo_id: str, *, replace: bool = False) -> Reattached:
    """Give `orphan`'s rows to `photo_id`. A caption the photo already has from a person is not
    replaced unless `replace`; what is not given stays an orphan. Two commits (captions, then the
    orphan rows), so an interrupted call leaves the words in both places, never in neither."""
    from shashin.store.rows import caption_id

    outcome = Reattached(photo_id, orphan.former_photo_id)
    existing = {
        (row["prompt_set"], row["lang"]): row["source"] for row in store.captions_for([photo_id]).get(photo_id, [])
    }
    captions: list[dict[str, Any]] = []
    for row in orphan.rows.get("caption", []):
        kind = (row["prompt_set"], row["lang"])
        label = f"caption {row['prompt_set']}:{row['lang']}"
        if existing.get(kind) == "human" and not replace:
            outcome.kept.append(label)
            continue
        restored = {key: _restore(key, value) for key, value in row.items()}
        restored.update(photo_id=photo_id, caption_id=caption_id(photo_id, row["prompt_set"], row["lang"]))
        captions.append(restored)
        outcome.attached.append(label)
    if captions:
        store.put_captions(captions)
        store.forget_orphan_rows(
            [f"{orphan.former_photo_id}:caption:{row['prompt_set']}:{row['lang']}" for row in captions]
        )
    _reattach_tags(store, orphan, photo_id, outcome, replace)
    return outcome


def _reattach_tags(store: Store, orphan: Orphan, photo_id: str, outcome: Reattached, replace: bool) -> None:
    """A person's tags return too; a word the photo has a decision about already keeps that one."""
    from shashin.store.rows import tag_row

    decided = {row["tag_id"] for row in store.rows_of("tags", [photo_id]).get(photo_id, [])}
    rows, returned = [], []
    for row in orphan.rows.get("tag", []):
        restored = tag_row(photo_id, row["word"], row["state"])
        label = f"tag {row['state']}: {row['word']}"
        if restored["tag_id"] in decided and not replace:
            outcome.kept.append(label)
            continue
        rows.append(restored)
        returned.append(f"{orphan.former_photo_id}:tag:{row['tag_id'].split(':', 1)[1]}")
        outcome.attached.append(label)
    if rows:
        store.put_rows("tags", rows)
        store.forget_orphan_rows(returned)


def reattach_returning(store: Store, photos: Sequence[tuple[str, str | None]]) -> list[Reattached]:
    """Orphans of photos that came back: each new (photo id, fingerprint) whose id or pixels were an
    orphan's gets its rows back."""
    if not photos:
        return []
    ids = [photo_id for photo_id, _ in photos]
    orphans = store.orphans_of(ids, [pixels for _, pixels in photos if pixels])
    if not orphans:
        return []
    by_id = {orphan.former_photo_id: orphan for orphan in orphans}
    by_pixels = {orphan.pixel_hash: orphan for orphan in orphans if orphan.pixel_hash}
    outcomes = []
    for photo_id, pixels in photos:
        orphan = by_id.pop(photo_id, None) or (by_pixels.pop(pixels, None) if pixels else None)
        if orphan is not None:
            by_id.pop(orphan.former_photo_id, None)
            by_pixels.pop(orphan.pixel_hash or "", None)
            outcomes.append(reattach(store, orphan, photo_id))
    return outcomes


def _restore(key: str, value: Any) -> Any:
    if key in _TIMESTAMPS and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return value
