"""Where bytes live: local paths and object-storage URIs (s3://, gs://, az://) behind one small API.

Photos, thumbnails and the library itself may sit on either. Object stores are reached through
pyarrow's filesystems, which take credentials and endpoints from the usual environment variables
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL; GOOGLE_APPLICATION_CREDENTIALS;
AZURE_STORAGE_ACCOUNT_NAME / _KEY), the same ones LanceDB reads for the tables.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import stat
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from shashin.errors import Unavailable

REMOTE_SCHEMES = ("s3", "gs", "az")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


class StorageError(Unavailable, OSError):
    """An object store refused or could not be reached; the message names the location."""


def user_cache(*parts: str) -> Path:
    """A folder of shashin's own in the user's cache ($XDG_CACHE_HOME, else ~/.cache): what is
    built once from installed data (the gazetteer, the small image model's graph) and kept."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "shashin", *parts)


def scheme(location: str) -> str | None:
    """The URI scheme of `location` ("s3"), or None for a local path."""
    match = _SCHEME.match(location)
    if not match or match.group(1).lower() == "file":
        return None
    return match.group(1).lower()


def is_remote(location: str) -> bool:
    """True when `location` is an object-storage URI rather than a local path."""
    return scheme(location) is not None


def normalize(location: str) -> str:
    """A canonical spelling: URIs checked and without a trailing slash; local paths absolute."""
    found = scheme(location)
    if found is None:
        if location.startswith("file://"):
            location = location[len("file://") :]
        return os.path.normpath(os.path.abspath(os.path.expanduser(location)))
    if found not in REMOTE_SCHEMES:
        raise StorageError(
            f"{location}: unsupported storage scheme {found}:// (use a local path, or one of "
            + ", ".join(f"{s}://" for s in REMOTE_SCHEMES)
            + ")"
        )
    rest = location[len(found) + 3 :].strip("/")  # bucket/prefix
    if not rest:
        raise StorageError(f"{location}: no bucket given (write {found}://BUCKET/PREFIX)")
    return f"{found}://{rest}"


def join(base: str, *parts: str) -> str:
    """`base` / parts, with "/" on object storage and the OS separator locally."""
    if is_remote(base):
        return "/".join([base.rstrip("/"), *(part.strip("/") for part in parts)])
    return os.path.join(base, *parts)


def relative(path: str, root: str) -> str:
    """`path` relative to `root`, "/"-separated on object storage."""
    if is_remote(path):
        prefix = root.rstrip("/") + "/"
        return path[len(prefix) :] if path.startswith(prefix) else path
    return os.path.relpath(path, root)


def inside(path: str, root: str) -> bool:
    """True when `path` is `root` or lies under it."""
    separator = "/" if is_remote(root) else os.sep
    return path == root or path.startswith(root.rstrip(separator) + separator)


def basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1] if is_remote(path) else os.path.basename(path)


def parent(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[0] if is_remote(path) else os.path.dirname(path)


# ------------------------------------------------------------------------------------- object stores


@lru_cache(maxsize=16)
def _filesystem(kind: str, bucket: str, environment: tuple[str, ...]) -> Any:
    import pyarrow.fs as pafs

    if kind == "s3":
        # Keys come from the AWS_* variables (or ~/.aws, or an instance role) inside the SDK; the
        # endpoint of an S3-compatible server (MinIO, Ceph, R2, moto) is passed on explicitly.
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        options: dict[str, Any] = {}
        if endpoint:
            options["endpoint_override"] = endpoint
            options["scheme"] = "http" if endpoint.startswith("http://") else "https"
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            options["region"] = region
        return pafs.S3FileSystem(**options)
    if kind == "gs":
        return pafs.GcsFileSystem()
    account = os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    if not account:
        raise StorageError("az:// needs AZURE_STORAGE_ACCOUNT_NAME (and AZURE_STORAGE_ACCOUNT_KEY) in the environment")
    return pafs.AzureFileSystem(account, account_key=os.environ.get("AZURE_STORAGE_ACCOUNT_KEY"))


def _resolve(location: str) -> tuple[Any, str]:
    kind = scheme(location)
    assert kind is not None
    path = location[len(kind) + 3 :].strip("/")
    # Keyed by the relevant environment too: a process that changes its endpoint gets a new client.
    environment = tuple(
        value for name, value in sorted(os.environ.items()) if name.startswith(("AWS_", "AZURE_", "GOOGLE_"))
    )
    return _filesystem(kind, path.split("/", 1)[0], environment), path


def _failed(location: str, exc: Exception) -> StorageError:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return StorageError(f"{location}: {message}")


# ------------------------------------------------------------------------------------- reading


def open_binary(location: str) -> BinaryIO:
    """The file's bytes as a readable stream (caller closes it). A local path must be a regular
    file: a FIFO, device or socket is refused before anything is read (a FIFO would wait for a
    writer forever; /dev/zero never ends)."""
    if not is_remote(location):
        return _open_regular(location)
    filesystem, path = _resolve(location)
    try:
        return filesystem.open_input_stream(path)
    except (OSError, ValueError) as exc:
        raise _not_found(location, exc) from exc


def _open_regular(location: str) -> BinaryIO:
    # O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(location, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"{_kind(mode)}, not a regular file", location)
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a file"


def read_bytes(location: str, limit: int | None = None) -> bytes:
    """The whole file; with `limit`, at most that many bytes are read: a larger file raises
    OSError (EFBIG) naming its size, judged from its size before reading and again while reading."""
    with open_binary(location) as handle:
        if limit is None:
            return handle.read()
        known = _size_of(handle)
        if known is not None and known > limit:
            raise _too_large(location, known, limit)
        # read(n) allocates n bytes up front: ask for what the file holds, then grow in steps.
        parts: list[bytes] = []
        total = 0
        step = min(limit + 1, known + 1 if known is not None else 1 << 20)
        while True:
            part = handle.read(min(step, limit + 1 - total))
            if not part:
                return b"".join(parts)
            parts.append(part)
            total += len(part)
            if total > limit:
                raise _too_large(location, None, limit)
            step = 1 << 20


def _size_of(handle: BinaryIO) -> int | None:
    try:
        return os.fstat(handle.fileno()).st_size
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        size = getattr(handle, "size", None)  # pyarrow's input streams
        try:
            return int(size()) if callable(size) else None
        except (OSError, ValueError, TypeError):
            return None


def _too_large(location: str, size: int | None, limit: int) -> OSError:
    found = f"{size:,} bytes" if size is not None else "more bytes"
    return OSError(errno.EFBIG, f"{found}, more than the {limit:,} bytes such a file may have", location)


def seekable(location: str) -> BinaryIO:
    """A seekable stream: the local file, or an object fetched whole (image decoders seek a lot)."""
    if not is_remote(location):
        return _open_regular(location)
    return io.BytesIO(read_bytes(location))


def size(location: str) -> int:
    """Size in bytes; FileNotFoundError when it does not exist."""
    if not is_remote(location):
        return os.stat(location).st_size
    info = _info(location)
    if info.type.name != "File":
        raise FileNotFoundError(2, "No such file", location)
    return int(info.size)


def exists(location: str) -> bool:
    """True when a file (not a folder) is there."""
    if not is_remote(location):
        return os.path.isfile(location)
    try:
        return _info(location).type.name == "File"
    except StorageError:
        return False


def reachable(location: str) -> bool:
    """Cheap check before work: a local file must exist; an object is assumed there (a HEAD per
    photo would cost more than the read that reports a vanished object anyway)."""
    return is_remote(location) or os.path.isfile(location)


def is_folder(location: str) -> bool:
    """True for a local folder, or an object-storage prefix holding at least one object."""
    if not is_remote(location):
        return os.path.isdir(location)
    filesystem, path = _resolve(location)
    from pyarrow.fs import FileSelector

    try:
        if "/" not in path:  # a bucket: exists if it can be listed
            filesystem.get_file_info(FileSelector(path, recursive=False))
            return True
        return _info(location).type.name == "Directory"
    except (OSError, StorageError):
        return False


def _info(location: str) -> Any:
    filesystem, path = _resolve(location)
    try:
        return filesystem.get_file_info(path)
    except (OSError, ValueError) as exc:
        raise _failed(location, exc) from exc


def _not_found(location: str, exc: Exception) -> OSError:
    text = str(exc)
    if "NoSuchKey" in text or "not found" in text.lower() or "does not exist" in text.lower():
        return FileNotFoundError(2, "No such file", location)
    return _failed(location, exc)


def list_files(root: str) -> Iterator[tuple[str, int, int]]:
    """(URI, size, mtime_ns) of every object under an object-storage prefix, sorted by key."""
    from pyarrow.fs import FileSelector

    filesystem, path = _resolve(root)
    kind = scheme(root)
    try:
        infos = filesystem.get_file_info(FileSelector(path, recursive=True, allow_not_found=True))
    except (OSError, ValueError) as exc:
        raise _failed(root, exc) from exc
    for info in sorted(infos, key=lambda i: i.path):
        if info.type.name == "File":
            yield f"{kind}://{info.path}", int(info.size or 0), int(info.mtime_ns or 0)


# ------------------------------------------------------------------------------------- writing


def write_bytes(location: str, data: bytes) -> None:
    """Write a whole file atomically (a local temporary renamed over it; one PUT on object storage)."""
    if not is_remote(location):
        os.makedirs(os.path.dirname(location), exist_ok=True)
        partial = location + ".part"
        with open(partial, "wb") as handle:
            handle.write(data)
        os.replace(partial, location)
        return
    filesystem, path = _resolve(location)
    try:
        with filesystem.open_output_stream(path) as handle:
            handle.write(data)
    except (OSError, ValueError) as exc:
        raise _failed(location, exc) from exc


def delete(location: str) -> None:
    """Remove a file if it is there."""
    if not is_remote(location):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(location)
        return
    filesystem, path = _resolve(location)
    try:
        filesystem.delete_file(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        if "not found" not in str(exc).lower() and "NoSuchKey" not in str(exc):
            raise _failed(location, exc) from exc


def is_empty_folder(location: str) -> bool:
    """True when nothing is stored under `location` (missing counts as empty)."""
    if not is_remote(location):
        return not os.path.exists(location) or (os.path.isdir(location) and not os.listdir(location))
    from pyarrow.fs import FileSelector

    filesystem, path = _resolve(location)
    try:  # one level is enough to know, and cheap even above millions of objects
        return not filesystem.get_file_info(FileSelector(path, recursive=False, allow_not_found=True))
    except (OSError, ValueError) as exc:
        raise _failed(location, exc) from exc
