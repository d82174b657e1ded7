"""Faces channel: the faces in a photo, found at index time with a 128-d descriptor each.

The index side keeps each photo's faces in the channel's table (recomputable: a model change
redoes only this channel); grouping faces into people, names and search by person build on them
(shashin.people)."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import pyarrow as pa

from shashin.channels.base import IndexedChannel
from shashin.config import FaceSettings, Settings
from shashin.media import DecodedPhoto, MaxSide
from shashin.models.faces import face_model
from shashin.store import Store

FACE = pa.struct(
    [
        ("box", pa.list_(pa.float32(), 4)),  # left, top, width, height as fractions of the upright photo
        ("landmarks", pa.list_(pa.float32())),  # x, y fractions of the 5 alignment points
        ("score", pa.float32()),  # the detector's confidence
        ("size", pa.int32()),  # the box's shorter side, in pixels of the photo as detected
        ("sharpness", pa.float32()),  # variance of the Laplacian over the face: low is blurry
    ]
)


def face_type(dimensions: int) -> pa.DataType:
    """A face as the channel stores it: FACE with a descriptor of the model's length."""
    return pa.struct([*FACE, pa.field("descriptor", pa.list_(pa.float32(), dimensions))])


class FacesChannel(IndexedChannel):
    """Faces found in each photo, with descriptors that say who is who."""

    name: ClassVar[str] = "faces"
    description: ClassVar[str] = "faces in the photo (dlib, or SCRFD + ArcFace ONNX models), grouped into people"

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(settings.faces)

    def __init__(self, settings: FaceSettings) -> None:
        self.settings = settings
        self._model = face_model(settings.detector, settings.model_dir, settings.max_side)

    def version(self) -> str:
        return self._model.identity()

    def load(self) -> None:
        self._model.load()

    def rendition(self) -> MaxSide:
        return MaxSide(self.settings.max_side)

    def payload_fields(self) -> list[pa.Field]:
        return [pa.field("faces", pa.list_(face_type(self._model.dimensions))), pa.field("count", pa.int32())]

    def refresh(self, store: Store) -> int:
        """Faces found since the last run join the library's faces and are grouped into people."""
        from shashin.metadata.sync import named_regions
        from shashin.people.decisions import save_names
        from shashin.people.detected import sync_faces
        from shashin.people.regions import import_region_names

        written = sync_faces(store, self.settings, self.version())
        if import_region_names(store, named_regions(store)):  # names other apps gave the faces
            save_names(store)
        return written

    def process(self, photo: DecodedPhoto, rendition: np.ndarray) -> dict[str, Any]:
        found = self._model.find(rendition)
        return {
            "faces": [
                {
                    "box": list(face.box),
                    "landmarks": list(face.landmarks),
                    "score": face.score,
                    "size": face.size,
                    "sharpness": face.sharpness,
                    "descriptor": face.descriptor.tolist(),
                }
                for face in found
            ],
            "count": len(found),
        }
