"""The Python API: a Library is one index (--db folder or bucket prefix) of one or more photo folders.

The CLI, the web and the MCP server are thin layers over it, and it is a small facade itself: its
own methods index, caption, search and look after the library (opening the store, settling the
models, handing over to ingest, search, library.status, library.photos); each other feature is a
module it hands out — `library.people`, `library.saved`, `library.orphans`, `library.export`,
`library.evaluation` — which every interface uses as it is. It picks where per-photo work runs
(here, or a Ray cluster).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shashin import storage
from shashin.channels import AnyChannel, build_channels, derived_channels, indexed_channels, search_channels
from shashin.channels.base import ChannelQuery, PhotoVectors
from shashin.channels.image import ImageChannel
from shashin.config import Settings, load_settings
from shashin.errors import NOT_INDEXED
from shashin.ingest.captioning import CaptionReport
from shashin.ingest.pipeline import IndexReport, index_folders
from shashin.library.errors import LibraryError, QueryError
from shashin.library.evaluation import Evaluation
from shashin.library.exporting import Export
from shashin.library.home import Home, home_of
from shashin.library.orphans import Orphans
from shashin.library.people import People
from shashin.library.photos import OriginalFile, PhotoDetail, alt_texts, open_original, photo_detail
from shashin.library.saved import SavedSearches
from shashin.library.settle import settled
from shashin.library.status import (
    CaptionStatus,
    ChannelStatus,
    CheckReport,
    LibraryStatus,
    OptimizeReport,
    PhotoFailureInfo,
    check_library,
    library_status,
    optimize_library,
)
from shashin.media import MediaError, decode_photo
from shashin.progress import Progress
from shashin.search.duplicates import DuplicateGroup, find_duplicates
from shashin.search.engine import SearchOptions, SearchResponse, Sort, respond, search_photos
from shashin.search.filters import FilterError, Filters
from shashin.store import SearchTuning, Store, photo_finder
from shashin.store.rows import human_caption_row
from shashin.text.dates import DateError

if TYPE_CHECKING:
    from shashin.ingest.runner import Runner
    from shashin.scale.ray_ingest import RayOptions

__all__ = [
    "CaptionStatus",
    "ChannelStatus",
    "CheckReport",
    "Library",
    "LibraryError",
    "LibraryStatus",
    "OptimizeReport",
    "OriginalFile",
    "PhotoDetail",
    "PhotoFailureInfo",
    "QueryError",
]


class Library:
    """One photo library: `index()` folders into it, then `search()` it."""

    def __init__(self, db: str | Path | None = None, *, settings: Settings | None = None, quick: bool = False) -> None:
        """`quick`: for a process that searches once and ends (the CLI): the library is read from
        its saved search structures without opening LanceDB when they are current."""
        self._quick = quick
        if settings is None:
            settings = load_settings({"db": str(db) if db is not None else None})
        elif db is not None:
            settings = dataclasses.replace(settings, db=str(db))
        self.settings = settings
        location = self.settings.db_location
        # The library: a local folder (Path) or an object-storage URI (str, e.g. s3://bucket/photos-index).
        self.path: Path | str = location if storage.is_remote(location) else Path(location)
        self._store: Store | None = None
        self._built: dict[tuple[str, str], list[AnyChannel]] = {}  # by the models "auto" settled to
        self._setup = threading.RLock()  # searches run in threads (the web server): set up once

    def open_store(self, *, create: bool = False) -> Store:
        """The library's store, opened once (the feature modules work through it)."""
        with self._setup:
            if self._store is None:
                self._store = Store(self.path, create=create, quick=self._quick and not create)
                search = self.settings.search
                self._store.search_tuning = SearchTuning(
                    search.ann_min_rows, search.nprobe, search.memory_max_rows, search.refine
                )
            return self._store

    def _channels(self, store: Store, *, indexing: bool = False) -> tuple[Settings, list[AnyChannel]]:
        """This library's settings with "auto" models settled (recorded when `indexing`), and its
        channels built for them. `self.settings` stays as given, so no call depends on an earlier one."""
        settings = settled(self.settings, store, indexing=indexing)
        key = (settings.image.model, settings.captions.text_model)
        with self._setup:
            if key not in self._built:
                self._built[key] = build_channels(settings)
            return settings, self._built[key]

    def _image_channel(self, store: Store) -> ImageChannel:
        return next(c for c in self._channels(store)[1] if isinstance(c, ImageChannel))

    def _look_alike(self, store: Store) -> PhotoVectors:
        """The channel whose vectors say what photos look like: the image model's once the library
        has its vectors, before that the built-in labels model's (a fresh install that downloaded
        nothing still finds similar photos); the image channel when neither has any (its error
        says which model to get)."""
        image = self._image_channel(store)
        if image.has_vectors(store):
            return image
        fallback = next(
            (
                c
                for c in self._channels(store)[1]
                if isinstance(c, PhotoVectors) and c.name != image.name and c.has_vectors(store)
            ),
            None,
        )
        return fallback or image

    # ------------------------------------------------------------------ features

    @functools.cached_property
    def people(self) -> People:
        """Everyone the library's faces were grouped into, and what a person decides about them."""
        return People(self)

    @functools.cached_property
    def saved(self) -> SavedSearches:
        """Searches kept under a name (smart albums), run live."""
        return SavedSearches(self)

    @functools.cached_property
    def orphans(self) -> Orphans:
        """What people wrote about photos that left the library, kept."""
        return Orphans(self)

    @functools.cached_property
    def export(self) -> Export:
        """Alt text, keywords and titles written out, into sidecars or photos."""
        return Export(self)

    @functools.cached_property
    def evaluation(self) -> Evaluation:
        """How well search finds known photos: protocols, runs, the people protocol."""
        return Evaluation(self)

    def refresh_derived(self, store: Store, progress: Progress | None = None) -> int:
        """Bring the channels computed from stored outputs (caption vectors) up to date."""
        return self._refresh_derived(store, self._channels(store, indexing=True)[1], progress)

    def index(
        self,
        folders: Sequence[str | Path] = (),
        *,
        progress: Progress | None = None,
        retry_failed: bool = False,
        cluster: RayOptions | None = None,
        within: Sequence[str] | None = None,
    ) -> IndexReport:
        """Add `folders` (or, when none are given, revisit all known ones) and bring the index up to date.

        With `cluster`, the per-photo work runs on a Ray cluster (see shashin.scale.ray_ingest).
        With `within` (files and folders a watcher saw change), only those are looked at."""
        wanted = [_folder(folder) for folder in folders]
        store = self.open_store(create=True)
        with store.writer():
            roots = _add_folders(store, wanted) if wanted else store.folders()
            if not roots:
                raise LibraryError("this library has no folders yet; give one: shashin index FOLDER")
            settings, channels = self._channels(store, indexing=True)
            return index_folders(
                store,
                list(dict.fromkeys(roots)),
                indexed_channels(channels, settings.channels),
                settings,
                progress,
                retry_failed=retry_failed,
                derived=derived_channels(channels),
                runner=_runner(cluster),
                within=within,
            )

    def add_folders(self, folders: Sequence[str | Path]) -> list[str]:
        """Make the library if there is none and add `folders` to it without indexing them yet
        (a server starts at once; its watcher indexes them); returns the folders they fall under."""
        wanted = [_folder(folder) for folder in folders]
        store = self.open_store(create=True)
        with store.writer():
            return _add_folders(store, wanted)

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

        store = self.open_store()
        with store.writer():
            settings, channels = self._channels(store, indexing=True)
            report = caption_photos(
                store,
                caption_backend(settings.captions),
                settings,
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
        store = self.open_store()
        with store.writer():
            channels = self._channels(store, indexing=True)[1]
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
        store = self.open_store()
        photo_id = self.find_photo(photo)
        with store.writer():
            channels = self._channels(store, indexing=True)[1]
            store.put_captions([human_caption_row(photo_id, prompt_set, lang, text)])
            self._refresh_derived(store, channels, None)
        return photo_id

    def tag(self, photo: str, action: str, words: Sequence[str]) -> dict[str, Any]:
        """A person's tags on `photo` (a library path or photo id): `add` words that describe it
        (searchable and filterable at once, exported as keywords), or `remove` them — a tag you added,
        or one shashin suggested that does not hold (it is then never exported). Keywords other apps
        wrote stay theirs. Returns the photo id and its tags now."""
        from shashin.metadata.sync import person_tags, retag
        from shashin.store.rows import tag_row

        if action not in ("add", "remove"):
            raise LibraryError(f"the action must be add or remove, not {action!r}")
        cleaned = list(dict.fromkeys(" ".join(word.split()) for word in words))
        cleaned = [word for word in cleaned if word]
        if not cleaned:
            raise LibraryError("no word to tag with")
        too_long = [word for word in cleaned if len(word) > 200 or "|" in word]
        if too_long:
            raise LibraryError(
                f"{too_long[0][:60]!r}: a tag is one word or phrase of at most 200 characters, without '|'"
            )
        store = self.open_store()
        photo_id = self.find_photo(photo)
        with store.writer():
            state = "added" if action == "add" else "removed"
            store.put_rows("tags", [tag_row(photo_id, word, state) for word in cleaned])
            retag(store, [photo_id])
            tags = person_tags(store.rows_of("tags", [photo_id]).get(photo_id, []))
        return {"photo_id": photo_id, "added": list(tags.added), "removed": list(tags.removed)}

    def photo_id(self, photo: str) -> str | None:
        """The id of a photo of this library named by its path (absolute, or relative to an indexed
        folder), a file name unique in the library, or its id; None when it names none."""
        store = self.open_store()
        find = photo_finder(store)
        return find(os.path.abspath(os.path.expanduser(photo))) or find(photo)

    def find_photo(self, photo: str) -> str:
        """The id of the photo `photo` names (path, unique file name or id), or a LibraryError."""
        found = self.photo_id(photo)
        if found is None:
            raise LibraryError(f"{photo}: not a photo of this library (give its path or photo id)")
        return found

    # ------------------------------------------------------------------ a person's words kept

    def _refresh_derived(self, store: Store, channels: list[AnyChannel], progress: Progress | None) -> int:
        if progress:
            progress.phase("embedding captions", 0)
        return sum(channel.refresh(store, progress) for channel in derived_channels(channels))

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
        facets: bool = False,
        everything: bool = False,
    ) -> SearchResponse:
        """Photos matching `query`, best first, each with the channels that found it and why.

        Dates and places in the query ("beach July 2023", 「京都の寺」) become filters unless
        `parse` is False; so do "cat -dog" and "cat OR kitten"; `filters` add to them. `sort` is
        relevance, newest or oldest (date, -date); results less relevant than the cut-off
        (search.cutoff) are left out unless `everything`, and `min_score` drops those below it
        too; `facets` counts the photos found by year, place, camera, text, keyword and person.
        """
        _check_page(limit, offset)
        if not 0 <= min_score <= 1:
            raise QueryError("min_score must be between 0 and 1")
        self.check_query(query, parse)
        store = self.open_store()
        channels = search_channels(self._channels(store)[1])
        options = SearchOptions(
            filters or Filters(), parse, limit, offset, sort, min_score, facets=facets, everything=everything
        )
        try:
            response = search_photos(store, channels, query, self.settings.search, options)
        except (FilterError, DateError) as exc:
            raise QueryError(str(exc)) from exc
        skipped = self._not_indexed(store, [channel.name for channel in channels])
        if skipped:  # a channel whose model was missing when indexing has nothing to say: say why
            response = dataclasses.replace(response, unavailable={**skipped, **response.unavailable})
        return response

    def check_query(self, query: str, parse: bool = True) -> None:
        """A query too long, or with too many alternatives or exclusions, is refused in one line."""
        from shashin.search.logic import check_query

        limits = self.settings.search
        check_query(
            query,
            max_chars=limits.max_query_chars,
            max_alternatives=limits.max_alternatives,
            max_exclusions=limits.max_exclusions,
            parse=parse,
        )

    def _not_indexed(self, store: Store, names: Sequence[str]) -> dict[str, str]:
        """Search channels whose model could not be loaded when the library was indexed, with the reason."""
        meta = store.meta_values()
        return {
            name: f"{NOT_INDEXED}{meta[f'channel.{name}.unavailable']}"
            for name in names
            if meta.get(f"channel.{name}.unavailable")
        }

    def similar(
        self,
        target: str | Path,
        *,
        limit: int = 20,
        offset: int = 0,
        filters: Filters | None = None,
        any_file: bool = True,
    ) -> SearchResponse:
        """Photos that look like `target`: a photo of the library (path or id) or any image file,
        among those `filters` allow. With `any_file` False (a server asked by others: MCP) only
        library photos and files under the library's folders are opened.

        Raises LibraryError when the target cannot be read (or may not be) and ModelUnavailable
        when the image model cannot be loaded.
        """
        _check_page(limit, offset)
        store = self.open_store()
        image = self._look_alike(store)
        photo_id, vector = self._target_vector(store, image, str(target), any_file)
        depth = max(self.settings.search.candidates, offset + limit) + 1
        within = filters.photo_set(store) if filters and filters.active else None
        hits = [hit for hit in image.search_vector(store, vector, depth, within=within) if hit.photo_id != photo_id]
        query = ChannelQuery.from_text(str(target))
        return respond(store, [], query, {image.name: hits}, self.settings.search, limit=limit, offset=offset)

    def _target_vector(
        self, store: Store, image: PhotoVectors, target: str, any_file: bool = True
    ) -> tuple[str | None, np.ndarray]:
        """The library photo `target` names (if any) and its vector from `image`."""
        path = os.path.abspath(os.path.expanduser(target))
        photo_id = target if store.get_photos([target]) else store.photo_id_of_path(path)
        if photo_id is not None:
            vector = image.stored_vector(store, photo_id)
            if vector is not None:
                return photo_id, vector
            files = store.file_rows_for([photo_id]).get(photo_id, [])
            path = files[0].path if files else path
        elif not any_file and not _under_a_folder(path, store.folders()):
            raise LibraryError(
                f"{target}: not a photo of this library, and only files under its folders may be opened here"
            )
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
        store = self.open_store()
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
        return optimize_library(self.open_store(), self.settings, rebuild=rebuild, progress=progress)

    def home(self) -> Home:
        """The library at a glance: photos, each channel's progress and missing model, the newest
        photos, the months they were taken in, and the named people (the web's home page)."""
        status = self.status()
        return home_of(self.open_store(), status, self.people.all() if status.photos else [])

    def status(self) -> LibraryStatus:
        """Photos, files, per-channel done/failed/pending and every recorded error. Tables whose
        data files are gone or cut short are named first (counts alone would look healthy)."""
        store = self.open_store()
        settings, channels = self._channels(store)
        return library_status(store, channels, settings)

    def check(self, *, repair: bool = False) -> CheckReport:
        """Read every row of every table and list every thumbnail: what is damaged, and what
        `index` can rebuild; with `repair`, fix what can be fixed (see library.status.check_library)."""
        return check_library(self.open_store(), repair=repair)

    def folders(self) -> list[str]:
        """The folders this library indexes."""
        return self.open_store().folders()

    def photo(self, photo_id: str) -> PhotoDetail | None:
        """Everything the library knows about one photo (None when it has no such photo)."""
        return photo_detail(self.open_store(), photo_id)

    def alt_texts(self, photo_ids: Sequence[str], lang: str = "en") -> dict[str, str]:
        """Alt text for each photo (see shashin.alttext), read from the search's in-memory copies."""
        return alt_texts(self.open_store(), photo_ids, lang)

    def thumbnail(self, photo_id: str) -> bytes | None:
        """The WebP thumbnail of a photo of this library, if it has one."""
        return self.open_store().thumbnail(photo_id)

    def open_original(self, photo_id: str) -> OriginalFile:
        """The photo's original file, opened, once it is known to be what was indexed (see
        library.photos.open_original). Raises LibraryError saying why no file can be served."""
        return open_original(self.open_store(), photo_id)


def _runner(cluster: RayOptions | None) -> Runner | None:
    """Where per-photo work runs: here (None), or on the Ray cluster `cluster` names."""
    if cluster is None:
        return None
    from shashin.scale.ray_ingest import RayRunner

    return RayRunner(cluster)


def _under_a_folder(path: str, folders: Sequence[str]) -> bool:
    """True when `path`, symbolic links followed, lies under one of `folders` (local ones)."""
    real = os.path.realpath(path)
    return any(storage.inside(real, os.path.realpath(folder)) for folder in folders if not storage.is_remote(folder))


def _check_page(limit: int, offset: int) -> None:
    if limit < 1 or offset < 0:
        raise QueryError("limit must be at least 1 and offset at least 0")


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


def _add_folders(store: Store, wanted: Sequence[str]) -> list[str]:
    """Add folders to the library (a folder inside a known one is that one; a folder containing
    known ones takes them over, their files moving to it); the roots they fall under, in order."""
    known = store.folders()
    roots: list[str] = []
    for folder in wanted:
        parent = next((root for root in known if _inside(folder, root)), None)
        roots.append(parent or folder)
        if parent is None:
            store.remove_folders([root for root in known if _inside(root, folder)])
            store.add_folder(folder)
    return list(dict.fromkeys(roots))


def _inside(folder: str, root: str) -> bool:
    return storage.inside(folder, root)
