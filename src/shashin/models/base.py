"""What every model backend shares."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from shashin.errors import Unavailable


class ModelUnavailable(Unavailable, RuntimeError):
    """A model could not be loaded; the message says what is missing and how to fix it."""


_Load = TypeVar("_Load", bound=Callable[..., None])


def loads_once(load: _Load) -> _Load:
    """Make a model's `load()` single-flight: searches run in threads (the web server), and two
    first searches must not load the same weights twice. The lock is the model's own, so a query
    needing one model never waits while another model loads."""

    @functools.wraps(load)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> None:
        with self.__dict__.setdefault("_loading", threading.Lock()):  # setdefault: one lock, even when raced
            load(self, *args, **kwargs)

    return guarded  # type: ignore[return-value]
