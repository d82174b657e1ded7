"""What every model backend shares."""

from __future__ import annotations


class ModelUnavailable(RuntimeError):
    """A model could not be loaded; the message says what is missing and how to fix it."""
