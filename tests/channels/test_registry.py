"""Every registered extension is whole, and a new channel is one file plus one registry line."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from shashin import registry
from shashin.channels import build_channels, derived_channels, indexed_channels, search_channels
from shashin.channels.base import Channel, DerivedChannel, IndexedChannel
from shashin.config import ConfigError, Settings, load_settings
from shashin.library import Library
from shashin.models.vlm.base import CaptionBackend


@pytest.mark.parametrize("entry", list(registry.CHANNELS.values()), ids=lambda e: e.name)
def test_every_registered_channel_is_built_as_registered(entry: registry.ChannelEntry) -> None:
    cls = registry.load(entry.target)
    assert issubclass(cls, Channel | IndexedChannel | DerivedChannel)
    assert cls.name == entry.name and cls.description
    assert issubclass(cls, IndexedChannel) == entry.indexed
    channel = cls.from_settings(Settings())
    assert type(channel) is cls
    if isinstance(channel, IndexedChannel):
        assert channel.version()  # cheap, no model loaded
    if isinstance(channel, Channel):
        assert channel.fusion_weight is None or channel.fusion_weight >= 0


def test_channel_lists_follow_the_registry() -> None:
    channels = build_channels(Settings())
    assert [c.name for c in channels] == list(registry.CHANNELS)
    assert [c.name for c in indexed_channels(channels)] == registry.indexed_channel_names() == Settings().channels
    assert {c.name for c in search_channels(channels)} | {c.name for c in indexed_channels(channels)} >= set(
        registry.CHANNELS
    )
    assert all(isinstance(c, DerivedChannel) for c in derived_channels(channels))


@pytest.mark.parametrize("entry", list(registry.CAPTION_BACKENDS.values()), ids=lambda e: e.name)
def test_every_caption_backend_is_accepted_and_built(entry: registry.CaptionBackendEntry) -> None:
    settings = load_settings({"captions.backend": entry.name})
    assert settings.captions.backend == entry.name and entry.summary
    if entry.target is None:
        return
    cls = registry.load(entry.target)
    assert issubclass(cls, CaptionBackend) and cls.name == entry.name
    assert entry.remote != entry.gpu or not entry.remote  # a server backend never asks the cluster for a GPU


def test_an_unregistered_backend_or_channel_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="transformers or openai or import"):
        load_settings({"captions.backend": "nope"})
    with pytest.raises(ConfigError, match="known: ocr, image, labels, phash"):
        load_settings({"channels": ["nope"]})


@pytest.mark.parametrize("family", list(registry.IMAGE_TEXT_FAMILIES.values()), ids=lambda f: f.model_type)
def test_every_image_text_family_is_a_transformers_model_type(family: registry.ImageTextFamily) -> None:
    from transformers import AutoConfig

    assert AutoConfig.for_model(family.model_type).model_type == family.model_type
    assert family.padding in (True, "max_length") and (family.text_length or 1) > 0


def test_a_toy_channel_registered_in_one_line_is_indexed_searched_fused_and_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        registry.CHANNELS, "colour", registry.ChannelEntry("colour", "tests.channels.toy:ColourChannel", indexed=True)
    )
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, colour in {"a.png": (230, 30, 30), "b.png": (30, 40, 230), "c.png": (30, 190, 50)}.items():
        Image.new("RGB", (64, 48), colour).save(photos / name)
    library = Library(tmp_path / "db", settings=load_settings({"channels": ["colour"]}))

    report = library.index([photos])
    assert report.channels["colour"].processed == 3 and report.channels["colour"].failed == 0
    status = {c.name: c for c in library.status().channels}
    assert status["colour"].done == 3 and status["colour"].pending == 0

    response = library.search("blue")
    assert [Path(r.path).name for r in response.results][:1] == ["b.png"]
    top = response.results[0]
    assert "colour" in top.channels and top.channels["colour"].exact  # fused, with its placement
    assert any(h.channel == "colour" and h.text == "blue" for h in top.highlights)  # explained
    assert "colour" in response.to_dict()["results"][0]["channels"]
