"""What every model backend shares."""

from __future__ import annotations

from shashin.errors import Unavailable


class ModelUnavailable(Unavailable, RuntimeError):
    """A model could not be loaded; the message says what is missing and how to fix it."""
