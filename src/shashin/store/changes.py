"""Which rows each table version changed, so search updates its structures instead of rebuilding.

Every upsert or delete shashin commits appends one line to `<library>/search/changes/<table>.jsonl`:
the version the commit made, the key column it was keyed by, and the keys. A reader holding a
structure built at version v0 (in memory, or saved on disk) and finding the table at v1 reads the
lines for v0 < version ≤ v1: when every one of those versions has its line, the structure's rows
with those keys are dropped and the same keys are read again from v1 — a few thousand rows, not a
million. A version without a line (a commit by an older shashin, compaction, a new index, a
schema change) or an unreadable line means "anything may have changed": the reader rebuilds.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_ROTATE_BYTES = 16 * 1024 * 1024  # a log this long is cut to its newest half


@dataclass
class _Parsed:
    offset: int = 0  # how far the file has been read
    identity: tuple[int, int] = (0, 0)  # (device, inode): a rotated file is read from the start
    records: dict[int, list[tuple[str, list[str]]]] = field(default_factory=dict)  # version -> changes


class ChangeLog:
    """The change lines of one local library's tables."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._parsed: dict[str, _Parsed] = {}
        self._lock = threading.Lock()

    def _path(self, table: str) -> Path:
        return self.root / f"{table}.jsonl"

    def record(self, table: str, column: str, keys: Iterable[str], version: int) -> None:
        """Note that commit `version` of `table` changed the rows whose `column` is one of `keys`
        (best effort: a line that cannot be written only makes readers rebuild)."""
        line = json.dumps({"version": int(version), "column": column, "keys": sorted(set(keys))}) + "\n"
        path = self._path(table)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line)
            if path.stat().st_size > _ROTATE_BYTES:
                self._rotate(path)
        except OSError:
            pass

    def _rotate(self, path: Path) -> None:
        """Keep the newest half of the lines (readers further behind rebuild), replaced atomically."""
        data = path.read_bytes()
        cut = data.find(b"\n", len(data) // 2) + 1
        partial = path.with_name(f"{path.name}.{os.getpid()}.part")
        partial.write_bytes(data[cut:])
        os.replace(partial, path)

    def since(self, table: str, after: int, upto: int) -> dict[str, set[str]] | None:
        """The keys changed by versions after..upto, by key column; None when any of those
        versions has no line (or the log cannot be read): then anything may have changed."""
        if upto <= after:
            return {}
        with self._lock:
            records = self._read(table)
        if records is None:
            return None
        changed: dict[str, set[str]] = {}
        for version in range(after + 1, upto + 1):
            lines = records.get(version)
            if lines is None:
                return None
            for column, keys in lines:
                changed.setdefault(column, set()).update(keys)
        return changed

    def _read(self, table: str) -> dict[int, list[tuple[str, list[str]]]] | None:
        path = self._path(table)
        try:
            with open(path, "rb") as handle:
                status = os.fstat(handle.fileno())
                parsed = self._parsed.get(table)
                if (
                    parsed is None
                    or parsed.identity != (status.st_dev, status.st_ino)
                    or status.st_size < parsed.offset
                ):
                    parsed = self._parsed[table] = _Parsed(identity=(status.st_dev, status.st_ino))
                handle.seek(parsed.offset)
                data = handle.read()
        except OSError:
            return None
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        for line in data[:end].splitlines():
            try:
                record = json.loads(line)
                entry = (str(record["column"]), [str(k) for k in record["keys"]])
                parsed.records.setdefault(int(record["version"]), []).append(entry)
            except (ValueError, KeyError, TypeError):
                continue  # a damaged line: its version has no line, so readers rebuild
        parsed.offset += end
        return parsed.records


__all__ = ["ChangeLog"]
