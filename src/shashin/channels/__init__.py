"""Channels: the separate reasons a photo can match. One file per channel; register it here."""

from __future__ import annotations

from shashin.channels.base import Channel, IndexedChannel
from shashin.channels.filename import FileChannel
from shashin.channels.ocr import OcrChannel
from shashin.config import Settings


def build_channels(settings: Settings) -> list[Channel]:
    """Every channel of a library, in the order their results are listed."""
    return [OcrChannel(settings.ocr), FileChannel()]


def indexed_channels(channels: list[Channel]) -> list[IndexedChannel]:
    """The channels that do per-photo work at index time."""
    return [channel for channel in channels if isinstance(channel, IndexedChannel)]
