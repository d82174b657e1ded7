"""`shashin export --fields alt-text,keywords,title`: one write per photo of the fields asked for,
each merged with what the file (or its sidecar) already holds, and a dry run that says it first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shashin import storage
from shashin.alttext import shorten
from shashin.channels.image import ImageChannel
from shashin.config import Settings
from shashin.export import AltRecord, Embedded, ExportError, XmpRecord, sidecar_path
from shashin.library.alttext import alt_text_records, embed_alt_text
from shashin.metadata.keywords import TITLE, WrittenLog, current_fields, merge, merge_title, wanted_keywords
from shashin.metadata.regions import REGIONS, merge_regions
from shashin.metadata.sources import Folders
from shashin.metadata.sync import person_tags
from shashin.people.regions import named_faces
from shashin.store import FileRow, Store

if TYPE_CHECKING:
    from shashin.library import Library

FIELDS = ("alt-text", "keywords", "title", "people")
WRITTEN_LOG = "exported-keywords.json"
TITLE_CHARS = 70


@dataclass
class ExportItem:
    """One photo's write: where it goes, the XMP fields to set, and in words what changes."""

    photo_id: str
    path: str
    root: str
    target: str  # the sidecar, or the photo itself (embed)
    values: dict[str, Any] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)  # keywords
    removed: list[str] = field(default_factory=list)
    title: str | None = None  # a title written now
    alt: AltRecord | None = None
    written: dict[str, Any] = field(default_factory=dict)  # what shashin's record keeps for the target
    problem: str | None = None  # why nothing can be written for this photo (reported, the others go on)
    regions_added: list[str] = field(default_factory=list)  # names of face regions written
    regions_removed: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, Any]:
        """The XMP fields to write (what export.write_sidecar and export.embed take)."""
        return {**(self.alt.fields() if self.alt else {}), **self.values}

    @property
    def changes(self) -> bool:
        return bool(self.fields())

    def to_dict(self) -> dict[str, Any]:
        return {
            "photo_id": self.photo_id,
            "path": self.path,
            "target": self.target,
            "keywords_added": self.added,
            "keywords_removed": self.removed,
            "title": self.title,
            "people_added": self.regions_added,
            "people_removed": self.regions_removed,
            **({"alt_text": self.alt.alt, "extended_description": self.alt.extended} if self.alt else {}),
        }


def parse_fields(text: str) -> list[str]:
    """--fields as a list, each one known (ValueError naming the unknown one otherwise)."""
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in FIELDS]
    if unknown or not chosen:
        raise ValueError(f"--fields takes {', '.join(FIELDS)} (comma-separated), not {text!r}")
    return list(dict.fromkeys(chosen))


def plan_export(
    store: Store, settings: Settings, fields: Sequence[str], langs: Sequence[str], *, embed: bool, out: Path | None
) -> list[ExportItem]:
    """What exporting `fields` writes for every photo (its first file by path), merged with the
    target's current fields; photos with nothing to write are left out."""
    files = store.files()
    first: dict[str, FileRow] = {}
    for path in sorted(files):
        first.setdefault(files[path].photo_id, files[path])
    alt = {r.photo_id: r for r in alt_text_records(store, langs)} if "alt-text" in fields else {}
    log = WrittenLog(storage.join(str(store.root), WRITTEN_LOG))
    ids = sorted(first, key=lambda pid: first[pid].path)
    suggested = store.channel_rows(ImageChannel.name, ids, ["tags", "status"]) if "keywords" in fields else {}
    tags = store.rows_of("tags", ids) if "keywords" in fields else {}
    captions = store.captions_for(ids) if "title" in fields else {}
    named = named_faces(store) if "people" in fields else {}
    sizes = store.get_photos(named) if named else {}
    items = []
    folders = Folders()  # each folder listed once: which photos share a stem
    for photo_id in ids:
        file = first[photo_id]
        try:
            target = file.path if embed else str(sidecar_path(file.path, file.root, out, folders))
        except ExportError as exc:  # a photo in a bucket without --out: that photo fails, not the export
            if photo_id in alt or "alt-text" not in fields:
                items.append(ExportItem(photo_id, file.path, file.root, "", problem=str(exc)))
            continue
        item = ExportItem(photo_id, file.path, file.root, target, alt=alt.get(photo_id))
        if "keywords" in fields or "title" in fields or "people" in fields:
            current = current_fields(target, file.path)
            earlier = log.of(target)
            if "keywords" in fields:
                row = suggested.get(photo_id) or {}
                mine = person_tags(tags.get(photo_id, []))
                done = list(row.get("tags") or []) if row.get("status") == "done" else []
                wanted = wanted_keywords(done, mine, langs, settings.keywords.min_score, settings.keywords.root)
                change = merge(current, wanted, earlier)
                item.values.update(change.fields)
                item.added, item.removed = change.added, change.removed
                item.written.update(change.written)
            if "title" in fields:
                title = _title(captions.get(photo_id, []), langs)
                values, ours = merge_title(current, title, earlier.get(TITLE))
                item.values.update(values)
                item.title = values[TITLE]['lang="x-default"'] if values else None
                if ours:
                    item.written[TITLE] = ours
            if "people" in fields:
                photo = sizes.get(photo_id) or {}
                regions = merge_regions(
                    current,
                    named.get(photo_id, []),
                    earlier.get(REGIONS, []),
                    (photo.get("width") or 0, photo.get("height") or 0),
                )
                item.values.update(regions.fields)
                item.regions_added, item.regions_removed = regions.added, regions.removed
                if regions.written:
                    item.written[REGIONS] = regions.written
        if item.changes or log.of(target) != item.written:
            items.append(item)
    return items


def _title(captions: Sequence[dict[str, Any]], langs: Sequence[str]) -> str | None:
    """A short title from the brief caption in the first language that has one (a person's first)."""
    for lang in langs:
        usable = [c for c in captions if c.get("status") == "done" and c.get("text") and c["lang"] == lang]
        usable.sort(key=lambda c: (c.get("source") != "human", c.get("prompt_set") != "brief"))
        if usable:
            return shorten(usable[0]["text"].rstrip("。."), TITLE_CHARS)
    return None


def record_written(store: Store, items: Sequence[ExportItem]) -> None:
    """Remember what shashin added to each target, for the next export's merge."""
    log = WrittenLog(storage.join(str(store.root), WRITTEN_LOG))
    for item in items:
        log.record(item.target, item.written)
    log.save()


class Export:
    """What shashin writes out of the library (library.export): alt text, keywords and titles, into
    XMP sidecars or the photos themselves."""

    def __init__(self, library: Library) -> None:
        self._library = library

    def alt_text_records(self, langs: Sequence[str] = ("ja", "en")) -> list[AltRecord]:
        """Alt text and extended descriptions of every photo that has a caption or text in it."""
        return alt_text_records(self._library.open_store(), langs)

    def plan(
        self, fields: Sequence[str], langs: Sequence[str], *, embed: bool = False, out: Path | None = None
    ) -> list[ExportItem]:
        """What `shashin export --fields …` writes for each photo, merged with what its sidecar (or,
        with `embed`, the photo) holds: nothing is written yet (see write)."""
        return plan_export(self._library.open_store(), self._library.settings, fields, langs, embed=embed, out=out)

    def write(self, item: ExportItem, *, embed: bool = False, backup: bool = True) -> str | None:
        """Write one planned item into its sidecar, or (`embed`) into its photo, verified, with a
        backup unless `backup` is False; returns the backup's path when one was made."""
        from shashin.export import write_sidecar

        if embed:
            return self.embed(item, backup=backup).backup
        write_sidecar(item, Path(item.target))
        return None

    def record(self, items: Sequence[ExportItem]) -> None:
        """Remember which keywords and titles shashin wrote where (the next export merges by it)."""
        store = self._library.open_store()
        with store.writer():
            record_written(store, items)

    def embed(self, record: XmpRecord, *, backup: bool = True) -> Embedded:
        """Write a record's fields into its photo and tell the library the file's new size and date,
        so the next index run does not take it for a new photo."""
        return embed_alt_text(self._library.open_store(), record, backup=backup)
