"""Channels: the separate reasons a photo can match. One file per channel, one line in
shashin.registry.CHANNELS; everything else (indexing, search, fusion, explanations) reads the registry."""

from __future__ import annotations

from collections.abc import Sequence

from shashin.channels.base import Channel, DerivedChannel, IndexedChannel
from shashin.config import Settings
from shashin.registry import CHANNELS, load

AnyChannel = Channel | IndexedChannel | DerivedChannel


def build_channels(settings: Settings) -> list[AnyChannel]:
    """Every registered channel of a library, in registry order (the order results list them)."""
    channels: list[AnyChannel] = []
    for entry in CHANNELS.values():
        channel = load(entry.target).from_settings(settings)
        if channel.name != entry.name or isinstance(channel, IndexedChannel) != entry.indexed:
            raise TypeError(f"registry entry {entry} does not describe {type(channel).__name__}")
        channels.append(channel)
    return channels


def indexed_channels(channels: Sequence[AnyChannel], enabled: Sequence[str] | None = None) -> list[IndexedChannel]:
    """The channels that do per-photo work at index time (those `enabled`, when given)."""
    return [c for c in channels if isinstance(c, IndexedChannel) and (enabled is None or c.name in enabled)]


def derived_channels(channels: Sequence[AnyChannel]) -> list[DerivedChannel]:
    """The channels computed from stored outputs instead of pixels."""
    return [c for c in channels if isinstance(c, DerivedChannel)]


def search_channels(channels: Sequence[AnyChannel]) -> list[Channel]:
    """The channels that rank photos for a query."""
    return [c for c in channels if isinstance(c, Channel)]
