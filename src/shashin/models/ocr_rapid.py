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
# Second reads: a region the detector marks as text but recognition reads badly (small, slanted,
# faint words: CAUTION on a far sign) is cut out with a margin, enlarged so its text stands
# READ_HEIGHT px tall (at most MAX_ENLARGE times), and read again, detection included (the crop's
# own detector straightens a slanted line). At most MAX_SECOND_READS regions a photo, the least
# confident last. Measured in bench/ocr_words.py (docs/channels.md).
READ_HEIGHT = 64
MAX_ENLARGE = 4.0
MAX_SECOND_READS = 8
_MARGIN = 0.25  # of the region's height, on every side
# Tiled reads (opt-in, ocr.tiles = N): the photo is also read as N×N overlapping tiles, each
# enlarged TILE_ENLARGE times, so text too small for the detector on the whole photo (a 10 px
# word in a phone photo) is found. N² more reads of 4× the pixels: several times the OCR time.
TILE_ENLARGE = 2.0
_TILE_OVERLAP = 0.1  # of a tile's side
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
        self,
        *,
        model_dir: str = "",
        max_side: int = 2000,
        min_confidence: float = 0.5,
        spin: bool | None = None,
        second_reads: bool = False,
        tiles: int = 0,
    ) -> None:
        self.model_dir = model_dir
        self.spin = spinning_allowed() if spin is None else spin  # onnxruntime's idle threads busy-wait
        self.max_side = max_side
        self.min_confidence = min_confidence
        self.second_reads = second_reads
        self.tiles = tiles
        self._engine: Any = None

    @functools.cached_property
    def _identity(self) -> str:
        try:
            from importlib.metadata import version

            library = f"rapidocr {version('rapidocr')}"
        except Exception:
            library = "rapidocr (version unknown)"
        models = self._model_identity()
        reads = f"; second reads ×{MAX_ENLARGE:g} to {READ_HEIGHT} px" if self.second_reads else ""
        reads += f"; {self.tiles}×{self.tiles} tiles ×{TILE_ENLARGE:g}" if self.tiles > 1 else ""
        return f"{library}; {models}; min_confidence={self.min_confidence}; max_side={self.max_side}{reads}"

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
        """Text lines in an RGB image, in reading order as detected; regions read badly get a
        second, enlarged read (see READ_HEIGHT)."""
        if self._engine is None:
            self.load()
        height, width = pixels.shape[:2]
        if not height or not width:
            return []
        bgr = bounded_shape(np.ascontiguousarray(pixels[..., ::-1]))  # rapidocr takes arrays as OpenCV BGR
        floor = 0.0 if self.second_reads else self.min_confidence  # every region the detector marks
        lines: list[OcrLine] = []
        doubtful: list[tuple[float, np.ndarray]] = []
        for text, score, corners in self._lines(bgr, floor):
            if text and score >= self.min_confidence:
                lines.append(_line(text, score, corners, width, height))
            else:
                doubtful.append((score, corners))
        doubtful.sort(key=lambda pair: -pair[0])
        for _, corners in doubtful[:MAX_SECOND_READS] if self.second_reads else ():
            lines += [_line(t, s, c, width, height) for t, s, c in self._read_again(bgr, corners)]
        if self.tiles > 1:
            known = {line.text.casefold() for line in lines}
            for text, score, corners in self._read_tiles(bgr[:height, :width]):
                if text.casefold() not in known:
                    known.add(text.casefold())
                    lines.append(_line(text, score, corners, width, height))
        return lines

    def _read_tiles(self, bgr: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
        """Lines read in each of tiles×tiles overlapping tiles, enlarged; corners in `bgr`'s pixels."""
        height, width = bgr.shape[:2]
        side_y, side_x = height / self.tiles, width / self.tiles
        found = []
        for row in range(self.tiles):
            for column in range(self.tiles):
                y0 = int(max(row * side_y - _TILE_OVERLAP * side_y, 0))
                x0 = int(max(column * side_x - _TILE_OVERLAP * side_x, 0))
                y1 = int(min((row + 1) * side_y + _TILE_OVERLAP * side_y, height))
                x1 = int(min((column + 1) * side_x + _TILE_OVERLAP * side_x, width))
                found += self._read_part(bgr, (x0, y0, x1, y1), TILE_ENLARGE)
        return found

    def _lines(self, bgr: np.ndarray, floor: float) -> list[tuple[str, float, np.ndarray]]:
        """(text, confidence, 4×2 corners in pixels) of every region read at least `floor`."""
        result = self._engine(bgr, text_score=floor)
        texts = result.txts or ()
        scores = result.scores or ()
        boxes = result.boxes if result.boxes is not None else ()
        return [
            (str(raw).strip(), float(score), np.asarray(box, dtype=np.float64).reshape(4, 2))
            for raw, score, box in zip(texts, scores, boxes)
        ]

    def _read_again(self, bgr: np.ndarray, corners: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
        """A doubtful region cut out with a margin, enlarged and read again; corners in `bgr`'s pixels."""
        (left, top), (right, bottom) = corners.min(axis=0), corners.max(axis=0)
        tall = max(bottom - top, 1.0)
        margin = _MARGIN * tall
        x0, y0 = int(max(left - margin, 0)), int(max(top - margin, 0))
        x1, y1 = int(min(right + margin, bgr.shape[1])), int(min(bottom + margin, bgr.shape[0]))
        if x1 - x0 < 4 or y1 - y0 < 4:
            return []
        return self._read_part(bgr, (x0, y0, x1, y1), min(max(READ_HEIGHT / tall, 1.0), MAX_ENLARGE))

    def _read_part(
        self, bgr: np.ndarray, part: tuple[int, int, int, int], scale: float
    ) -> list[tuple[str, float, np.ndarray]]:
        """The confident lines of `part` (x0, y0, x1, y1) of `bgr` enlarged `scale` times (second
        reads and tiles), their corners placed back in `bgr`'s pixels."""
        x0, y0, x1, y1 = part
        crop = bgr[y0:y1, x0:x1]
        if scale > 1.0:
            import cv2

            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        found = self._lines(bounded_shape(np.ascontiguousarray(crop)), self.min_confidence)
        return [(t, s, c / scale + (x0, y0)) for t, s, c in found if t and s >= self.min_confidence]

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


def _line(text: str, score: float, corners: np.ndarray, width: int, height: int) -> OcrLine:
    """A line with its corners as fractions of the image's size."""
    box = (corners / (width, height)).clip(0, 1).ravel()
    return OcrLine(text, round(score, 4), tuple(round(float(v), 5) for v in box))


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
