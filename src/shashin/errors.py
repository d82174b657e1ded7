"""The errors shashin explains to a person, on one base.

Each says what happened and how to fix it in its message, and carries how the command line
(`exit_code`) and the web (`http_status`) report it; `cli.common.guarded` and the exception
handlers of `web.app.create_app` translate every kind in one place each. Anything else that escapes is a bug, reported as such.
"""

from __future__ import annotations


class ShashinError(Exception):
    """A failure a person can act on; the message names the file, setting or value and the reason."""

    exit_code: int = 1
    http_status: int = 500

    @property
    def message(self) -> str:
        return str(self)


class UsageError(ShashinError):
    """A request given wrongly: an unknown setting, an impossible date, a query too long."""

    exit_code = 2
    http_status = 400


class BadInput(ShashinError):
    """A file given to shashin that it cannot use (not a photo, a damaged caption or query file)."""

    http_status = 400


class NotFound(ShashinError):
    """What was asked for is not in the library."""

    http_status = 404


class Busy(ShashinError):
    """Another process holds what this request needs (the writer lock); trying again later works."""

    http_status = 409


class Unavailable(ShashinError):
    """Something this request needs cannot be reached or loaded now: a model, a server, a cluster, storage."""

    http_status = 503


NOT_INDEXED = "not indexed: "  # how a search says a channel's model was missing when the library was indexed
