"""Faces with dlib: a detector (HOG, or the CNN "MMOD" one for better recall), 5-point landmarks
and 128-d ResNet descriptors, the models bundled in `face-recognition-models` (offline).

Distances between descriptors are Euclidean; the same person is usually under 0.5 (0.6, the
common threshold, merges different people: see docs/people.md)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from typing import Any

import numpy as np

from shashin.models.base import ModelUnavailable, loads_once
from shashin.models.faces_base import FoundFace, face_at

DETECTORS = ("hog", "cnn")
_FILES = {
    "landmarks": "shape_predictor_5_face_landmarks.dat",
    "descriptor": "dlib_face_recognition_resnet_model_v1.dat",
    "cnn": "mmod_human_face_detector.dat",
}
_UPSAMPLE_BELOW = 1200  # photos whose longer side is smaller are upsampled once: small faces are found
# A larger photo is looked at again, upsampled, when a face found in it is this small: faces that
# size come in groups (crew photos), and the detector misses the others (under 80 px) without it.
_SMALL_FACE = 100


def model_folder() -> str | None:
    """Where `face-recognition-models` keeps its files (found without importing the package,
    whose __init__ needs setuptools), or None when it is not installed."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(next(iter(spec.submodule_search_locations)), "models")


class DlibFaces:
    """dlib's face detector, landmarks and descriptors, loaded once."""

    threshold = 0.5  # measured on faces-pd (docs/people.md): 0.6, the common threshold, merges people
    dimensions = 128

    def __init__(self, detector: str = "hog", max_side: int = 1600) -> None:
        if detector not in DETECTORS:
            raise ValueError(f"faces.detector must be {' or '.join(DETECTORS)}, not {detector!r}")
        self.detector_kind, self.max_side = detector, max_side
        self._detector: Any = None
        self._landmarks: Any = None
        self._descriptor: Any = None

    def identity(self) -> str:
        """The models and parameters that define the faces found (a change redoes the channel)."""
        folder = model_folder()
        digest = "missing"
        if folder:
            sizes = [
                os.path.getsize(os.path.join(folder, name))
                for name in sorted(_FILES.values())
                if os.path.exists(os.path.join(folder, name))
            ]
            digest = hashlib.blake2b(repr(sizes).encode(), digest_size=4).hexdigest()
        return (
            f"dlib {self.detector_kind} + resnet 128-d ({digest}), max side {self.max_side}, "
            f"upsampled under {_UPSAMPLE_BELOW} px or with faces under {_SMALL_FACE} px"
        )

    @loads_once
    def load(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise ModelUnavailable("dlib is not installed: pip install dlib-bin face-recognition-models") from exc
        folder = model_folder()
        if folder is None or not all(os.path.exists(os.path.join(folder, f)) for f in _FILES.values()):
            raise ModelUnavailable("face models are not installed: pip install face-recognition-models")
        if self._descriptor is not None:
            return
        if self.detector_kind == "cnn":
            self._detector = dlib.cnn_face_detection_model_v1(os.path.join(folder, _FILES["cnn"]))
        else:
            self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(os.path.join(folder, _FILES["landmarks"]))
        self._descriptor = dlib.face_recognition_model_v1(os.path.join(folder, _FILES["descriptor"]))

    def find(self, rgb: np.ndarray) -> list[FoundFace]:
        """Every face in an RGB photo (H×W×3 uint8), with its descriptor."""

        height, width = rgb.shape[:2]
        image = np.ascontiguousarray(rgb)
        upsample = 1 if max(height, width) < _UPSAMPLE_BELOW else 0
        found = self._detect(image, upsample)
        if not upsample and any(min(rect.width(), rect.height()) < _SMALL_FACE for rect, _ in found):
            found = self._detect(image, 1)
        faces = []
        for rect, score in found:
            box = (max(0, rect.left()), max(0, rect.top()), min(width, rect.right()), min(height, rect.bottom()))
            if box[2] - box[0] < 4 or box[3] - box[1] < 4:
                continue  # hardly anything left once clipped to the photo
            shape = self._landmarks(image, rect)
            points = np.array([(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)], np.float32)
            descriptor = np.asarray(self._descriptor.compute_face_descriptor(image, shape), dtype=np.float32)
            face = face_at(image, box, points, score, descriptor)
            if face is not None:
                faces.append(face)
        return faces

    def _detect(self, image: np.ndarray, upsample: int) -> list[tuple[Any, float]]:
        """(rectangle, score) of each face the detector finds, looking at the photo `upsample` times enlarged."""
        if self.detector_kind == "cnn":
            return [(d.rect, float(d.confidence)) for d in self._detector(image, upsample)]
        rects, scores, _ = self._detector.run(image, upsample, 0.0)
        return list(zip(rects, (float(s) for s in scores), strict=True))
