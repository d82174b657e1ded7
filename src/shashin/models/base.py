"""What every model backend shares."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from shashin.errors import Unavailable


class ModelUnavailable(Unavailable, RuntimeError):
    """A model could not be loaded; the message says what is missing and how to fix it."""


_LOADING = threading.RLock()
_Load = TypeVar("_Load", bound=Callable[..., None])


def loads_once(load: _Load) -> _Load:
    """Make a model's `load()` single-flight: searches run in threads (the web server), and two
    first searches must not load the same weights twice. Loading is rare; one lock serves all."""

    @functools.wraps(load)
    def guarded(*args: Any, **kwargs: Any) -> None:
        with _LOADING:
            load(*args, **kwargs)

    return guarded  # type: ignore[return-value]
