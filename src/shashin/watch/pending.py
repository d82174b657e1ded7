"""Changed paths waiting until they are ready to index: a file whose size and modification time
have held still for `settle` seconds (a copy finished), a path that is gone (deleted, moved away),
a folder (walked whole when its turn comes)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from shashin.media import is_supported

SIDECARS = (".xmp", ".json")  # kept metadata (XMP sidecars, Google Takeout): read again by the index run


def wanted(path: str) -> bool:
    """True for the paths that can change a library: photos, their sidecars and folders."""
    name = os.path.basename(path)
    if name.startswith("."):
        return False
    return is_supported(name) or name.lower().endswith(SIDECARS) or "." not in name or os.path.isdir(path)


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float  # when it was last seen changing


class Pending:
    """Paths seen changing, until each is ready; then handed out in one batch."""

    def __init__(self, settle: float = 1.0) -> None:
        self.settle = settle
        self._paths: dict[str, _Seen | None] = {}
        self.last_event: float | None = None

    def __len__(self) -> int:
        return len(self._paths)

    def add(self, paths: set[str], now: float) -> None:
        """Note paths an event named (a path named again starts settling again)."""
        for path in paths:
            self._paths[path] = _look(path, now)
        if paths:
            self.last_event = now

    def ready(self, now: float) -> list[str]:
        """The paths ready now, taken out: stable for `settle` seconds, gone, or folders."""
        done = []
        for path, seen in list(self._paths.items()):
            current = _look(path, now)
            if current is None or seen is None:
                done.append(path)  # gone, or a folder
            elif (current.size, current.mtime_ns) != (seen.size, seen.mtime_ns):
                self._paths[path] = current  # still being written
            elif now - seen.since >= self.settle:
                done.append(path)
        for path in done:
            del self._paths[path]
        return sorted(done)


def _look(path: str, now: float) -> _Seen | None:
    """A file's size and time, or None for a folder or a path that is gone."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        return None
    return _Seen(info.st_size, info.st_mtime_ns, now)
