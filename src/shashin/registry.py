"""The extension points, one registry each: channels, caption backends, image-text model families.

Adding one is one new module plus one line here. Entries name their implementation as
"module:attribute" so that reading a registry (config validation, `--help`, the Ray scheduler)
loads no model library; `load()` imports the implementation when it is used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


def load(target: str) -> Any:
    """The attribute a "module:attribute" string names, imported now."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class ChannelEntry:
    """A channel: `target` is its class; built with `Class.from_settings(settings)`.

    `indexed`: it does per-photo work at index time and can be chosen with `--channels`.
    """

    name: str
    target: str
    indexed: bool = False


@dataclass(frozen=True)
class CaptionBackendEntry:
    """A caption writer: `target` is its CaptionBackend class (None: captions come from files).

    `remote`: it calls a server, so a cluster shares a pool of servers instead of loading a model;
    `gpu`: it loads a model that wants a GPU (a cluster gives it one actor per GPU)."""

    name: str
    target: str | None
    summary: str
    remote: bool = False
    gpu: bool = False


@dataclass(frozen=True)
class ImageTextFamily:
    """How a family of two-tower image-text models reads text, as its model card prescribes.

    `lowercase` for every tokenizer, or for those whose class name starts with one of
    `lowercase_tokenizers`; `padding` and `text_length` (None: the text tower's own maximum)."""

    model_type: str
    lowercase: bool = False
    lowercase_tokenizers: tuple[str, ...] = ()
    padding: bool | str = True
    text_length: int | None = None


def _by_name(*entries: Any) -> dict[str, Any]:
    return {getattr(entry, "name", None) or entry.model_type: entry for entry in entries}


# Results list channels in this order.
CHANNELS: dict[str, ChannelEntry] = _by_name(
    ChannelEntry("ocr", "shashin.channels.ocr:OcrChannel", indexed=True),
    ChannelEntry("image", "shashin.channels.image:ImageChannel", indexed=True),
    ChannelEntry("caption", "shashin.channels.captions:CaptionChannel"),
    ChannelEntry("caption_vector", "shashin.channels.captions:CaptionVectorChannel"),
    ChannelEntry("tags", "shashin.channels.tags:TagsChannel"),
    ChannelEntry("labels", "shashin.channels.labels:LabelsChannel", indexed=True),
    ChannelEntry("people", "shashin.channels.people:PeopleChannel"),
    ChannelEntry("metadata", "shashin.channels.metadata:MetadataChannel"),
    ChannelEntry("file", "shashin.channels.filename:FileChannel"),
    ChannelEntry("place", "shashin.channels.place:PlaceChannel"),
    ChannelEntry("phash", "shashin.channels.phash:PerceptualHashChannel", indexed=True),
    ChannelEntry("faces", "shashin.channels.faces:FacesChannel", indexed=True),
)

CAPTION_BACKENDS: dict[str, CaptionBackendEntry] = _by_name(
    CaptionBackendEntry(
        "transformers",
        "shashin.models.vlm.transformers_vl:TransformersVL",
        "Qwen2.5-VL (or another transformers vision-language model) on this machine",
        gpu=True,
    ),
    CaptionBackendEntry(
        "openai",
        "shashin.models.vlm.openai_compat:OpenAICompatible",
        "any OpenAI-compatible server: vLLM, Ollama, llama.cpp, a hosted API",
        remote=True,
    ),
    CaptionBackendEntry("import", None, "captions from a JSONL/CSV file or the photos' own descriptions"),
)

# Two-tower families by transformers' model_type; a type not listed reads text as CLIP does.
IMAGE_TEXT_FAMILIES: dict[str, ImageTextFamily] = _by_name(
    # SigLIP2 (Gemma tokenizer) was trained on lower-cased text padded to 64; SigLIP (SentencePiece)
    # pads to 64 but keeps case, unless its tokenizer is SigLIP2's.
    ImageTextFamily("siglip", lowercase_tokenizers=("Gemma", "Siglip2"), padding="max_length", text_length=64),
    ImageTextFamily("siglip2", lowercase=True, padding="max_length", text_length=64),
    ImageTextFamily("clip"),
)


def indexed_channel_names() -> list[str]:
    """The channels `index` computes, in registry order (what `--channels` and `channels =` accept)."""
    return [entry.name for entry in CHANNELS.values() if entry.indexed]
