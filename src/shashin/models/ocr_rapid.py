"""OCR with rapidocr: PP-OCR detection + recognition (Japanese, Chinese, English) on onnxruntime."""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shashin.models.base import ModelUnavailable, loads_once
from shashin.threads import spinning_allowed

_ROLES = ("det", "cls", "rec")
# rapidocr scales an image's short side up to 30 px, then its detector scales it up to 736 px:
# a 600×1 strip became 441,600×736 and more than 18 GB. Images are padded (never stretched) to at
# most this aspect ratio and at least this side first: the detector's input stays within 736×2,944,
# no more memory than an everyday photo takes.
MAX_ASPECT = 4
MIN_SIDE = 32
_patch_lock = threading.Lock()
_spin = False  # what the wrapped option builder gives onnxruntime (see _session_options)


@dataclass(frozen=True)
class OcrLine:
    """One line of text read from a photo; box corners are fractions of the image size."""

    text: str
    confidence: float
    box: tuple[float, ...]  # x1, y1, x2, y2, x3, y3, x4, y4 (clockwise from top-left)


class RapidOcr:
    """PP-OCR through rapidocr; bundled models by default, or det/cls/rec .onnx files from a folder."""

    def __init__(
        self, *, model_dir: str = "", max_side: int = 2000, min_confidence: float = 0.5, spin: bool | None = None
    ) -> None:
        self.model_dir = model_dir
        self.spin = spinning_allowed() if spin is None else spin  # onnxruntime's idle threads busy-wait
        self.max_side = max_side
        self.min_confidence = min_confidence
        self._engine: Any = None

    @functools.cached_property
    def _identity(self) -> str:
        try:
            from importlib.metadata import version

            library = f"rapidocr {version('rapidocr')}"
        except Exception:
            library = "rapidocr (version unknown)"
        models = self._model_identity()
        return f"{library}; {models}; min_confidence={self.min_confidence}; max_side={self.max_side}"

    def identity(self) -> str:
        """Everything that determines the output: library version, models and thresholds."""
        return self._identity

    @loads_once
    def load(self) -> None:
        """Load the models now (rapidocr loads lazily) so a failure is reported before any work."""
        if self._engine is not None:
            return
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise ModelUnavailable(
                f"rapidocr is not installed ({exc}); install it with: pip install rapidocr==3.10.0 onnxruntime"
            ) from exc
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.text_score": self.min_confidence,
            "Global.max_side_len": self.max_side,
        }
        for role, path in self._custom_models().items():
            params[f"{role.capitalize()}.model_path"] = str(path)
        try:
            _session_options(spin=self.spin)
            engine = RapidOCR(params=params)
            engine(np.full((64, 64, 3), 255, dtype=np.uint8))  # forces the lazy model load
        except Exception as exc:
            raise ModelUnavailable(f"the OCR models could not be loaded: {exc}") from exc
        self._engine = engine

    def read(self, pixels: np.ndarray) -> list[OcrLine]:
        """Text lines in an RGB image, in reading order as detected."""
        if self._engine is None:
            self.load()
        height, width = pixels.shape[:2]
        if not height or not width:
            return []
        bgr = bounded_shape(np.ascontiguousarray(pixels[..., ::-1]))  # rapidocr takes arrays as OpenCV BGR
        result = self._engine(bgr)
        texts = result.txts or ()
        scores = result.scores or ()
        boxes = result.boxes if result.boxes is not None else ()
        lines: list[OcrLine] = []
        for raw, score, box in zip(texts, scores, boxes):
            text = str(raw).strip()
            if not text or float(score) < self.min_confidence:
                continue
            corners = np.asarray(box, dtype=np.float64).reshape(4, 2) / (width, height)
            lines.append(
                OcrLine(text, round(float(score), 4), tuple(round(float(v), 5) for v in corners.clip(0, 1).ravel()))
            )
        return lines

    def _custom_models(self) -> dict[str, Path]:
        if not self.model_dir:
            return {}
        folder = Path(self.model_dir).expanduser()
        if not folder.is_dir():
            raise ModelUnavailable(
                f"OCR model folder {folder} does not exist; set ocr.model_dir to a folder holding "
                "*det*.onnx and *rec*.onnx files, or leave it empty for rapidocr's bundled models"
            )
        found: dict[str, Path] = {}
        for role in _ROLES:
            matches = sorted(folder.glob(f"*{role}*.onnx"))
            if matches:
                found[role] = matches[0]
        missing = [role for role in ("det", "rec") if role not in found]
        if missing:
            raise ModelUnavailable(
                f"OCR model folder {folder} has no {' or '.join(f'*{m}*.onnx' for m in missing)} file"
            )
        return found

    def _model_identity(self) -> str:
        if not self.model_dir:
            return "bundled models " + _bundled_models()
        try:
            models = self._custom_models()
        except ModelUnavailable:
            return f"models from {self.model_dir} (missing)"
        digest = hashlib.blake2b(digest_size=8)
        for role in sorted(models):
            digest.update(models[role].read_bytes())
        return "models " + ",".join(p.name for p in models.values()) + f" ({digest.hexdigest()})"


def bounded_shape(pixels: np.ndarray) -> np.ndarray:
    """`pixels` padded with white on the right or bottom to at most MAX_ASPECT and at least
    MIN_SIDE, so text keeps its size and place and OCR's memory stays bounded whatever the shape."""
    height, width = pixels.shape[:2]
    target_height = max(height, MIN_SIDE, -(-width // MAX_ASPECT))
    target_width = max(width, MIN_SIDE, -(-height // MAX_ASPECT))
    if (target_height, target_width) == (height, width):
        return pixels
    padded = np.full((target_height, target_width, *pixels.shape[2:]), 255, dtype=pixels.dtype)
    padded[:height, :width] = pixels
    return padded


def _bundled_models() -> str:
    # Read rapidocr's default config without importing it (cv2 + onnxruntime cost ~0.5 s).
    import importlib.util

    import yaml

    spec = importlib.util.find_spec("rapidocr")
    if spec is None or spec.origin is None:
        return "(rapidocr not installed)"
    config = yaml.safe_load((Path(spec.origin).parent / "config.yaml").read_text(encoding="utf-8"))
    parts = []
    for role in ("Det", "Cls", "Rec"):
        section = config.get(role, {})
        parts.append(
            f"{role.lower()}={section.get('ocr_version')}-{section.get('model_type')}-{section.get('lang_type')}"
        )
    return " ".join(parts)


def _session_options(*, spin: bool) -> None:
    """Have rapidocr's onnxruntime sessions made from now on in this process carry the options it
    does not expose: idle intra-op threads sleep instead of spinning (unless `spin`). rapidocr 3.10
    builds SessionOptions itself and makes the recognizer's session only when text is first found,
    so its option builder is wrapped for the process, not around one call."""
    global _spin
    with _patch_lock:
        _spin = spin
        sessions: Any = None
        try:
            from rapidocr.inference_engine.onnxruntime import main as engine

            sessions = getattr(engine, "OrtInferSession", None)
        except ImportError:
            pass
        original = vars(sessions).get("_init_sess_opts") if sessions is not None else None
        if not isinstance(original, staticmethod) or getattr(original.__func__, "_shashin", False):
            return  # another rapidocr keeps its own defaults (OCR still works), or already wrapped

        def with_spinning(cfg: dict[str, Any]) -> Any:
            options = original.__func__(cfg)
            options.add_session_config_entry("session.intra_op.allow_spinning", "1" if _spin else "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "1" if _spin else "0")
            return options

        with_spinning._shashin = True  # type: ignore[attr-defined]
        sessions._init_sess_opts = staticmethod(with_spinning)
