"""The watch loop: catch up with one incremental index run, then follow file events (or poll) and
index what changed in batches; captions for new photos on request; its state in the library
folder (`watcher.json`) for `shashin status`; a stop request ends it after the current batch."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shashin import storage
from shashin.errors import ShashinError
from shashin.store import StoreBusy
from shashin.watch.mounts import needs_polling
from shashin.watch.pending import Pending, wanted

if TYPE_CHECKING:
    from shashin.ingest.pipeline import IndexReport
    from shashin.library import Library

STATE_FILE = "watcher.json"


class WatchError(ShashinError):
    """The watcher cannot start (a folder that cannot be watched); the message says why."""


@dataclass(frozen=True)
class WatchOptions:
    """How to watch: `poll` seconds between looks (None: file events, polling only for folders
    on network mounts), `settle` seconds a file must hold still, `caption` new photos, `retry`
    seconds between tries while another process writes to the library."""

    poll: float | None = None
    settle: float = 1.0
    caption: bool = False
    retry: float = 5.0


class Watcher:
    """Keeps `library` current with `folders` until stopped."""

    def __init__(
        self,
        library: Library,
        folders: Sequence[str],
        options: WatchOptions | None = None,
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.library, self.options, self.say = library, options or WatchOptions(), say
        remote = [folder for folder in folders if storage.is_remote(folder)]
        if remote:
            raise WatchError(
                f"{remote[0]} is in object storage, which sends no file events: index it on a schedule "
                "(cron: shashin index) instead"
            )
        self.folders = [os.path.realpath(folder) for folder in folders]
        missing = [folder for folder in self.folders if not os.path.isdir(folder)]
        if missing:
            raise WatchError(f"{missing[0]}: no such folder to watch")
        self.polling = self.options.poll is not None
        self.why_polling = f"every {self.options.poll:g} s, as asked" if self.polling else None
        if not self.polling:
            for folder in self.folders:
                reason = needs_polling(folder)
                if reason:
                    self.polling, self.why_polling = True, f"every 10 s: {reason}"
        self.pending = Pending(self.options.settle)
        self.runs = 0
        self.last_run: dict[str, Any] | None = None
        self._library_path = str(library.path)

    # ------------------------------------------------------------------ loop

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set; the batch being indexed then is finished first."""
        import watchfiles

        self._write_state("starting")
        caught_up = False
        poll = self.options.poll if self.options.poll is not None else 10.0
        try:
            for changes in watchfiles.watch(
                *self.folders,
                watch_filter=self._relevant,
                debounce=1600,
                step=100,
                stop_event=stop,
                rust_timeout=int(max(0.2, min(1.0, self.options.settle)) * 1000),
                yield_on_timeout=True,
                force_polling=self.polling,
                poll_delay_ms=int(poll * 1000),
                raise_interrupt=False,
                ignore_permission_denied=True,
            ):
                now = time.monotonic()
                self.pending.add({path for _, path in changes}, now)
                if not caught_up:  # events from now on are kept: nothing is missed between the two
                    caught_up = self._index(None)
                    if not caught_up:
                        stop.wait(self.options.retry)
                    continue
                ready = self.pending.ready(now)
                if ready and not self._index(ready):
                    self.pending.add(set(ready), time.monotonic() - self.options.settle)  # tried again later
                    stop.wait(self.options.retry)
                self._write_state("watching")
        finally:
            self._clear_state()

    def _relevant(self, change: Any, path: str) -> bool:
        if storage.inside(path, self._library_path):
            return False  # the library's own files, when it lives inside a watched folder
        return wanted(path)

    def _index(self, paths: list[str] | None) -> bool:
        """One index run (the catch-up when `paths` is None); False when it must be tried again."""
        self._write_state("indexing")
        started = time.monotonic()
        try:
            if paths is None:
                report = self.library.index(self.folders)
            else:
                report = self.library.index(within=paths)
        except StoreBusy as exc:
            self.say(f"waiting: {exc}")
            self._write_state("waiting for another writer")
            return False
        except ShashinError as exc:
            self.say(f"index run failed: {exc}")
            return paths is not None  # a failed catch-up is tried again; changed paths are not retried forever
        self.runs += 1
        seconds = time.monotonic() - started
        self.last_run = {
            "at": _now(),
            "paths": len(paths) if paths is not None else None,
            "new_photos": report.new_photos,
            "removed_photos": report.removed_photos,
            "seconds": round(seconds, 2),
        }
        self.say(_summary(report, paths, seconds))
        if self.options.caption and report.new_photos:
            self._caption()
        return True

    def _caption(self) -> None:
        try:
            captions = self.library.caption()
        except StoreBusy as exc:
            self.say(f"captions wait for the next batch: {exc}")
            return
        except ShashinError as exc:
            self.say(f"captions failed: {exc}")
            return
        if captions.unavailable:
            self.say(f"captions unavailable: {captions.unavailable}")
        else:
            self.say(f"wrote {captions.written} captions ({captions.failed} failed)")

    # ------------------------------------------------------------------ state for `shashin status`

    def _write_state(self, doing: str) -> None:
        state = {
            "pid": os.getpid(),
            "folders": self.folders,
            "doing": doing,
            "polling": self.why_polling,
            "queue": len(self.pending),
            "last_event_ago": None
            if self.pending.last_event is None
            else round(time.monotonic() - self.pending.last_event, 1),
            "last_run": self.last_run,
            "runs": self.runs,
            "written_at": _now(),
        }
        with contextlib.suppress(OSError):
            storage.write_bytes(storage.join(self._library_path, STATE_FILE), json.dumps(state).encode())

    def _clear_state(self) -> None:
        with contextlib.suppress(OSError):
            Path(self._library_path, STATE_FILE).unlink()


def watcher_state(library_path: str) -> dict[str, Any] | None:
    """The watcher's last written state, with `running` (its process is alive), or None."""
    try:
        state = json.loads(storage.read_bytes(storage.join(library_path, STATE_FILE)))
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(state["pid"]), 0)
        state["running"] = True
    except (OSError, ValueError, KeyError):
        state["running"] = False
    return dict(state)


def _summary(report: IndexReport, paths: list[str] | None, seconds: float) -> str:
    what = "caught up" if paths is None else f"{len(paths)} changed paths"
    parts = [
        f"{report.new_photos} new photos" if report.new_photos else "",
        f"{report.changed_files} changed files" if report.changed_files else "",
        f"{report.moved_files} moved" if report.moved_files else "",
        f"{report.removed_photos} photos removed" if report.removed_photos else "",
        f"{len(report.errors)} files with problems (shashin status)" if report.errors else "",
    ]
    done = ", ".join(part for part in parts if part) or "nothing new"
    return f"{datetime.now().strftime('%H:%M:%S')} {what}: {done} ({seconds:.1f} s)"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
