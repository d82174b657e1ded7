"""Image-text embedding models through transformers: SigLIP, SigLIP2 (FixRes and NaFlex) and CLIP.

Loaded by Hugging Face id or local folder with AutoModel + AutoProcessor, as a user would.
For throughput the checkpoint's own image processor runs in the decode workers for the
geometry only (resize, crop, patches; uint8 out, see ModelPixels), and rescaling and
normalization happen on the device, in the batch. Parity tests hold this equal to the
processor's own output.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from shashin.models.base import ModelUnavailable

DEFAULT_CPU_MODEL = "google/siglip2-base-patch16-256"
DEFAULT_GPU_MODEL = "google/siglip2-large-patch16-256"
# Bump when shashin's own pre- or post-processing changes: stored vectors are then recomputed.
PIPELINE_VERSION = 1
_DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken"]
_CONFIG_FILES = ("config.json", "preprocessor_config.json", "processor_config.json", "tokenizer_config.json")
_SIGLIP_TEXT_LENGTH = 64  # SigLIP/SigLIP2 were trained on texts padded to 64 tokens


def pick_device(requested: str = "auto") -> str:
    """The torch device to run on: `requested`, or the best one present when "auto"."""
    if requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def default_model(device: str) -> str:
    """The recommended checkpoint for a device: SigLIP2 large on a GPU, base on a CPU."""
    return DEFAULT_CPU_MODEL if device == "cpu" else DEFAULT_GPU_MODEL


# ---------------------------------------------------------------------------------- renditions

_WORKER_PROCESSORS: dict[str, Any] = {}
_WORKER_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelPixels:
    """A rendition: the checkpoint's image processor geometry only (resize, crop, patches), uint8.

    Runs in decode workers; the processor is loaded once per worker process from `folder`.
    """

    folder: str
    call_kwargs: tuple[tuple[str, Any], ...] = ()
    draft: int = 512

    @property
    def draft_side(self) -> int:
        return self.draft

    def render(self, image: Image.Image) -> dict[str, np.ndarray]:
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

            processor = _WORKER_PROCESSORS[folder] = AutoImageProcessor.from_pretrained(folder)
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

    def load(self) -> None:
        """Resolve the checkpoint (folder, cache, or download when online) and load it once."""
        if self._model is not None:
            return
        folder = self._resolve()
        try:
            import torch
            from transformers import AutoModel, AutoProcessor
            from transformers.processing_utils import ProcessorMixin
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:
            raise ModelUnavailable(f"torch and transformers are needed for image vectors ({exc})") from exc
        transformers_logging.set_verbosity_error()  # its warnings are for model authors, not our users
        transformers_logging.disable_progress_bar()
        try:
            processor = AutoProcessor.from_pretrained(folder)
            if not isinstance(processor, ProcessorMixin) or getattr(processor, "image_processor", None) is None:
                raise ModelUnavailable(f"{folder} has no image processor: is it an image-text model (SigLIP, CLIP)?")
            device = pick_device(self.requested_device)
            dtype = self._dtype(torch, device)
            model = AutoModel.from_pretrained(folder, dtype=dtype).to(device).eval()
        except ModelUnavailable:
            raise
        except Exception as exc:
            raise ModelUnavailable(f"the image model in {folder} could not be loaded: {type(exc).__name__}: {exc}") from exc
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
        self._naflex_patch = int(getattr(image_processor, "patch_size", 0) or 0) if "max_num_patches" in dict(self._pixel_kwargs) else 0

    def _resolve(self) -> str:
        local = Path(self.source).expanduser()
        if local.is_dir():
            if not (local / "config.json").is_file():
                raise ModelUnavailable(f"model folder {local} has no config.json; save a checkpoint there with save_pretrained()")
            return str(local)
        if self.source.startswith(("/", "./", "../", "~")) or self.source.count("/") > 1:  # a path, not "org/name"
            raise ModelUnavailable(f"model folder {local} does not exist; point image.model to a saved checkpoint folder")
        try:
            from huggingface_hub import snapshot_download
        except ImportError as exc:  # pragma: no cover - a dependency of transformers
            raise ModelUnavailable(f"huggingface_hub is missing ({exc})") from exc
        try:
            return snapshot_download(self.source, revision=self.revision, local_files_only=True, allow_patterns=_DOWNLOAD_PATTERNS)
        except Exception:
            pass  # not in the cache: download if we can
        reason = _offline_reason()
        if reason is None:
            try:
                return snapshot_download(self.source, revision=self.revision, allow_patterns=_DOWNLOAD_PATTERNS)
            except Exception as exc:
                reason = f"download failed: {type(exc).__name__}: {exc}"
        raise ModelUnavailable(
            f"the image model {self.source} is not on this machine and cannot be downloaded now ({reason}). "
            f"Download it once where there is network (`hf download {self.source}`, then copy "
            "~/.cache/huggingface here), or save it to a folder and set image.model to that folder "
            "(--image-model /path/to/folder)"
        )

    def _dtype(self, torch: Any, device: str) -> Any:
        names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
        if self.requested_dtype != "auto":
            if self.requested_dtype not in names:
                raise ModelUnavailable(f"unknown image.dtype {self.requested_dtype!r} (use auto, {', '.join(names)})")
            return names[self.requested_dtype]
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device == "mps" else torch.float32

    # ------------------------------------------------------------------ inputs

    def rendition(self) -> ModelPixels:
        """What decode workers must produce for this model (needs load())."""
        assert self.folder is not None, "load() first"
        return ModelPixels(str(self.folder), self._pixel_kwargs, self.draft_side())

    def draft_side(self) -> int:
        """Decode no smaller than twice the model's input, so resizing quality is kept."""
        image_processor = self._processor.image_processor
        side = 0
        for attribute in ("size", "crop_size"):
            size = getattr(image_processor, attribute, None) or {}
            size = size if isinstance(size, dict) else getattr(size, "__dict__", {})
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
        """Normalized vectors (N×D float32) for renditions made by ModelPixels."""
        import torch

        vectors: list[np.ndarray] = []
        for start in range(0, len(inputs), self.batch_size):
            chunk = inputs[start : start + self.batch_size]
            batch = {key: torch.from_numpy(np.stack([item[key] for item in chunk])) for key in chunk[0]}
            if self._device.startswith("cuda"):
                batch = {key: value.pin_memory() for key, value in batch.items()}
            batch = {key: value.to(self._device, non_blocking=True) for key, value in batch.items()}
            batch["pixel_values"] = self._normalize(batch)
            with torch.inference_mode():
                features = self._model.get_image_features(**batch).pooler_output
            vectors.append(_unit(features))
        return np.concatenate(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)

    def embed_images(self, images: list[Image.Image]) -> np.ndarray:
        """Normalized vectors for PIL images (RGB)."""
        return self.embed_prepared(self.prepare(images))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Normalized vectors (N×D float32) for texts, tokenized as the model card prescribes."""
        import torch

        assert self._text is not None, "load() first"
        rules = self._text
        texts = [text.lower() for text in texts] if rules.lowercase else list(texts)
        vectors: list[np.ndarray] = []
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
                features = self._model.get_text_features(**encoded).pooler_output
            vectors.append(_unit(features))
        return np.concatenate(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)

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


def _unit(features: Any) -> np.ndarray:
    array = features.detach().float().cpu().numpy()
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return (array / np.maximum(norms, 1e-12)).astype(np.float32)


def _text_rules(model: Any, processor: Any) -> _TextRules:
    """Text preprocessing per family, as the model cards prescribe."""
    model_type = getattr(model.config, "model_type", "")
    tokenizer_class = type(processor.tokenizer).__name__
    if model_type in ("siglip", "siglip2"):
        # SigLIP2 (Gemma tokenizer) was trained on lower-cased text; SigLIP (SentencePiece) was not.
        lowercase = model_type == "siglip2" or tokenizer_class.startswith(("Gemma", "Siglip2"))
        return _TextRules(lowercase, "max_length", _SIGLIP_TEXT_LENGTH)
    text_config = getattr(model.config, "text_config", None)
    return _TextRules(False, True, int(getattr(text_config, "max_position_embeddings", 77) or 77))


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


def _offline_reason() -> str | None:
    """Why the hub cannot be reached now, without waiting long; None when it might be."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    result: list[str | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, 443)
            result.append(None)
        except OSError as exc:
            result.append(f"cannot resolve {host}: {exc}")

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(3.0)  # a blocked resolver must not stall indexing for a minute
    if not result:
        return f"no answer from DNS for {host} within 3 s"
    return result[0]
