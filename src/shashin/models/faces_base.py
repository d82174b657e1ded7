"""What every face model gives the faces channel: faces with a box, landmarks, a score, size,
sharpness and a descriptor, and the distance under which two descriptors are one person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class FoundFace:
    """One face: its box (left, top, width, height as fractions of the photo), 5 landmarks (x, y
    fractions), the detector's score, its size in pixels (the box's shorter side), a sharpness
    measure (variance of the Laplacian over the face) and its descriptor."""

    box: tuple[float, float, float, float]
    landmarks: tuple[float, ...]
    score: float
    size: int
    sharpness: float
    descriptor: np.ndarray


class FaceModel(Protocol):
    """A face detector with a recognizer: dlib (models/faces_dlib.py) or ONNX (models/faces_onnx.py)."""

    threshold: float  # descriptors closer than this (Euclidean) are usually one person
    dimensions: int  # the descriptor's length

    def identity(self) -> str:
        """The models and parameters that define the faces found (a change redoes the channel)."""

    def load(self) -> None:
        """Load the models now; raises ModelUnavailable saying what is missing."""

    def find(self, rgb: np.ndarray) -> list[FoundFace]:
        """Every face in an RGB photo (H×W×3 uint8), with its descriptor."""


def face_at(
    rgb: np.ndarray, box: tuple[float, float, float, float], points: np.ndarray, score: float, descriptor: np.ndarray
) -> FoundFace | None:
    """A FoundFace from a box in pixels (left, top, right, bottom) and 5 landmarks in pixels,
    clipped to the photo; None when the clipped box is too small to be a face."""
    height, width = rgb.shape[:2]
    left, top = max(0, round(float(box[0]))), max(0, round(float(box[1])))
    right, bottom = min(width, round(float(box[2]))), min(height, round(float(box[3])))
    if right - left < 4 or bottom - top < 4:
        return None
    fractions = [(float(x) / width, float(y) / height) for x, y in points]
    return FoundFace(
        box=(left / width, top / height, (right - left) / width, (bottom - top) / height),
        landmarks=tuple(round(v, 5) for point in fractions for v in point),
        score=round(float(score), 4),
        size=int(min(right - left, bottom - top)),
        sharpness=round(sharpness(rgb[top:bottom, left:right].mean(axis=2)), 2),
        descriptor=np.asarray(descriptor, dtype=np.float32),
    )


def sharpness(patch: np.ndarray) -> float:
    """Variance of a 4-neighbour Laplacian: blurry faces score low."""
    if patch.shape[0] < 3 or patch.shape[1] < 3:
        return 0.0
    laplacian = -4 * patch[1:-1, 1:-1] + patch[:-2, 1:-1] + patch[2:, 1:-1] + patch[1:-1, :-2] + patch[1:-1, 2:]
    return float(laplacian.var())
