"""Keeping the library's copy of kept metadata current: after every index run, each photo whose
files, sidecars or Takeout JSON changed (or whose tags a person changed) is read again — no model
runs — and dates and places it carries fill those the photo's EXIF lacks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa

from shashin import storage
from shashin.metadata.kept import Facts, Kept, PersonTags
from shashin.metadata.sources import READER_VERSION, Folders, PhotoFile, read_photo, signature
from shashin.progress import Progress, SilentProgress
from shashin.store import Store
from shashin.text.tokenize import index_text

CHANNEL = "metadata"
PAYLOAD = [
    pa.field("fields", pa.string()),  # Kept.to_dict() as JSON
    pa.field("added", pa.list_(pa.string())),  # a person's tags (shashin tag)
    pa.field("removed", pa.list_(pa.string())),
    pa.field("terms", pa.string()),  # Facts.text(), tokenized: what keyword search reads
    pa.field("place_terms", pa.string()),  # place names (IPTC City, Country), tokenized
    pa.field("facets", pa.string()),  # Facts.facets(): what filters ask for
    pa.field("rating", pa.int8()),
    pa.field("signature", pa.string()),  # sources.signature() : digest of the person's tags
    pa.field("notes", pa.list_(pa.string())),  # problems met reading it (None: none)
    pa.field("fills", pa.string()),  # "date", "place", "date place": what it can give the photo (None: nothing)
]
FTS = ("terms", "place_terms", "facets")
_BATCH = 500


def ensure_table(store: Store) -> None:
    """The metadata table, created on first use."""
    store.ensure_channel(CHANNEL, PAYLOAD, fts=FTS)


def person_tags(rows: Iterable[dict[str, Any]]) -> PersonTags:
    """A photo's tag rows as PersonTags (in the order they were made)."""
    ordered = sorted(rows, key=lambda r: (str(r.get("created_at") or ""), r["word"]))
    return PersonTags(
        tuple(r["word"] for r in ordered if r["state"] == "added"),
        tuple(r["word"] for r in ordered if r["state"] == "removed"),
    )


def facts_row(photo_id: str, facts: Facts, file_signature: str) -> dict[str, Any]:
    """The metadata table's row for one photo."""
    return {
        "photo_id": photo_id,
        "version": READER_VERSION,
        "status": "done",
        "error": None,
        "fields": json.dumps(facts.kept.to_dict(), ensure_ascii=False),
        "added": list(facts.tags.added),
        "removed": list(facts.tags.removed),
        "terms": index_text(facts.text()),
        "place_terms": index_text(facts.place_text()),
        "facets": facts.facets(),
        "rating": facts.kept.rating,
        "signature": f"{file_signature}:{_tags_digest(facts.tags)}",
        "notes": list(facts.kept.notes) or None,
        "fills": " ".join(
            name for name, value in (("date", facts.kept.taken_at), ("place", facts.kept.latitude)) if value is not None
        )
        or None,
    }


def _tags_digest(tags: PersonTags) -> str:
    return hashlib.blake2b(repr((tags.added, tags.removed)).encode(), digest_size=8).hexdigest()


def stored_facts(row: dict[str, Any]) -> Facts:
    """Facts back from a stored row."""
    return Facts(
        Kept.from_dict(json.loads(row.get("fields") or "{}")),
        PersonTags(tuple(row.get("added") or ()), tuple(row.get("removed") or ())),
    )


def sync_metadata(store: Store, progress: Progress | None = None, own_root: str = "") -> int:
    """Read the kept metadata of every photo whose sources changed since it was last read, store
    it, and let its dates and places fill the photo's missing ones; returns the photos updated.
    Photos whose folder is missing keep what was read before; keywords shashin exported under
    `own_root` are not read back as a person's."""
    progress = progress or SilentProgress()
    ensure_table(store)
    files: dict[str, list[PhotoFile]] = {}
    roots: dict[str, bool] = {}
    for row in store.files().values():
        if row.root not in roots:
            roots[row.root] = storage.is_folder(row.root)
        if roots[row.root]:
            files.setdefault(row.photo_id, []).append(PhotoFile(row.path, row.content))
    signatures = {row["photo_id"]: row["signature"] for row in store.channel_select(CHANNEL, ["photo_id", "signature"])}
    tags: dict[str, list[dict[str, Any]]] = {}
    for tag in store.all_rows("tags"):
        tags.setdefault(tag["photo_id"], []).append(tag)
    folders = Folders()
    todo: list[tuple[str, str, PersonTags]] = []
    for photo_id in sorted(files):
        file_signature = signature(files[photo_id], folders)
        wanted = person_tags(tags.get(photo_id, []))
        if signatures.get(photo_id) != f"{file_signature}:{_tags_digest(wanted)}":
            todo.append((photo_id, file_signature, wanted))
    _fill_photos(store, _unfilled(store, {photo_id for photo_id, _, _ in todo}))
    if not todo:
        return 0
    progress.phase("reading keywords, ratings and names", len(todo))
    written = 0
    for start in range(0, len(todo), _BATCH):
        batch = todo[start : start + _BATCH]
        existing = store.channel_rows(CHANNEL, [photo_id for photo_id, _, _ in batch], ["fields", "signature"])
        rows, filled = [], []
        for photo_id, file_signature, wanted in batch:
            before = existing.get(photo_id)
            same_files = before is not None and str(before["signature"]).split(":")[0] == file_signature
            old = stored_facts(before).kept if before is not None else Kept()
            kept = old if same_files else read_photo(files[photo_id], folders).without_own(own_root)
            for note in kept.notes if not same_files else ():
                progress.note(f"{files[photo_id][0].path}: {note}")
            rows.append(facts_row(photo_id, Facts(kept, wanted), file_signature))
            filled.append((photo_id, old, kept))
            progress.advance()
        store.put_channel_rows(CHANNEL, rows)
        _fill_photos(store, filled)
        written += len(rows)
    return written


def _unfilled(store: Store, skip: set[str]) -> list[tuple[str, Kept, Kept]]:
    """Photos read before whose date or place is missing again (their photo row was read anew from
    a file that lacks them): their kept metadata fills it once more."""
    giving = {
        row["photo_id"]: row["fills"] for row in store.channel_select(CHANNEL, ["photo_id", "fills"], present=["fills"])
    }
    if not giving:
        return []
    facts = store.photo_facts()
    undated, unplaced = np.isnat(facts.taken_at), np.isnan(facts.latitude)
    lacking = [
        photo_id
        for i in np.flatnonzero(undated | unplaced)
        if (photo_id := facts.ids[i].decode()) in giving
        and photo_id not in skip
        and (("date" in giving[photo_id] and undated[i]) or ("place" in giving[photo_id] and unplaced[i]))
    ]
    if not lacking:
        return []
    rows = store.channel_rows(CHANNEL, lacking, ["fields"])
    return [(photo_id, Kept(), stored_facts(row).kept) for photo_id, row in rows.items()]


def _fill_photos(store: Store, changed: list[tuple[str, Kept, Kept]]) -> None:
    """Dates and places from kept metadata where the photo's own EXIF has none (or where they came
    from the earlier reading of the same metadata)."""
    wanted = {pid: (old, new) for pid, old, new in changed if new.taken_at or new.latitude is not None or old != Kept()}
    if not wanted:
        return
    photos = store.get_photos(wanted)
    updates = []
    for photo_id, row in photos.items():
        old, new = wanted[photo_id]
        update = dict(row)
        if new.taken_at and (row.get("taken_at") is None or _same_time(row.get("taken_at"), old.taken_at)):
            update.update(taken_at=new.taken_at, utc_offset=new.utc_offset)
        position = (row.get("latitude"), row.get("longitude"))
        if (
            new.latitude is not None
            and new.longitude is not None
            and (position in ((None, None), (old.latitude, old.longitude)))
        ):
            update.update(latitude=new.latitude, longitude=new.longitude)
        if update != row:
            updates.append(update)
    if updates:
        store.put_photos(updates)


def _same_time(stored: Any, earlier: Any) -> bool:
    if stored is None or earlier is None:
        return False
    return stored.replace(tzinfo=None, microsecond=0) == earlier.replace(tzinfo=None, microsecond=0)


def retag(store: Store, photo_ids: Iterable[str]) -> None:
    """Bring the metadata rows of these photos in line with their tags at once (after `shashin
    tag`), keeping what was read from their files; a photo not read yet is read at the next sync."""
    ids = list(dict.fromkeys(photo_ids))
    ensure_table(store)
    existing = store.channel_rows(CHANNEL, ids, ["fields", "added", "removed", "signature"])
    tags = store.rows_of("tags", ids)
    rows = []
    for photo_id in ids:
        before = existing.get(photo_id)
        kept = stored_facts(before).kept if before else Kept()
        file_signature = str(before["signature"]).split(":")[0] if before else ""
        rows.append(facts_row(photo_id, Facts(kept, person_tags(tags.get(photo_id, []))), file_signature))
    store.put_channel_rows(CHANNEL, rows)


def restore_tags(store: Store) -> int:
    """A person's tags the tags table lost, written back from the copy each photo's metadata row
    keeps (its `added` and `removed` words) for photos that have no tag rows left. Returns the
    tags restored."""
    from shashin.store.rows import tag_row

    tagged = {row["photo_id"] for row in store.all_rows("tags")}
    rows = []
    for row in store.channel_select(CHANNEL, ["photo_id", "added", "removed"]):
        if row["photo_id"] in tagged:
            continue
        rows += [tag_row(row["photo_id"], word, "added") for word in row.get("added") or []]
        rows += [tag_row(row["photo_id"], word, "removed") for word in row.get("removed") or []]
    if rows:
        store.put_rows("tags", rows)
    return len(rows)


def named_regions(store: Store) -> dict[str, list[tuple[str, list[float]]]]:
    """Named person regions with boxes that photo apps wrote, by photo: (name, [left, top, width, height])."""
    found: dict[str, list[tuple[str, list[float]]]] = {}
    for row in store.channel_select(CHANNEL, ["photo_id", "fields"]):
        text = row["fields"] or ""
        if '"regions": [{' not in text:  # most photos have none: skip parsing them
            continue
        for region in Kept.from_dict(json.loads(text)).regions:
            if region.box and region.is_person:
                found.setdefault(row["photo_id"], []).append((region.name, list(region.box)))
    return found
