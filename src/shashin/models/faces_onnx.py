"""Faces with ONNX models from a folder the user provides: an SCRFD detector (boxes, 5 landmarks)
and an ArcFace recognizer (512-d descriptors), run by onnxruntime — the pair immich and
insightface ship (`buffalo_l`: det_10g.onnx + w600k_r50.onnx).

Decoding follows insightface's reference (model_zoo/scrfd.py, arcface_onnx.py, face_align.py):
the photo is scaled into the detector's square input and padded, anchors sit on each stride's
grid, boxes and landmarks are distances from them; faces are aligned to the 112×112 ArcFace
template by a similarity transform. Descriptors are L2-normalized, so the Euclidean distance d
and the cosine similarity c say the same thing: d² = 2 − 2c."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from shashin.models.base import ModelUnavailable, loads_once
from shashin.models.faces_base import FoundFace, face_at
from shashin.threads import spinning_allowed

# Where immich (detection/model.onnx) and insightface packs (det_10g.onnx, w600k_r50.onnx) keep them.
_DETECTOR_NAMES = ("detection/model.onnx", "det_*.onnx", "scrfd*.onnx", "*/det_*.onnx", "*/scrfd*.onnx")
_RECOGNIZER_NAMES = (
    "recognition/model.onnx",
    "w600k*.onnx",
    "*arcface*.onnx",
    "glint*.onnx",
    "*/w600k*.onnx",
    "*/*arcface*.onnx",
)
_INPUT = 640  # the detector's input side when the model leaves it open (insightface's default)
_SCORE = 0.5  # insightface's det_thresh
_NMS = 0.4
# Where the 5 landmarks go in a 112×112 ArcFace input (insightface face_align.arcface_dst).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float32,
)


def find_models(folder: str) -> tuple[Path, Path]:
    """The detector and recognizer files in `folder`, or ModelUnavailable saying what was looked for."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ModelUnavailable(f"faces.model_dir {folder} is not a folder")

    def first(patterns: tuple[str, ...], role: str) -> Path:
        for pattern in patterns:
            found = sorted(root.glob(pattern))
            if found:
                return found[0]
        raise ModelUnavailable(
            f"no {role} model in {folder}: looked for {', '.join(patterns)} "
            "(an SCRFD detector and an ArcFace recognizer, e.g. insightface's buffalo_l or immich's folder)"
        )

    return first(_DETECTOR_NAMES, "face detector"), first(_RECOGNIZER_NAMES, "face recognizer")


class OnnxFaces:
    """SCRFD + ArcFace on onnxruntime, loaded once."""

    # Unit descriptors: 1.0 is cosine similarity 0.5, the distance immich groups faces under by default.
    threshold = 1.0
    dimensions = 512

    def __init__(self, folder: str, max_side: int = 1600, *, spin: bool | None = None) -> None:
        self.folder, self.max_side = folder, max_side
        self.spin = spinning_allowed() if spin is None else spin
        self._detector: Any = None
        self._recognizer: Any = None

    @functools.cached_property
    def _digest(self) -> str:
        try:
            files = find_models(self.folder)
        except ModelUnavailable:
            return "missing"
        digest = hashlib.blake2b(digest_size=8)
        for path in files:
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        return f"{files[0].name} + {files[1].name} ({digest.hexdigest()})"

    def identity(self) -> str:
        return f"onnx faces {self._digest}, max side {self.max_side}"

    @loads_once
    def load(self) -> None:
        if self._recognizer is not None:
            return
        try:
            import onnxruntime
        except ImportError as exc:
            raise ModelUnavailable("onnxruntime is not installed: pip install onnxruntime") from exc
        detector, recognizer = find_models(self.folder)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        for key in ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning"):
            options.add_session_config_entry(key, "1" if self.spin else "0")
        try:
            made = [
                onnxruntime.InferenceSession(str(path), options, providers=onnxruntime.get_available_providers())
                for path in (detector, recognizer)
            ]
        except Exception as exc:  # a broken or foreign file: say which
            raise ModelUnavailable(f"could not load the face models in {self.folder}: {exc}") from exc
        outputs = len(made[0].get_outputs())
        if outputs not in (6, 9, 10, 15):
            raise ModelUnavailable(
                f"{detector} is not an SCRFD detector: it has {outputs} outputs (SCRFD has 6, 9, 10 or 15)"
            )
        shape = made[1].get_inputs()[0].shape
        if list(shape[2:]) != [112, 112]:
            raise ModelUnavailable(f"{recognizer} is not an ArcFace recognizer: its input is {shape}, not N×3×112×112")
        length = made[1].get_outputs()[0].shape[-1]
        if isinstance(length, int) and length != self.dimensions:
            raise ModelUnavailable(
                f"{recognizer} gives {length}-d descriptors; shashin takes ArcFace's {self.dimensions}"
            )
        self._detector, self._recognizer = made

    def find(self, rgb: np.ndarray) -> list[FoundFace]:
        """Every face in an RGB photo (H×W×3 uint8), with its unit-length descriptor."""
        image = np.ascontiguousarray(rgb[..., :3])
        faces = []
        for box, points, score in self.detect(image):
            face = face_at(image, (box[0], box[1], box[2], box[3]), points, score, np.zeros(0, np.float32))
            if face is not None:  # not too small once clipped to the photo
                faces.append(dataclasses.replace(face, descriptor=self.describe(image, points)))
        return faces

    def detect(self, rgb: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """(box left/top/right/bottom, 5×2 landmarks, score) in the photo's pixels, best first."""
        import cv2

        height, width = rgb.shape[:2]
        side_h, side_w = _input_size(self._detector.get_inputs()[0].shape)
        scale = min(side_h / height, side_w / width)
        new_h, new_w = max(1, int(height * scale)), max(1, int(width * scale))
        canvas = np.zeros((side_h, side_w, 3), np.float32)
        canvas[:new_h, :new_w] = cv2.resize(rgb, (new_w, new_h))
        blob = ((canvas - 127.5) / 128.0).transpose(2, 0, 1)[None].astype(np.float32)
        outputs = self._detector.run(None, {self._detector.get_inputs()[0].name: blob})
        boxes, points, scores = decode_scrfd(outputs, side_h, side_w, _SCORE)
        keep = nms(boxes, scores, _NMS)
        ratio = new_h / height
        return [(boxes[i] / ratio, points[i] / ratio, float(scores[i])) for i in keep]

    def describe(self, rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The face at these 5 landmarks aligned to the ArcFace template, its unit descriptor."""
        import cv2

        matrix = similarity(points.astype(np.float64), ARCFACE_TEMPLATE.astype(np.float64))
        crop = cv2.warpAffine(rgb, matrix, (112, 112), borderValue=0.0)
        blob = ((crop.astype(np.float32) - 127.5) / 127.5).transpose(2, 0, 1)[None]
        vector = np.asarray(self._recognizer.run(None, {self._recognizer.get_inputs()[0].name: blob})[0][0], np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector


def _input_size(shape: list[Any]) -> tuple[int, int]:
    """The detector's input height and width: fixed by the model, or _INPUT where left open."""
    height, width = shape[2:4]
    return (
        height if isinstance(height, int) and height > 0 else _INPUT,
        width if isinstance(width, int) and width > 0 else _INPUT,
    )


def decode_scrfd(
    outputs: list[np.ndarray], height: int, width: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SCRFD's outputs (scores, box distances and landmark distances per stride) as boxes (N×4),
    landmarks (N×5×2) and scores (N) in input pixels, for anchors scoring at least `threshold`."""
    levels = 3 if len(outputs) in (6, 9) else 5
    strides = (8, 16, 32, 64, 128)[:levels]
    anchors_per_place = 2 if levels == 3 else 1
    with_points = len(outputs) in (9, 15)
    all_boxes, all_points, all_scores = [], [], []
    for level, stride in enumerate(strides):
        scores = outputs[level].reshape(-1)  # batched (1×N×1) or not (N×1): the same numbers
        distances = outputs[level + levels].reshape(-1, 4) * stride
        rows, cols = height // stride, width // stride
        ys, xs = np.mgrid[:rows, :cols]
        grid = np.stack([xs, ys], axis=-1).astype(np.float32).reshape(-1, 2) * stride  # (x, y), row by row
        centres = np.repeat(grid, anchors_per_place, axis=0)
        kept = np.flatnonzero(scores >= threshold)
        c = centres[kept]
        d = distances[kept]
        all_boxes.append(np.stack([c[:, 0] - d[:, 0], c[:, 1] - d[:, 1], c[:, 0] + d[:, 2], c[:, 1] + d[:, 3]], axis=1))
        if with_points:
            offsets = outputs[level + 2 * levels].reshape(-1, 10)[kept].reshape(-1, 5, 2) * stride
            all_points.append(c[:, None, :] + offsets)
        else:  # without landmarks: the template's points placed in the box
            box = all_boxes[-1]
            unit = ARCFACE_TEMPLATE / 112.0
            all_points.append(
                box[:, None, :2]
                + unit[None] * np.stack([box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]], axis=1)[:, None]
            )
        all_scores.append(scores[kept])
    return (
        np.concatenate(all_boxes).astype(np.float32),
        np.concatenate(all_points).astype(np.float32),
        np.concatenate(all_scores).astype(np.float32),
    )


def nms(boxes: np.ndarray, scores: np.ndarray, overlap: float) -> list[int]:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores, kind="stable")
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    kept: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        kept.append(int(best))
        w = np.maximum(0.0, np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]) + 1)
        h = np.maximum(0.0, np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]) + 1)
        inter = w * h
        order = rest[inter / (area[best] + area[rest] - inter) <= overlap]
    return kept


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2×3 similarity transform (rotation, uniform scale, shift) taking `source` points
    nearest to `target` in least squares (Umeyama, as scikit-image's SimilarityTransform)."""
    mean_s, mean_t = source.mean(axis=0), target.mean(axis=0)
    s, t = source - mean_s, target - mean_t
    covariance = t.T @ s / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = (s**2).sum() / len(source)
    scale = float((singular * np.diag(sign)).sum() / variance) if variance > 0 else 1.0
    shift = mean_t - scale * rotation @ mean_s
    return np.hstack([scale * rotation, shift[:, None]]).astype(np.float64)
