"""Caption writers (vision-language models): one module per provider behind base.CaptionBackend."""

from __future__ import annotations

from shashin.config import CaptionSettings
from shashin.models.vlm.base import CaptionBackend, GenerationParams


def caption_backend(settings: CaptionSettings) -> CaptionBackend:
    """The backend a setting names (transformers or openai; import is not a model)."""
    if settings.backend == "openai":
        from shashin.models.vlm.openai_compat import OpenAICompatible

        return OpenAICompatible(settings)
    if settings.backend == "transformers":
        from shashin.models.vlm.transformers_vl import TransformersVL

        return TransformersVL(settings)
    raise ValueError(f"no caption backend named {settings.backend!r} (use transformers or openai)")


__all__ = ["CaptionBackend", "GenerationParams", "caption_backend"]
