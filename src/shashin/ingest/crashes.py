"""Runs that died: the photos in flight are remembered before each batch, and a photo that was
alone in flight when CRASH_STRIKES runs died is recorded as the cause (never a good photo
beside it, never on one person's kill -9)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from shashin.ingest.decode import DecodeJob
from shashin.progress import Progress
from shashin.store import ErrorRow, Store

if TYPE_CHECKING:
    pass
from shashin.ingest.work import PhotoWork

CRASH_STRIKES = 2  # runs that must die with a photo alone in flight before it is taken for the cause


def after_a_crash(store: Store, retry_failed: bool, progress: Progress) -> dict[str, int]:
    """What the last run was working on when its process died (killed for memory, a crash in a
    model — or by a person: kill -9 of `watch` looks the same): photo id -> how many runs died with
    it alone in flight. Those photos are worked on one at a time this run, so that another death
    names one; a photo alone in flight at CRASH_STRIKES deaths is recorded as the cause and skipped
    until it changes (or --retry-failed). One death never condemns a photo: a person's kill lands
    on whatever photo happens to be in flight, a crashing photo crashes every time."""
    if retry_failed:
        store.delete_errors([error.path for error in store.errors() if error.stage == "crash"])
    entries = store.in_flight()
    if len(entries) != 1:
        return {entry["photo_id"]: _strikes(entry) for entry in entries}
    entry = entries[0]
    strikes = _strikes(entry) + 1
    if strikes < CRASH_STRIKES:
        return {entry["photo_id"]: strikes}
    message = (
        f"index runs died {strikes} times while working on this photo alone (out of memory, or a crash in a "
        "model); it is skipped until the file changes — `shashin index --retry-failed` tries it again"
    )
    store.put_errors(
        [ErrorRow(f["path"], f["root"], "crash", message, f["size"], f["mtime_ns"]) for f in entry.get("files", [])]
    )
    store.clear_in_flight()
    progress.note(f"{entry.get('files', [{}])[0].get('path', entry['photo_id'])}: {message}")
    return {}


def _strikes(entry: dict[str, Any]) -> int:
    value = entry.get("strikes", 0)
    return value if isinstance(value, int) and value >= 0 else 0


class InFlight:
    """Keeps the library's in-flight marker (Store.mark_in_flight) naming the photos being worked
    on, with each suspect's strikes so far (see after_a_crash)."""

    def __init__(self, store: Store, by_id: dict[str, PhotoWork], strikes: dict[str, int]) -> None:
        self.store, self.by_id, self.strikes = store, by_id, strikes
        self._marked: tuple[str, ...] = ()

    def mark(self, photo_ids: Sequence[str]) -> None:
        if tuple(photo_ids) == self._marked:
            return
        self._marked = tuple(photo_ids)
        self.store.mark_in_flight(
            [
                {
                    "photo_id": pid,
                    "files": [
                        dataclasses.asdict(found) for found in self.by_id[pid].new_files or [self.by_id[pid].source]
                    ],
                    "strikes": self.strikes.get(pid, 0),
                }
                for pid in photo_ids
            ]
        )

    def ahead(self, jobs: Iterator[DecodeJob], size: int) -> Iterator[DecodeJob]:
        """`jobs`, marking each batch before its first photo is decoded (decoding in this process)."""
        batch: list[DecodeJob] = []
        for job in jobs:
            batch.append(job)
            if len(batch) >= size:
                self.mark([j.photo_id for j in batch])
                yield from batch
                batch = []
        if batch:
            self.mark([j.photo_id for j in batch])
            yield from batch
