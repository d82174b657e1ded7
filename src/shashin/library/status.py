"""What a library holds and how far its work has come: `status`, `check` and `optimize` reports."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shashin.channels import AnyChannel, derived_channels, indexed_channels
from shashin.config import Settings
from shashin.ingest.estimate import run_in_progress
from shashin.metadata.sync import restore_tags
from shashin.progress import Progress
from shashin.store import ErrorRow, LibraryDamaged, Store, TableHealth, VectorIndexReport


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
    indexing: dict[str, Any] | None = None  # the index run under way: done, total, remaining_seconds…

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "folders": self.folders,
            "photos": self.photos,
            "files": self.files,
            "orphans": self.orphans,
            "indexing": self.indexing,
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


def library_status(store: Store, channels: Sequence[AnyChannel], settings: Settings) -> LibraryStatus:
    """Photos, files, per-channel done/failed/pending and every recorded error. Tables whose
    data files are gone or cut short are named first (counts alone would look healthy)."""
    damaged = store.damaged_tables()
    if damaged:
        raise LibraryDamaged(
            f"the library {store.root} is damaged: data files of {', '.join(damaged)} are missing or "
            "cut short; `shashin check` says what is damaged and what `shashin index` can rebuild"
        )
    photos = store.count_photos()
    states: list[ChannelStatus] = []
    failures: list[PhotoFailureInfo] = []
    for channel in indexed_channels(channels, settings.channels):
        version = channel.version()
        done = store.count_channel(channel.name, version, "done")
        failed_rows = store.channel_failures(channel.name, version)
        unavailable = store.get_meta(f"channel.{channel.name}.unavailable") or None
        states.append(
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
            failures.append(PhotoFailureInfo(channel.name, files[0].path if files else row["photo_id"], row["error"]))
    captions, caption_failures = _caption_status(store)
    for derived in derived_channels(channels):
        embedded, pending = derived.progress(store)
        states.append(ChannelStatus(derived.name, derived.description, derived.version(), embedded, 0, pending))
        problems = derived.problems(store)
        paths = store.file_rows_for({photo_id for photo_id, _ in problems})
        for photo_id, problem in problems:
            files = paths.get(photo_id)
            failures.append(PhotoFailureInfo(derived.name, files[0].path if files else photo_id, problem))
    return LibraryStatus(
        db=str(store.root),
        folders=store.folders(),
        photos=photos,
        files=store.count_files(),
        channels=states,
        errors=store.errors(),
        failures=failures + caption_failures,
        captions=captions,
        orphans=len(store.orphans()),
        indexing=run_in_progress(store.meta_values()),
    )


def check_library(store: Store, *, repair: bool = False) -> CheckReport:
    """Read every row of every table and list every thumbnail: what is damaged, and what
    `index` can rebuild. With `repair`, tables of outputs are dropped (index computes them
    again), the library's own tables are rewritten with their readable rows, and photos
    without a thumbnail are marked to be read again."""
    tables = store.check_tables()
    ok = {table.name for table in tables if table.ok}
    missing: set[str] = set()
    if "photos" in ok:
        missing = store.photo_ids() - store.listed_thumbnail_ids()
    report = CheckReport(str(store.root), tables, len(missing))
    if not repair or report.healthy:
        return report
    with store.writer():
        damaged = {table.name for table in report.damaged}
        for table in report.damaged:
            salvaged = store.salvage(table.name)
            if salvaged.dropped:
                report.repairs.append(f"{table.name}: dropped; `shashin index` computes it again")
                continue
            found = f", {salvaged.recovered:,} found again in older versions" if salvaged.recovered else ""
            report.repairs.append(
                f"{table.name}: rewritten with {salvaged.kept:,} readable rows{found}, {salvaged.lost:,} lost"
            )
        if "captions" in damaged:
            restored = store.recover_captions_from_chunks()
            if restored:
                report.repairs.append(f"captions: {restored:,} of your captions rebuilt from caption search")
        if "tags" in damaged:
            restored = restore_tags(store)
            if restored:
                report.repairs.append(f"tags: {restored:,} of your tags restored from the photos' metadata rows")
        if {"photos", "files"} & damaged:
            detached = store.detach_missing_photos()
            if detached:
                report.repairs.append(
                    f"files: {sum(map(len, detached.values())):,} files whose photo was lost will be indexed again"
                )
            waiting = store.keep_words_of_lost_photos(detached)
            if waiting:
                report.repairs.append(
                    f"orphans: what you wrote about {waiting:,} lost photos waits in `shashin orphans` "
                    "and returns when `shashin index` finds them again"
                )
        if missing:
            store.forget_sources(missing)
            report.repairs.append(f"thumbnails: {len(missing):,} missing; `shashin index` makes them again")
    return report


def optimize_library(
    store: Store, settings: Settings, *, rebuild: bool = False, progress: Progress | None = None
) -> OptimizeReport:
    """Compact the tables, fold new rows into every index, and build or refresh the approximate
    vector indexes of large tables (search.index_min_rows); `rebuild` retrains them all."""
    started = time.monotonic()
    with store.writer():
        if progress:
            progress.phase("compacting tables", 0)
        store.optimize()
        if progress:
            progress.phase("building vector indexes", 0)
        indexes = store.build_vector_indexes(min_rows=settings.search.index_min_rows, rebuild=rebuild)
    memory_max = settings.search.memory_max_rows
    return OptimizeReport(
        indexes=indexes,
        searched_on_disk=[
            f"{r.table}.{r.column}" for r in indexes if r.action != "skipped" and memory_max and r.rows > memory_max
        ],
        seconds=time.monotonic() - started,
    )


def _caption_status(store: Store) -> tuple[list[CaptionStatus], list[PhotoFailureInfo]]:
    rows = store.captions(["photo_id", "prompt_set", "lang", "status", "source", "error"])
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
