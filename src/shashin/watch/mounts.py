"""Network mounts, where file events from other machines never arrive: such folders are polled."""

from __future__ import annotations

import os

# File systems whose changes made elsewhere raise no inotify events here.
NETWORK = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "fuse.sshfs", "fuse.rclone", "afs", "ceph", "glusterfs", "davfs"}
)


def file_system(folder: str, mounts: str = "/proc/mounts") -> str | None:
    """The type of the file system `folder` is on (the longest mount point above it), or None."""
    try:
        with open(mounts, encoding="utf-8", errors="replace") as f:
            table = [line.split() for line in f]
    except OSError:
        return None
    path = os.path.realpath(folder)
    best, kind = "", None
    for fields in table:
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def needs_polling(folder: str, mounts: str = "/proc/mounts") -> str | None:
    """Why `folder` must be polled (it is on a network file system), or None."""
    kind = file_system(folder, mounts)
    return f"{folder} is on {kind}, where changes made elsewhere raise no events" if kind in NETWORK else None
