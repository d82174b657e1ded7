"""The writer lock: one process writes to a library at a time (fcntl locally, a lease on object storage)."""

from __future__ import annotations

import fcntl
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users

import pyarrow as pa

from shashin.store.common import (
    LEASE_TABLE,
    sql_string,
    utc_now,
)
from shashin.store.errors import (
    StoreBusy,
    StoreError,
    plain_error,
)
from shashin.store.maintenance import Maintenance


class WriterLock(Maintenance):
    """One writer at a time: a file lock on disk, a lease table on object storage."""

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the library's writer lock: one indexing process at a time (workers it starts
        write under its lock). A file lock locally; a lease table on object storage."""
        if self.remote:
            with _Lease(self):
                yield
            return
        lock_path = os.path.join(self.root, "writer.lock")
        try:
            handle = open(lock_path, "a+")
        except OSError as exc:
            raise plain_error(self, exc) or StoreError(
                f"cannot take the writer lock {lock_path}: {exc.strerror or exc}"
            ) from exc
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise StoreBusy(
                    f"another shashin process (pid {holder}) is writing to {self.root}; wait for it to finish"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()


_LEASE_BEAT = 20.0  # seconds between a holder's heartbeats


_LEASE_STALE = 120.0  # a lease without a heartbeat for this long was left by a crashed writer


class _Lease:
    """The writer lock on object storage, where there are no file locks: a small Lance table whose
    creation is atomic (a conditional PUT of its first version: of two writers creating it at once,
    one fails). The holder refreshes a heartbeat; a lease left stale by a crashed holder is taken over."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def __enter__(self) -> _Lease:
        db = self.store._db
        for attempt in range(2):
            try:
                db.create_table(LEASE_TABLE, data=self._row())
                break
            except Exception:  # exists, or lost the race to create it
                current = self._current()
                if current is not None and (utc_now() - current["heartbeat"]).total_seconds() < _LEASE_STALE:
                    raise StoreBusy(
                        f"another shashin process ({current['holder']}, since {current['since']:%Y-%m-%d %H:%M:%S} UTC) "
                        f"is writing to {self.store.root}; wait for it to finish"
                    ) from None
                if attempt:
                    raise StoreBusy(f"could not take the writer lease of {self.store.root}; try again") from None
                try:
                    db.drop_table(LEASE_TABLE)  # stale: its holder died without releasing it
                except Exception:
                    pass
        self._beat = threading.Thread(target=self._heartbeat, name="shashin-lease", daemon=True)
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        current = self._current()
        if current is not None and current["holder"] == self.holder:
            with suppress(Exception):
                self.store._db.drop_table(LEASE_TABLE)

    def _row(self) -> pa.Table:
        now = utc_now()
        return pa.table({"holder": [self.holder], "since": [now], "heartbeat": [now]})

    def _current(self) -> dict[str, Any] | None:
        try:
            rows = self.store._db.open_table(LEASE_TABLE).to_arrow().to_pylist()
        except Exception:
            return None
        return rows[0] if rows else None

    def _heartbeat(self) -> None:
        beats = 0
        while not self._stop.wait(_LEASE_BEAT):
            beats += 1
            try:
                table = self.store._db.open_table(LEASE_TABLE)
                table.update(where=f"holder = {sql_string(self.holder)}", values={"heartbeat": utc_now()})
                if beats % 90 == 0:  # every half hour: a days-long run leaves no pile of lease versions
                    table.optimize(cleanup_older_than=timedelta(minutes=5))
            except Exception:
                pass  # a missed beat; the next one retries
