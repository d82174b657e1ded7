"""How long work reports progress without printing: the CLI passes a listener that draws bars."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress of long work; every method must be cheap."""

    def phase(self, name: str, total: int) -> None:
        """A new phase of `total` items begins (a total of 0 means nothing to do)."""

    def advance(self, count: int = 1) -> None:
        """`count` more items of the current phase are done."""

    def note(self, message: str) -> None:
        """Something the user should know now (a channel unavailable, a folder missing)."""


class SilentProgress:
    """A Progress that reports nothing (scripts, tests, --quiet)."""

    def phase(self, name: str, total: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def note(self, message: str) -> None:
        pass
