"""Captions with a vision-language model through transformers (Qwen2.5-VL and its family).

AutoModelForImageTextToText + the checkpoint's tokenizer, chat template and image processor;
batched generation with left padding; bf16 on GPUs; images bounded by max_pixels so memory is
predictable. For Qwen2-VL models, decode workers resize each photo exactly as Qwen's processor
would (smart resize to multiples of 28, bicubic) and cut it into its patch layout in 8 bits; the
GPU rescales and normalizes. Tests hold this equal to the processor's own output.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from shashin.config import CaptionSettings
from shashin.models.base import ModelUnavailable, loads_once
from shashin.models.hub import resolve_checkpoint
from shashin.models.torch_runtime import (
    from_pretrained_pil,
    load_weights,
    pick_device,
    quiet_transformers,
    require_torch,
    torch_dtype,
)
from shashin.models.vlm.base import CaptionBackend, GenerationParams, prompt_each

DEFAULT_SMALL = "Qwen/Qwen2.5-VL-3B-Instruct"
DEFAULT_LARGE = "Qwen/Qwen2.5-VL-7B-Instruct"
_QWEN_TYPES = {"qwen2_vl", "qwen2_5_vl"}
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
    """A rendition: the photo resized as the model's processor would (smart resize, bicubic).

    With `patchify` (Qwen2-VL family) it is also cut into the processor's flat patch layout, still
    8-bit: the worker does all per-pixel work and the GPU only rescales and normalizes.
    """

    max_pixels: int
    min_pixels: int = _MIN_PIXELS
    patch_size: int = 14
    merge_size: int = 2
    temporal_patch_size: int = 2
    patchify: bool = True

    @property
    def draft_side(self) -> int:
        return int(math.sqrt(self.max_pixels))

    def render(self, image: Image.Image) -> Any:
        factor = self.patch_size * self.merge_size
        height, width = smart_resize(image.height, image.width, factor, self.min_pixels, self.max_pixels)
        if (width, height) != image.size:
            image = image.resize((width, height), Image.Resampling.BICUBIC)
        pixels = np.asarray(image, dtype=np.uint8)
        if not self.patchify:
            return pixels
        return {
            "patches": self._patches(pixels),
            "grid": np.array([1, height // self.patch_size, width // self.patch_size]),
        }

    def _patches(self, pixels: np.ndarray) -> np.ndarray:
        """Qwen2-VL's patchify on 8-bit pixels: (patches, channel × time × patch × patch)."""
        p, m, t = self.patch_size, self.merge_size, self.temporal_patch_size
        height, width = pixels.shape[:2]
        grid_h, grid_w = height // p, width // p
        image = pixels.transpose(2, 0, 1).reshape(3, grid_h // m, m, p, grid_w // m, m, p)
        image = image.transpose(1, 4, 2, 5, 0, 3, 6)  # (gh, gw, mh, mw, C, ph, pw)
        image = np.broadcast_to(image[:, :, :, :, :, None], (*image.shape[:5], t, p, p))
        return np.ascontiguousarray(image.reshape(grid_h * grid_w, 3 * t * p * p))


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
        self.generate_options: dict[str, Any] = {}  # extra generate() arguments (benchmarks: min_new_tokens)

    def identity(self) -> str:
        if self.source == "auto":
            return "auto"  # resolved in load(); the captioning run records the real one
        local = Path(self.source).expanduser()
        return str(local.resolve()) if local.is_dir() else self.source

    @loads_once
    def load(self) -> None:
        if self._model is not None:
            return
        require_torch("captions on this machine", "captions-local")
        try:
            import torch
            from transformers import AutoImageProcessor, AutoModelForImageTextToText, AutoTokenizer
        except ImportError as exc:
            raise ModelUnavailable(f"torch and transformers are needed for captions ({exc})") from exc
        quiet_transformers()
        self._device = pick_device(self.settings.device)
        if self.source == "auto":
            self.source = _default_model(torch, self._device)
        folder = resolve_checkpoint(self.source, what="caption model", flag="--model")
        try:
            dtype = torch_dtype(self.settings.dtype, self._device, setting="captions.dtype")
            model = load_weights(AutoModelForImageTextToText, folder, dtype, self._device)
            tokenizer = AutoTokenizer.from_pretrained(folder)
            image_processor = from_pretrained_pil(AutoImageProcessor, folder)
        except Exception as exc:
            raise ModelUnavailable(
                f"the caption model in {folder} could not be loaded: {type(exc).__name__}: {exc}"
            ) from exc
        model_type = getattr(model.config, "model_type", "")
        # Qwen2-VL models take our own (faster, tested-equal) input path; others their processor.
        self._processor = None if model_type in _QWEN_TYPES else _processor_if_buildable(folder)
        if self._processor is None and model_type not in _QWEN_TYPES:
            raise ModelUnavailable(f"{self.source}: its processor cannot be built here (is torchvision needed?)")
        token_id = getattr(model.config, "image_token_id", None)
        if token_id is not None:
            self._image_token = str(tokenizer.convert_ids_to_tokens(int(token_id)))
        self._chat_template = tokenizer.chat_template or _saved_chat_template(Path(folder))
        if self._chat_template is None:
            raise ModelUnavailable(f"{folder} has no chat template; it is not an instruction-tuned model")
        if model_type == "qwen2_5_vl":
            use_batched_vision_attention(model)
        self._model, self._tokenizer, self._image_processor = model, tokenizer, image_processor

    def rendition(self) -> VLImage:
        processor = self._image_processor
        return VLImage(
            self.settings.max_pixels,
            patch_size=int(getattr(processor, "patch_size", 14) or 14),
            merge_size=int(getattr(processor, "merge_size", 2) or 2),
            temporal_patch_size=int(getattr(processor, "temporal_patch_size", 2) or 2),
            patchify=self._processor is None,  # the Qwen2-VL path; other models get their processor
        )

    def batch_size(self) -> int:
        if self.settings.batch_size:
            return self.settings.batch_size
        return 4 if self._device == "cpu" else 64

    def uses_accelerator(self) -> bool:
        return self._device != "cpu"

    def inputs(self, renditions: list[Any], prompt: str | Sequence[str]) -> dict[str, Any]:
        """Model inputs on the device for a batch: chat template (a prompt for all, or one each),
        image tokens expanded, left padding."""
        import torch

        texts = [
            self._tokenizer.apply_chat_template(
                [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": asked}]}],
                chat_template=self._chat_template,
                add_generation_prompt=True,
                tokenize=False,
            )
            for asked in prompt_each(prompt, len(renditions))
        ]
        if self._processor is not None:
            pictures = [Image.fromarray(np.asarray(r, dtype=np.uint8)) for r in renditions]
            batch = dict(
                self._processor(
                    text=texts,
                    images=pictures,
                    padding=True,
                    padding_side="left",
                    return_tensors="pt",
                )
            )
            batch = {key: value.to(self._device) for key, value in batch.items()}
            batch["pixel_values"] = batch["pixel_values"].to(self._model.dtype)
            return batch
        # Qwen2-VL without its processor (it needs torchvision): the same steps, checked equal by the tests.
        grids = torch.from_numpy(np.stack([r["grid"] for r in renditions]))
        merge = getattr(self._image_processor, "merge_size", 2) ** 2
        texts = [
            text.replace(self._image_token, self._image_token * int(grid.prod() // merge), 1)
            for text, grid in zip(texts, grids, strict=True)
        ]
        encoded = self._tokenizer(texts, padding=True, padding_side="left", return_tensors="pt")
        patches = torch.from_numpy(np.concatenate([r["patches"] for r in renditions]))
        if self._device.startswith("cuda"):
            patches = patches.pin_memory()
        return {
            **{key: value.to(self._device) for key, value in encoded.items()},
            "pixel_values": self._normalize(patches.to(self._device, non_blocking=True)),
            "image_grid_thw": grids.to(self._device),
        }

    def _normalize(self, patches: Any) -> Any:
        import torch

        processor = self._image_processor
        mean = torch.tensor(processor.image_mean, dtype=torch.float32, device=patches.device)
        std = torch.tensor(processor.image_std, dtype=torch.float32, device=patches.device)
        values = patches.float().reshape(patches.shape[0], 3, -1) * float(processor.rescale_factor)
        values = (values - mean[None, :, None]) / std[None, :, None]
        return values.reshape(patches.shape[0], -1).to(self._model.dtype)

    def caption(
        self, inputs: list[Any], prompt: str | Sequence[str], params: GenerationParams
    ) -> list[str | Exception]:
        import torch

        options: dict[str, Any] = {"max_new_tokens": params.max_new_tokens, "do_sample": params.temperature > 0}
        if params.temperature > 0:
            options["temperature"] = params.temperature
        if params.repetition_penalty is not None:
            options["repetition_penalty"] = params.repetition_penalty
        try:
            batch = self.inputs(inputs, prompt)
            with torch.inference_mode():
                generated = self._model.generate(**batch, **options, **self.generate_options)
        except Exception as exc:  # e.g. out of memory: every photo of this batch fails with the reason
            return [exc] * len(inputs)
        new_tokens = generated[:, batch["input_ids"].shape[1] :]
        return list(self._tokenizer.batch_decode(new_tokens, skip_special_tokens=True))


_VARLEN = "shashin_flash_like_varlen_sdpa"  # "flash" in the name: the vision tower passes cu_seqlens


def use_batched_vision_attention(model: Any) -> bool:
    """Run Qwen2.5-VL's vision attention as a few batched SDPA calls instead of one per window.

    Without flash-attn, transformers loops over every attention window of every image (about 40
    per photo, in each of 32 layers): thousands of tiny kernels per batch. Windows mostly share a
    length, so grouping them by length gives the same result with a handful of calls. Skipped when
    real flash attention is in use. Returns True when applied.
    """
    from transformers import AttentionInterface
    from transformers.utils.generic import is_flash_attention_requested

    vision_config = getattr(model.config, "vision_config", None)
    if vision_config is None or is_flash_attention_requested(vision_config):
        return False
    AttentionInterface.register(_VARLEN, _varlen_sdpa)
    vision_config._attn_implementation = _VARLEN
    return True


def _varlen_sdpa(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any = None,
    scaling: float | None = None,
    dropout: float = 0.0,
    cu_seq_lens_q: Any = None,
    is_causal: bool = False,
    **_: Any,
) -> tuple[Any, None]:
    """Attention within each [cu[i], cu[i+1]) block of a packed (1, heads, tokens, dim) sequence."""
    import torch
    import torch.nn.functional as F

    boundaries = cu_seq_lens_q.to(torch.long)
    starts, lengths = boundaries[:-1], boundaries[1:] - boundaries[:-1]
    output = torch.empty_like(query)
    for length in torch.unique(lengths).tolist():
        chosen = starts[lengths == length]
        index = (chosen[:, None] + torch.arange(length, device=query.device)[None, :]).reshape(-1)

        def gather(tensor: Any) -> Any:
            return tensor[0, :, index].reshape(tensor.shape[1], len(chosen), length, -1).transpose(0, 1)  # noqa: B023

        attended = F.scaled_dot_product_attention(
            gather(query), gather(key), gather(value), dropout_p=dropout, scale=scaling, is_causal=is_causal
        )
        output[0, :, index] = attended.transpose(0, 1).reshape(query.shape[1], len(chosen) * length, -1)
    return output.transpose(1, 2).contiguous(), None


def _default_model(torch: Any, device: str) -> str:
    if device.startswith("cuda"):
        memory = torch.cuda.get_device_properties(torch.device(device)).total_memory
        return DEFAULT_LARGE if memory >= 24 * 2**30 else DEFAULT_SMALL
    return DEFAULT_SMALL


def _processor_if_buildable(folder: str) -> Any:
    """The checkpoint's processor; None where it cannot be built (Qwen2-VL's needs torchvision)."""
    try:
        from transformers import AutoProcessor
        from transformers.processing_utils import ProcessorMixin

        processor = from_pretrained_pil(AutoProcessor, folder)
    except Exception:
        return None
    return processor if isinstance(processor, ProcessorMixin) else None


def _saved_chat_template(folder: Path) -> str | None:
    if (folder / "chat_template.jinja").is_file():
        return (folder / "chat_template.jinja").read_text(encoding="utf-8")
    if (folder / "chat_template.json").is_file():
        return json.loads((folder / "chat_template.json").read_text(encoding="utf-8")).get("chat_template")
    return None
