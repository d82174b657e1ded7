"""Channels: the separate reasons a photo can match. One file per channel; register it here."""

from __future__ import annotations

from collections.abc import Sequence

from shashin.channels.base import Channel, IndexedChannel
from shashin.channels.captions import CaptionChannel, CaptionVectorChannel
from shashin.channels.filename import FileChannel
from shashin.channels.image import ImageChannel
from shashin.channels.ocr import OcrChannel
from shashin.channels.phash import PerceptualHashChannel
from shashin.channels.place import PlaceChannel
from shashin.channels.tags import TagsChannel
from shashin.config import Settings

AnyChannel = Channel | IndexedChannel


def build_channels(settings: Settings) -> list[AnyChannel]:
    """Every channel of a library, in the order their results are listed."""
    from shashin.models.text_embed import text_embedder

    return [
        OcrChannel(settings.ocr),
        ImageChannel(settings.image),
        CaptionChannel(),
        CaptionVectorChannel(text_embedder(settings.captions.text_model)),
        TagsChannel(),
        FileChannel(),
        PlaceChannel(),
        PerceptualHashChannel(),
    ]


def indexed_channels(channels: Sequence[AnyChannel], enabled: Sequence[str] | None = None) -> list[IndexedChannel]:
    """The channels that do per-photo work at index time (those `enabled`, when given)."""
    return [c for c in channels if isinstance(c, IndexedChannel) and (enabled is None or c.name in enabled)]


def derived_channels(channels: Sequence[AnyChannel]) -> list[CaptionVectorChannel]:
    """The channels computed from stored outputs instead of pixels."""
    return [c for c in channels if isinstance(c, CaptionVectorChannel)]


def search_channels(channels: Sequence[AnyChannel]) -> list[Channel]:
    """The channels that rank photos for a query."""
    return [c for c in channels if isinstance(c, Channel)]
