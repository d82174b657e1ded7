"""Image-text embedding models through transformers: SigLIP, SigLIP2 (FixRes and NaFlex) and CLIP.

Loaded by Hugging Face id or local folder with AutoModel + AutoProcessor, as a user would.
For throughput the checkpoint's own image processor runs in the decode workers for the
geometry only (resize, crop, patches; uint8 out, see ModelPixels), and rescaling and
normalization happen on the device, in the batch. Parity tests hold this equal to the
processor's own output. Processors always use their PIL backend, so the vectors of a photo do
not depend on whether torchvision happens to be installed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

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
from shashin.registry import IMAGE_TEXT_FAMILIES

DEFAULT_CPU_MODEL = "google/siglip2-base-patch16-256"
DEFAULT_GPU_MODEL = "google/siglip2-large-patch16-256"
# Bump when shashin's own pre- or post-processing changes: stored vectors are then recomputed.
PIPELINE_VERSION = 1
_CONFIG_FILES = ("config.json", "preprocessor_config.json", "processor_config.json", "tokenizer_config.json")


def default_model(device: str) -> str:
    """The recommended checkpoint for a device: SigLIP2 large on a GPU, base on a CPU."""
    return DEFAULT_CPU_MODEL if device == "cpu" else DEFAULT_GPU_MODEL


# ---------------------------------------------------------------------------------- renditions

_WORKER_PROCESSORS: dict[str, Any] = {}
_WORKER_LOCK = threading.Lock()


@dataclass(frozen=True)
class FixedGeometry:
    """A processor's geometry when it is a plain resize (SigLIP) or shortest-edge resize + centre
    crop (CLIP): done with PIL directly, as the processor's PIL backend does, at a third of its cost."""

    resample: int
    size: tuple[int, int] | None = None  # (width, height): resize to exactly this
    shortest_edge: int = 0  # or: resize the shortest edge to this, keeping the aspect ...
    crop: tuple[int, int] | None = None  # ... then centre-crop to (width, height)

    def apply(self, image: Image.Image) -> np.ndarray:
        if self.size is not None:
            image = image.resize(self.size, resample=self.resample)
        else:
            width, height = image.size
            short, long = (width, height) if width <= height else (height, width)
            new_long = int(self.shortest_edge * long / short)
            target = (self.shortest_edge, new_long) if width <= height else (new_long, self.shortest_edge)
            if target != image.size:
                image = image.resize(target, resample=self.resample)
        pixels = np.asarray(image, dtype=np.uint8)
        if self.crop is not None:
            crop_width, crop_height = self.crop
            height, width = pixels.shape[:2]
            if crop_width > width or crop_height > height:
                raise ValueError("image smaller than the crop")  # the generic path pads; keep it exact
            top, left = (height - crop_height) // 2, (width - crop_width) // 2
            pixels = pixels[top : top + crop_height, left : left + crop_width]
        return np.ascontiguousarray(pixels.transpose(2, 0, 1))  # channels first, as processors return


@dataclass(frozen=True)
class ModelPixels:
    """A rendition: the checkpoint's image processor geometry only (resize, crop, patches), uint8.

    Runs in decode workers: with PIL directly when the geometry is a plain resize or resize + crop,
    otherwise with the checkpoint's own processor, loaded once per worker process from `folder`.
    """

    folder: str
    call_kwargs: tuple[tuple[str, Any], ...] = ()
    draft: int = 512
    geometry: FixedGeometry | None = None

    @property
    def draft_side(self) -> int:
        return self.draft

    def render(self, image: Image.Image) -> dict[str, np.ndarray]:
        if self.geometry is not None:
            try:
                return {"pixel_values": self.geometry.apply(image)}
            except ValueError:
                pass  # an edge case the plain geometry does not cover: ask the processor
        processor = _worker_processor(self.folder)
        features = processor(
            images=image, do_rescale=False, do_normalize=False, return_tensors="np", **dict(self.call_kwargs)
        )
        result: dict[str, np.ndarray] = {}
        for key, value in features.items():
            array = np.asarray(value)[0]
            if key == "pixel_values":
                array = np.clip(np.rint(array), 0, 255).astype(np.uint8)  # resized 8-bit pixels: exact
            result[key] = array
        return result


def _worker_processor(folder: str) -> Any:
    with _WORKER_LOCK:
        processor = _WORKER_PROCESSORS.get(folder)
        if processor is None:
            from transformers import AutoImageProcessor

            processor = _WORKER_PROCESSORS[folder] = from_pretrained_pil(AutoImageProcessor, folder)
        return processor


# ---------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class _TextRules:
    lowercase: bool
    padding: str | bool
    max_length: int


class ImageTextModel:
    """One image-text checkpoint: embeds photos and texts into one space (L2-normalized, cosine)."""

    def __init__(
        self,
        source: str,
        *,
        revision: str = "main",
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 0,
    ) -> None:
        self.source = source
        self.revision = revision
        self.requested_device = device
        self.requested_dtype = dtype
        self.requested_batch_size = batch_size
        self.folder: Path | None = None
        self._model: Any = None
        self._processor: Any = None
        self._device: str = "cpu"
        self._torch_dtype: Any = None
        self._text: _TextRules | None = None
        self._pixel_kwargs: tuple[tuple[str, Any], ...] = ()
        self._norm: tuple[Any, Any, float] | None = None
        self._naflex_patch = 0
        self._geometry: FixedGeometry | None = None

    # ------------------------------------------------------------------ identity and loading

    def identity(self) -> str:
        """What determines the vectors: the checkpoint (id@revision or folder fingerprint) and pipeline."""
        local = Path(self.source).expanduser()
        if local.is_dir():
            ref = f"{local.resolve()} ({_folder_fingerprint(local)})"
        else:
            ref = f"{self.source}@{self.revision}"
        return f"{ref}; shashin image pipeline {PIPELINE_VERSION}"

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def device(self) -> str:
        return self._device

    @property
    def batch_size(self) -> int:
        if self.requested_batch_size:
            return self.requested_batch_size
        return 32 if self._device == "cpu" else 256

    @loads_once
    def load(self) -> None:
        """Resolve the checkpoint (folder, cache, or download when online) and load it once."""
        if self._model is not None:
            return
        require_torch("image vectors")
        folder = self._resolve()
        try:
            import torch
            from transformers import AutoModel, AutoProcessor
            from transformers.processing_utils import ProcessorMixin
        except ImportError as exc:
            raise ModelUnavailable(f"torch and transformers are needed for image vectors ({exc})") from exc
        quiet_transformers()
        try:
            processor = from_pretrained_pil(AutoProcessor, folder)
            if not isinstance(processor, ProcessorMixin) or getattr(processor, "image_processor", None) is None:
                raise ModelUnavailable(f"{folder} has no image processor: is it an image-text model (SigLIP, CLIP)?")
            device = pick_device(self.requested_device)
            dtype = torch_dtype(self.requested_dtype, device, setting="image.dtype", cpu_bf16=True, mps_half=True)
            model = load_weights(AutoModel, folder, dtype, device)
        except ModelUnavailable:
            raise
        except Exception as exc:
            raise ModelUnavailable(
                f"the image model in {folder} could not be loaded: {type(exc).__name__}: {exc}"
            ) from exc
        if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
            raise ModelUnavailable(f"{self.source} ({type(model).__name__}) is not an image-text model with two towers")
        self.folder, self._model, self._processor = Path(folder), model, processor
        self._device, self._torch_dtype = device, dtype
        self._text = _text_rules(model, processor)
        self._pixel_kwargs = _pixel_call_kwargs(Path(folder), processor)
        image_processor = processor.image_processor
        mean = torch.tensor(image_processor.image_mean, dtype=torch.float32, device=device)
        std = torch.tensor(image_processor.image_std, dtype=torch.float32, device=device)
        self._norm = (mean, std, float(image_processor.rescale_factor))
        self._naflex_patch = (
            int(getattr(image_processor, "patch_size", 0) or 0) if "max_num_patches" in dict(self._pixel_kwargs) else 0
        )
        self._geometry = _checked_geometry(str(folder), image_processor, self._pixel_kwargs)

    def _resolve(self) -> str:
        return resolve_checkpoint(self.source, revision=self.revision, what="image model", flag="--image-model")

    # ------------------------------------------------------------------ inputs

    def rendition(self) -> ModelPixels:
        """What decode workers must produce for this model (needs load())."""
        assert self.folder is not None, "load() first"
        return ModelPixels(str(self.folder), self._pixel_kwargs, self.draft_side(), self._geometry)

    def draft_side(self) -> int:
        """Decode no smaller than twice the model's input, so resizing quality is kept."""
        image_processor = self._processor.image_processor
        side = 0
        for attribute in ("size", "crop_size"):
            size = _as_dict(getattr(image_processor, attribute, None))
            side = max([side, *(int(v) for v in size.values() if isinstance(v, (int, float)) and v)])
        if self._naflex_patch:
            side = max(side, int(self._naflex_patch * dict(self._pixel_kwargs)["max_num_patches"] ** 0.5))
        return 2 * (side or 256)

    def prepare(self, images: list[Image.Image]) -> list[dict[str, np.ndarray]]:
        """Renditions made in this process (for query photos and tests)."""
        rendition = self.rendition()
        return [rendition.render(image) for image in images]

    # ------------------------------------------------------------------ embeddings

    def embed_prepared(self, inputs: list[dict[str, np.ndarray]]) -> np.ndarray:
        """Normalized vectors (N×D float32) for renditions made by ModelPixels.

        Batches are queued on the device one after the other and read back once at the end, so
        on a GPU the next batch is assembled while the previous one runs.
        """
        import torch

        pending: list[Any] = []
        for start in range(0, len(inputs), self.batch_size):
            chunk = inputs[start : start + self.batch_size]
            batch = {key: torch.from_numpy(np.stack([item[key] for item in chunk])) for key in chunk[0]}
            if self._device.startswith("cuda"):
                batch = {key: value.pin_memory() for key, value in batch.items()}
            batch = {key: value.to(self._device, non_blocking=True) for key, value in batch.items()}
            batch["pixel_values"] = self._normalize(batch)
            with torch.inference_mode():
                pending.append(_unit_rows(_pooled(self._model.get_image_features(**batch))))
        return _to_numpy(pending)

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        """Normalized vectors for PIL images (RGB)."""
        return self.embed_prepared(self.prepare(images))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Normalized vectors (N×D float32) for texts, tokenized as the model card prescribes."""
        import torch

        assert self._text is not None, "load() first"
        rules = self._text
        texts = [text.lower() for text in texts] if rules.lowercase else list(texts)
        vectors: list[Any] = []
        for start in range(0, len(texts), self.batch_size):
            encoded = self._processor.tokenizer(
                texts[start : start + self.batch_size],
                padding=rules.padding,
                max_length=rules.max_length,
                truncation=True,
                return_tensors="pt",
            )
            encoded = {key: value.to(self._device) for key, value in encoded.items() if key != "token_type_ids"}
            with torch.inference_mode():
                vectors.append(_unit_rows(_pooled(self._model.get_text_features(**encoded))))
        return _to_numpy(vectors)

    def probabilities(self, similarities: np.ndarray) -> np.ndarray:
        """Image-text match probabilities from cosine similarities (images × texts).

        SigLIP scores each pair on its own (sigmoid); CLIP shares probability among the texts (softmax).
        """
        scale = float(self._model.logit_scale.detach().float().exp().cpu())
        bias = getattr(self._model, "logit_bias", None)
        logits = similarities * scale
        if bias is not None:
            return 1.0 / (1.0 + np.exp(-(logits + float(bias.detach().float().cpu()))))
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=1, keepdims=True)

    def _normalize(self, batch: dict[str, Any]) -> Any:
        assert self._norm is not None
        mean, std, rescale = self._norm
        pixels = batch["pixel_values"].float() * rescale
        if self._naflex_patch:
            # Patches are (patch, patch, channel) flattened: normalize along the channel, then zero
            # the padding, as the processor pads after normalizing.
            shape = pixels.shape
            pixels = ((pixels.reshape(*shape[:-1], -1, mean.numel()) - mean) / std).reshape(shape)
            pixels = pixels * batch["pixel_attention_mask"].unsqueeze(-1).to(pixels.dtype)
        else:
            pixels = (pixels - mean[:, None, None]) / std[:, None, None]
        return pixels.to(self._torch_dtype)


def _pooled(output: Any) -> Any:
    # transformers 5 returns a model output whose pooler_output is the embedding; 4.x a tensor.
    return getattr(output, "pooler_output", output)


def _unit_rows(features: Any) -> Any:
    """Rows scaled to unit length, in float32, still on the device."""
    features = features.float()
    return features / features.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _to_numpy(batches: list[Any]) -> np.ndarray:
    if not batches:
        return np.zeros((0, 0), dtype=np.float32)
    import torch

    return torch.cat(batches).cpu().numpy()


def _text_rules(model: Any, processor: Any) -> _TextRules:
    """Text preprocessing per family, as the model cards prescribe."""
    model_type = getattr(model.config, "model_type", "")
    family = IMAGE_TEXT_FAMILIES.get(model_type, IMAGE_TEXT_FAMILIES["clip"])
    tokenizer_class = type(processor.tokenizer).__name__
    lowercase = family.lowercase or bool(
        family.lowercase_tokenizers and tokenizer_class.startswith(family.lowercase_tokenizers)
    )
    length = family.text_length
    if length is None:
        text_config = getattr(model.config, "text_config", None)
        length = int(getattr(text_config, "max_position_embeddings", 77) or 77)
    return _TextRules(lowercase, family.padding, length)


def _fixed_geometry(image_processor: Any) -> FixedGeometry | None:
    """The processor's geometry as a FixedGeometry, when it is one of the plain kinds."""
    if hasattr(image_processor, "max_num_patches") or not getattr(image_processor, "do_resize", False):
        return None
    if getattr(image_processor, "do_pad", False) or getattr(image_processor, "do_convert_rgb", True) is False:
        return None
    name = type(image_processor).__name__
    size = _as_dict(getattr(image_processor, "size", None))
    resample = int(getattr(image_processor, "resample", 3))
    crop = (
        _as_dict(getattr(image_processor, "crop_size", None))
        if getattr(image_processor, "do_center_crop", False)
        else {}
    )
    if name.startswith("SiglipImageProcessor") and {"height", "width"} <= size.keys() and not crop:
        return FixedGeometry(resample, size=(int(size["width"]), int(size["height"])))
    if name.startswith("CLIPImageProcessor") and "shortest_edge" in size and {"height", "width"} <= crop.keys():
        return FixedGeometry(
            resample, shortest_edge=int(size["shortest_edge"]), crop=(int(crop["width"]), int(crop["height"]))
        )
    return None


def _checked_geometry(
    folder: str, image_processor: Any, call_kwargs: tuple[tuple[str, Any], ...]
) -> FixedGeometry | None:
    """The plain geometry, only if it gives exactly what the processor gives on probe images."""
    geometry = _fixed_geometry(image_processor)
    if geometry is None:
        return None
    generic = ModelPixels(folder, call_kwargs)
    _WORKER_PROCESSORS.setdefault(folder, image_processor)
    rng = np.random.default_rng(0)
    for width, height in ((123, 77), (64, 300), (500, 500)):
        probe = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        expected = generic.render(probe)["pixel_values"]
        try:
            if not np.array_equal(geometry.apply(probe), expected):
                return None
        except ValueError:
            return None
    return geometry


def _as_dict(size: Any) -> dict[str, Any]:
    if size is None:
        return {}
    if isinstance(size, dict):
        return {k: v for k, v in size.items() if v is not None}
    return {k: v for k, v in vars(size).items() if v is not None}


def _pixel_call_kwargs(folder: Path, processor: Any) -> tuple[tuple[str, Any], ...]:
    """Processor arguments to pass at call time because the processor ignores the saved value."""
    if not hasattr(processor.image_processor, "max_num_patches"):
        return ()
    saved: dict[str, Any] = {}
    for name in ("preprocessor_config.json", "processor_config.json"):
        path = folder / name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            saved.update(data.get("image_processor", data))
    return (("max_num_patches", int(saved.get("max_num_patches", processor.image_processor.max_num_patches))),)


def _folder_fingerprint(folder: Path) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for name in _CONFIG_FILES:
        path = folder / name
        if path.is_file():
            digest.update(path.read_bytes())
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()
