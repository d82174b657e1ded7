"""Captions with a vision-language model through transformers (Qwen2.5-VL and its family).

AutoModelForImageTextToText + the checkpoint's tokenizer, chat template and image processor;
batched generation with left padding; bf16 on GPUs; images bounded by max_pixels so memory is
predictable. Decode workers resize each photo exactly as Qwen's processor would (smart resize to
multiples of 28, bicubic), so the processor's own resize becomes a no-op.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from shashin.config import CaptionSettings
from shashin.models.base import ModelUnavailable
from shashin.models.hub import resolve_checkpoint
from shashin.models.vlm.base import CaptionBackend, GenerationParams

DEFAULT_SMALL = "Qwen/Qwen2.5-VL-3B-Instruct"
DEFAULT_LARGE = "Qwen/Qwen2.5-VL-7B-Instruct"
_QWEN_TYPES = {"qwen2_vl", "qwen2_5_vl"}
_FACTOR = 28  # Qwen2-VL: 14-pixel patches merged 2×2
_MIN_PIXELS = 56 * 56


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Qwen2-VL's resize rule: sides multiples of `factor`, area within [min_pixels, max_pixels]."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class VLImage:
    """A rendition: RGB uint8 pixels at the size the model's processor would resize to."""

    max_pixels: int
    min_pixels: int = _MIN_PIXELS
    factor: int = _FACTOR

    @property
    def draft_side(self) -> int:
        return int(math.sqrt(self.max_pixels))

    def render(self, image: Image.Image) -> np.ndarray:
        height, width = smart_resize(image.height, image.width, self.factor, self.min_pixels, self.max_pixels)
        if (width, height) != image.size:
            image = image.resize((width, height), Image.Resampling.BICUBIC)
        return np.asarray(image, dtype=np.uint8)


class TransformersVL(CaptionBackend):
    """A local vision-language model, batched."""

    name: ClassVar[str] = "transformers"

    def __init__(self, settings: CaptionSettings) -> None:
        self.settings = settings
        self.source = settings.model
        self._model: Any = None
        self._tokenizer: Any = None
        self._image_processor: Any = None
        self._processor: Any = None  # the checkpoint's processor, when it can be built here
        self._device = "cpu"
        self._chat_template: str | None = None
        self._image_token = "<|image_pad|>"

    def identity(self) -> str:
        if self.source == "auto":
            return "auto"  # resolved in load(); the captioning run records the real one
        local = Path(self.source).expanduser()
        return str(local.resolve()) if local.is_dir() else self.source

    def load(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import AutoImageProcessor, AutoModelForImageTextToText, AutoTokenizer
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:
            raise ModelUnavailable(f"torch and transformers are needed for captions ({exc})") from exc
        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        from shashin.models.image_text import pick_device

        self._device = pick_device(self.settings.device)
        if self.source == "auto":
            self.source = _default_model(torch, self._device)
        folder = resolve_checkpoint(self.source, what="caption model", flag="--model")
        try:
            dtype = _dtype(torch, self._device, self.settings.dtype)
            model = AutoModelForImageTextToText.from_pretrained(folder, dtype=dtype).to(self._device).eval()
            tokenizer = AutoTokenizer.from_pretrained(folder)
            image_processor = _pil(AutoImageProcessor, folder)
        except Exception as exc:
            raise ModelUnavailable(f"the caption model in {folder} could not be loaded: {type(exc).__name__}: {exc}") from exc
        model_type = getattr(model.config, "model_type", "")
        self._processor = _processor_if_buildable(folder)
        if self._processor is None and model_type not in _QWEN_TYPES:
            raise ModelUnavailable(f"{self.source}: its processor cannot be built here (is torchvision needed?)")
        token_id = getattr(model.config, "image_token_id", None)
        if token_id is not None:
            self._image_token = tokenizer.convert_ids_to_tokens(int(token_id))
        self._chat_template = tokenizer.chat_template or _saved_chat_template(Path(folder))
        if self._chat_template is None:
            raise ModelUnavailable(f"{folder} has no chat template; it is not an instruction-tuned model")
        self._model, self._tokenizer, self._image_processor = model, tokenizer, image_processor

    def rendition(self) -> VLImage:
        return VLImage(self.settings.max_pixels)

    def batch_size(self) -> int:
        if self.settings.batch_size:
            return self.settings.batch_size
        return 4 if self._device == "cpu" else 64

    def uses_accelerator(self) -> bool:
        return self._device != "cpu"

    def inputs(self, images: list[np.ndarray], prompt: str) -> dict[str, Any]:
        """Model inputs for a batch: the chat template, image tokens expanded, left padding."""
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        text = self._tokenizer.apply_chat_template(messages, chat_template=self._chat_template, add_generation_prompt=True, tokenize=False)
        pictures = [Image.fromarray(image) for image in images]
        if self._processor is not None:
            return dict(self._processor(text=[text] * len(images), images=pictures, padding=True, padding_side="left", return_tensors="pt"))
        # Qwen2-VL's processor without torchvision: the same steps, image processor + tokenizer.
        image_inputs = self._image_processor(images=pictures, return_tensors="pt")
        merge = getattr(self._image_processor, "merge_size", 2) ** 2
        texts = [
            text.replace(self._image_token, self._image_token * int(grid.prod() // merge), 1)
            for grid in image_inputs["image_grid_thw"]
        ]
        encoded = self._tokenizer(texts, padding=True, padding_side="left", return_tensors="pt")
        return {**dict(encoded), **dict(image_inputs)}

    def caption(self, inputs: list[Any], prompt: str, params: GenerationParams) -> list[str | Exception]:
        import torch

        batch = self.inputs([np.asarray(item, dtype=np.uint8) for item in inputs], prompt)
        batch = {key: value.to(self._device) for key, value in batch.items()}
        batch["pixel_values"] = batch["pixel_values"].to(self._model.dtype)
        options: dict[str, Any] = {"max_new_tokens": params.max_new_tokens, "do_sample": params.temperature > 0}
        if params.temperature > 0:
            options["temperature"] = params.temperature
        if params.repetition_penalty is not None:
            options["repetition_penalty"] = params.repetition_penalty
        try:
            with torch.inference_mode():
                generated = self._model.generate(**batch, **options)
        except Exception as exc:  # e.g. out of memory: every photo of this batch fails with the reason
            return [exc] * len(inputs)
        new_tokens = generated[:, batch["input_ids"].shape[1]:]
        return list(self._tokenizer.batch_decode(new_tokens, skip_special_tokens=True))


def _default_model(torch: Any, device: str) -> str:
    if device.startswith("cuda"):
        memory = torch.cuda.get_device_properties(torch.device(device)).total_memory
        return DEFAULT_LARGE if memory >= 24 * 2**30 else DEFAULT_SMALL
    return DEFAULT_SMALL


def _dtype(torch: Any, device: str, requested: str) -> Any:
    names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if requested != "auto":
        if requested not in names:
            raise ModelUnavailable(f"unknown captions.dtype {requested!r} (use auto, {', '.join(names)})")
        return names[requested]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def _pil(auto_class: Any, folder: str) -> Any:
    try:
        return auto_class.from_pretrained(folder, backend="pil")
    except TypeError:  # transformers 4.x
        return auto_class.from_pretrained(folder, use_fast=False)


def _processor_if_buildable(folder: str) -> Any:
    """The checkpoint's processor; None where it cannot be built (Qwen2-VL's needs torchvision)."""
    try:
        from transformers import AutoProcessor
        from transformers.processing_utils import ProcessorMixin

        processor = _pil(AutoProcessor, folder)
    except Exception:
        return None
    return processor if isinstance(processor, ProcessorMixin) else None


def _saved_chat_template(folder: Path) -> str | None:
    if (folder / "chat_template.jinja").is_file():
        return (folder / "chat_template.jinja").read_text(encoding="utf-8")
    if (folder / "chat_template.json").is_file():
        return json.loads((folder / "chat_template.json").read_text(encoding="utf-8")).get("chat_template")
    return None
