"""What the Library raises when a request cannot be carried out."""

from __future__ import annotations

from shashin.errors import ShashinError, UsageError


class LibraryError(ShashinError, ValueError):
    """A request the library cannot carry out (a missing folder, no folders yet)."""

    http_status = 400


class QueryError(UsageError, LibraryError):
    """A search that cannot be run as asked (a query too long, a date that does not exist)."""
