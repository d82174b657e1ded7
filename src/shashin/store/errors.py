"""How the library's storage fails, in words a person can act on (disk full, read-only, damaged)."""

from __future__ import annotations

import errno
import functools
import inspect
import os
import re
from collections.abc import Callable
from typing import Any

os.environ.setdefault("LANCEDB_LOG", "error")  # its warnings are for its developers, not our users


from shashin.errors import Busy, Unavailable


class StoreError(Unavailable, RuntimeError):
    """The library cannot be opened or written; the message says which folder and why."""


class StoreBusy(Busy, StoreError):
    """Another process is writing to this library."""


class LibraryDamaged(StoreError):
    """A table of the library cannot be read (a data file deleted, cut short or overwritten)."""


# How the library's storage fails, as Python (errno) and as Lance reports it (the OS error in text).
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


_LANCE_NO_SPACE = re.compile(r"No space left on device|os error 28|Disk quota exceeded|os error 122", re.I)


_LANCE_NOT_WRITABLE = re.compile(r"Read-only file system|os error 30|Permission denied|os error 13", re.I)


_LANCE_DAMAGE = re.compile(
    r"lance error|LanceError|Not found: .*\.lance|corrupt|Invalid (?:file|data|input)|not appear to be a Lance file|"
    r"invalid magic|unexpected end|out of range|truncated",
    re.I,
)


def plain_error(store: Any, exc: BaseException) -> StoreError | None:
    """The storage failure `exc` in a user's words (which library, what happened, what to do), or
    None when it is not one."""
    text = str(exc)
    where = f"the library {store.root}"
    number = exc.errno if isinstance(exc, OSError) else None
    if number in _NO_SPACE or _LANCE_NO_SPACE.search(text):
        return StoreError(
            f"no space left on the disk of {where}: free some space and run the command again "
            "(everything committed before is kept)"
        )
    if number in _NOT_WRITABLE or _LANCE_NOT_WRITABLE.search(text):
        reason = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else first_line(text)
        return StoreError(
            f"{where} cannot be written ({reason}): run shashin as a user who may write it, or on a writable copy"
        )
    if _LANCE_DAMAGE.search(text):
        return LibraryDamaged(
            f"{where} is damaged: {first_line(text)}; `shashin check` says what is damaged and "
            "what `shashin index` can rebuild"
        )
    return None


def first_line(text: str) -> str:
    """An error message without Rust backtraces and wrapping, short enough for one line."""
    text = text.split(", /rustc/", maxsplit=1)[0].split(", /home/", maxsplit=1)[0].splitlines()[0] if text else ""
    text = re.sub(r"lance error: |LanceError\(\w+\): |Generic N/A error: |External error: |Wrapped error: ", "", text)
    text = re.sub(r"(Not found: )+", "not found: ", text)
    return text[:300]


def in_plain_words(cls: type) -> type:
    """Every public method of the class raises storage failures as StoreError with a message a
    user can act on (disk full, read-only, damaged), never as a Rust or Python traceback."""

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def plain(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except StoreError:
                raise
            except (OSError, RuntimeError, ValueError) as exc:
                translated = plain_error(self, exc)
                if translated is None:
                    raise
                raise translated from exc

        return plain

    for name in dir(cls):  # the methods of every class it is built from (store/*.py)
        member = inspect.getattr_static(cls, name)
        if not name.startswith("_") and inspect.isfunction(member) and name != "writer":
            setattr(cls, name, wrap(member))
    return cls
