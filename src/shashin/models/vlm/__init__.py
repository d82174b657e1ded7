"""Caption writers (vision-language models): one module per provider behind base.CaptionBackend,
registered in shashin.registry.CAPTION_BACKENDS."""

from __future__ import annotations

from shashin.config import CaptionSettings
from shashin.models.vlm.base import CaptionBackend, GenerationParams
from shashin.registry import CAPTION_BACKENDS, load


def caption_backend(settings: CaptionSettings) -> CaptionBackend:
    """The backend a setting names (a registered one that runs a model; import is not one)."""
    entry = CAPTION_BACKENDS.get(settings.backend)
    if entry is None or entry.target is None:
        models = [name for name, known in CAPTION_BACKENDS.items() if known.target is not None]
        raise ValueError(
            f"no caption backend named {settings.backend!r} that writes captions (use {' or '.join(models)})"
        )
    backend: CaptionBackend = load(entry.target)(settings)
    return backend


__all__ = ["CaptionBackend", "GenerationParams", "caption_backend"]
