"""Which face model the settings name: dlib by default, SCRFD + ArcFace ONNX models from a folder
(faces.model_dir); both give FoundFace (models/faces_base.py)."""

from __future__ import annotations

from shashin.models.faces_base import FaceModel


def face_model(detector: str, model_dir: str, max_side: int) -> FaceModel:
    """The face model settings name: ONNX models from `model_dir` when set, dlib otherwise."""
    if model_dir:
        from shashin.models.faces_onnx import OnnxFaces

        return OnnxFaces(model_dir, max_side)
    from shashin.models.faces_dlib import DlibFaces

    return DlibFaces(detector, max_side)


def grouping_threshold(threshold: float, model_dir: str) -> float:
    """The distance under which two faces are one person: the setting, or the model's own (0)."""
    if threshold:
        return threshold
    from shashin.models.faces_dlib import DlibFaces
    from shashin.models.faces_onnx import OnnxFaces

    return OnnxFaces.threshold if model_dir else DlibFaces.threshold
