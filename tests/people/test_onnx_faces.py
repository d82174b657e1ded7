"""The ONNX faces path (SCRFD + ArcFace from a folder, as insightface and immich ship them), driven
with small models of the same inputs and outputs (tests/people/onnx_faces.py): decoding, scaling,
alignment, grouping through a library, and clear messages for a folder without the models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shashin import Library
from shashin.config import load_settings
from shashin.models.base import ModelUnavailable
from shashin.models.faces_onnx import ARCFACE_TEMPLATE, OnnxFaces, decode_scrfd, nms, similarity
from shashin.search.filters import build_filters
from tests.people.onnx_faces import BOX, POINTS, face_photo, write_pack, write_recognizer

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pack(tmp_path_factory.mktemp("buffalo"))


def test_a_face_is_found_where_the_detector_says_in_the_photos_pixels(pack: Path) -> None:
    model = OnnxFaces(str(pack))
    model.load()
    for scale in (1, 2):  # 640×480 goes in as it is; 1280×960 is halved into the 640 input and back
        photo = face_photo((640 * scale, 480 * scale), [(10, 5, "a")], scale=scale)
        [face] = model.find(photo)
        anchor = np.array([10 * 32, 5 * 32]) * scale
        left, top = anchor - BOX * 32 * scale
        side = 2 * BOX * 32 * scale
        assert face.box == pytest.approx(
            (left / photo.shape[1], top / photo.shape[0], side / photo.shape[1], side / photo.shape[0]), abs=2e-3
        )
        expected = (anchor + POINTS * 32 * scale) / [photo.shape[1], photo.shape[0]]
        assert face.landmarks == pytest.approx(tuple(expected.reshape(-1)), abs=2e-3)
        assert face.score > 0.99 and face.size == pytest.approx(side, abs=2)
        assert face.descriptor.shape == (512,) and np.linalg.norm(face.descriptor) == pytest.approx(1.0, abs=1e-5)


def test_the_same_face_elsewhere_has_the_same_descriptor_and_another_face_a_far_one(pack: Path) -> None:
    model = OnnxFaces(str(pack))
    model.load()
    faces = model.find(face_photo((640, 480), [(4, 4, "a"), (12, 9, "a"), (15, 4, "b")]))
    assert len(faces) == 3  # NMS keeps one of each face's two anchors
    by_place = {round(f.box[0] * 640 + BOX * 32): f.descriptor for f in faces}
    a1, a2, b = by_place[4 * 32], by_place[12 * 32], by_place[15 * 32]
    assert np.linalg.norm(a1 - a2) < 0.05
    assert np.linalg.norm(a1 - b) > OnnxFaces.threshold


def test_decoding_follows_scrfd_layouts() -> None:
    """Anchors on each stride's grid, two per place; batched (1×N×k) outputs read as unbatched."""
    height = width = 64
    outputs = []
    for stride in (8, 16, 32):
        n = (height // stride) * (width // stride) * 2
        outputs.append(np.zeros((1, n, 1), np.float32))
    outputs[2][0, 3 * 2 + 1] = 0.9  # stride 32, place (row 1, column 1), second anchor
    outputs += [np.ones((1, o.shape[1], 4), np.float32) for o in outputs[:3]]
    outputs += [np.zeros((1, o.shape[1], 10), np.float32) for o in outputs[:3]]
    boxes, points, scores = decode_scrfd(outputs, height, width, 0.5)
    assert boxes.tolist() == [[0.0, 0.0, 64.0, 64.0]] and scores.tolist() == pytest.approx([0.9])
    assert points[0].tolist() == [[32.0, 32.0]] * 5
    assert nms(
        np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float32), np.array([0.5, 0.9, 0.7]), 0.4
    ) == [1, 2]


def test_alignment_maps_the_template_onto_itself_and_undoes_a_similarity() -> None:
    assert similarity(ARCFACE_TEMPLATE.astype(float), ARCFACE_TEMPLATE.astype(float)) == pytest.approx(
        np.hstack([np.eye(2), np.zeros((2, 1))]), abs=1e-9
    )
    angle, scale, shift = 0.3, 2.5, np.array([40.0, -7.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = ARCFACE_TEMPLATE @ (scale * rotation).T + shift
    back = similarity(moved, ARCFACE_TEMPLATE.astype(float))
    assert moved @ back[:, :2].T + back[:, 2] == pytest.approx(ARCFACE_TEMPLATE, abs=1e-6)


def test_a_folder_without_the_models_says_what_it_looked_for(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="is not a folder"):
        OnnxFaces(str(tmp_path / "missing")).load()
    (tmp_path / "det_10g.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelUnavailable, match=r"no face recognizer model in .*w600k"):
        OnnxFaces(str(tmp_path)).load()
    (tmp_path / "w600k_r50.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelUnavailable, match="could not load the face models"):
        OnnxFaces(str(tmp_path)).load()


@pytest.mark.parametrize("layout", ["insightface", "immich"])
def test_a_library_groups_and_finds_people_with_onnx_models(tmp_path: Path, layout: str) -> None:
    models = write_pack(tmp_path / "models", layout)
    folder = tmp_path / "photos"
    folder.mkdir()
    scenes = {"one.png": [(10, 5, "a")], "two.png": [(4, 8, "a"), (14, 3, "b")], "three.png": [(6, 6, "b")]}
    for name, faces in scenes.items():
        Image.fromarray(face_photo((640, 480), faces)).save(folder / name)
    settings = load_settings({"db": str(tmp_path / "db"), "channels": "faces", "faces.model_dir": str(models)})
    library = Library(settings=settings)
    library.index([folder])
    people = library.people.all()
    assert sorted(p.photos for p in people) == [2, 2]  # two people, each in two photos
    [face] = library.people.faces(str(folder / "one.png"))
    library.people.name(face["person_id"], "Ken")
    found = library.search("", filters=build_filters(people=["Ken"]))
    assert sorted(Path(r.path).name for r in found.results) == ["one.png", "two.png"]
    parsed = library.search("Ken at the beach")
    assert "person: Ken" in parsed.understood, parsed
    assert any(h.channel == "people" and h.text.startswith("Ken — face") for h in parsed.results[0].highlights), (
        parsed.results
    )


def test_a_library_with_a_wrong_model_folder_says_so_and_indexes_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(face_photo((640, 480), [(10, 5, "a")])).save(folder / "one.png")
    settings = load_settings(
        {"db": str(tmp_path / "db"), "channels": "faces,phash", "faces.model_dir": str(tmp_path / "nowhere")}
    )
    library = Library(settings=settings)
    report = library.index([folder])
    assert "nowhere" in (report.channels["faces"].unavailable or "")
    assert report.channels["phash"].processed == 1 and library.status().photos == 1


def test_a_name_survives_a_change_of_face_model(tmp_path: Path) -> None:
    """README: switching models redoes only the faces channel, and the names given carry over to
    the faces the new model finds at the same places (a model upgrade must not lose them)."""
    models = write_pack(tmp_path / "models")
    folder = tmp_path / "photos"
    folder.mkdir()
    scenes = {"one.png": [(10, 5, "a")], "two.png": [(4, 8, "a"), (14, 3, "b")], "three.png": [(6, 6, "b")]}
    for name, faces in scenes.items():
        Image.fromarray(face_photo((640, 480), faces)).save(folder / name)
    settings = load_settings({"db": str(tmp_path / "db"), "channels": "faces", "faces.model_dir": str(models)})
    library = Library(settings=settings)
    library.index([folder])
    [face] = library.people.faces(str(folder / "one.png"))
    library.people.name(face["person_id"], "Ken")
    write_recognizer(models / "w600k_r50.onnx", seed=1)  # another recognizer: other descriptors
    report = Library(settings=settings).index([folder])
    assert report.channels["faces"].processed == 3  # the faces channel was redone
    found = Library(settings=settings).search("", filters=build_filters(people=["Ken"]))
    assert sorted(Path(r.path).name for r in found.results) == ["one.png", "two.png"]
