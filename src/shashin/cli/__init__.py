"""The `shashin` command: parses flags, calls the Library, prints. No logic of its own;
one module per command group (cli/index.py, cli/search.py, …), rendering in cli/render.py.

Exit codes: 0 done; 1 error (message on stderr); 2 bad usage; 3 done, but some files failed.
"""

from __future__ import annotations

import importlib
import os
import sys

from rich.text import Text

from shashin.cli.common import app, err
from shashin.errors import ShashinError

# Each module registers its commands on `app`; `shashin --help` lists them in this order.
COMMAND_GROUPS = (
    "index",
    "watch",
    "captions",
    "tags",
    "people",
    "search",
    "saved",
    "evaluate",
    "export",
    "serve",
    "assistant",
    "maintain",
)
for _group in COMMAND_GROUPS:
    importlib.import_module(f"shashin.cli.{_group}")

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: arguments checked, and any failure one line, never a traceback
    (SHASHIN_TRACEBACK=1 shows where an unexpected one happened)."""
    for number, argument in enumerate(sys.argv[1:], start=1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            readable = os.fsencode(argument).decode("utf-8", "backslashreplace")
            err.print(Text(f"error: argument {number} ({readable}) is not valid UTF-8 text; shashin reads UTF-8 only"))
            raise SystemExit(2) from None
    try:
        app()
    except ShashinError as exc:  # raised outside a command's own guard (settings, a callback)
        err.print(Text("error: ", style="bold red") + Text(exc.message))
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:
        if os.environ.get("SHASHIN_TRACEBACK"):
            raise
        err.print(Text("error: ", style="bold red") + Text(_unexpected(exc)))
        raise SystemExit(1) from None


def _unexpected(exc: Exception) -> str:
    """An exception nothing else explained, as one line: the storage failures people meet by name."""
    import errno

    number = exc.errno if isinstance(exc, OSError) else None
    where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
    if number in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"no space left on the disk{where}: free some space and run the command again (nothing committed is lost)"
        )
    if number in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (
            f"cannot write{where}: {getattr(exc, 'strerror', exc)}; run as a user who may, or choose a writable place"
        )
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}{where}"
    message = str(exc).split(", /rustc/")[0].splitlines()[0] if str(exc) else ""
    return (
        f"unexpected {type(exc).__name__}: {message[:300]} — please report it, with the command; "
        "SHASHIN_TRACEBACK=1 shows where it happened"
    )
