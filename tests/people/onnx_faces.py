"""Small face models with SCRFD's and ArcFace's inputs and outputs, written with onnx.helper, for
driving the ONNX faces path (shashin.models.faces_onnx) the way insightface's real files do.

The detector is SCRFD's 9-output layout (scores, box and landmark distances for strides 8, 16,
32, two anchors per place, not batched, like det_10g.onnx) with a rule a test can predict: a
stride-32 cell whose red channel is all 255 is a face (score ≈ 1) with its box 1.5 cells from
the anchor each way and landmarks at fixed offsets; other strides never fire. The recognizer
takes N×3×112×112 and gives 512 numbers: an 8×8 average pool and a random (seeded) projection,
so identical crops give identical descriptors and different patterns different ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

STRIDES = (8, 16, 32)
BOX = 1.5  # box distances, in strides, from the anchor
POINTS = np.array([[-0.5, -0.4], [0.5, -0.4], [0.0, 0.0], [-0.4, 0.6], [0.4, 0.6]], np.float32)  # in strides


def write_detector(path: Path) -> Path:
    nodes, inits = [], []
    scores, boxes, points = [], [], []
    for s in STRIDES:
        weight = np.zeros((1, 3, s, s), np.float32)
        if s == 32:  # mean red over the cell (input is (x - 127.5) / 128): ≈1 → logit ≈ 10, else ≤ −10
            weight[0, 0] = 20.0 / (s * s)
        inits += [
            numpy_helper.from_array(weight, f"w{s}"),
            numpy_helper.from_array(np.array([-10.0 if s == 32 else -30.0], np.float32), f"b{s}"),
        ]
        nodes += [
            helper.make_node("Conv", ["input.1", f"w{s}", f"b{s}"], [f"logit{s}"], kernel_shape=[s, s], strides=[s, s]),
            helper.make_node("Sigmoid", [f"logit{s}"], [f"p{s}"]),
            helper.make_node("Transpose", [f"p{s}"], [f"t{s}"], perm=[0, 2, 3, 1]),
            helper.make_node("Reshape", [f"t{s}", "column"], [f"one{s}"]),
            helper.make_node("Concat", [f"one{s}", f"one{s}"], [f"two{s}"], axis=1),  # two anchors per place
            helper.make_node("Reshape", [f"two{s}", "column"], [f"score_{s}"]),
            helper.make_node("Mul", [f"score_{s}", "zero"], [f"z{s}"]),
            helper.make_node("Add", [f"z{s}", "box"], [f"bbox_{s}"]),
            helper.make_node("Add", [f"z{s}", "points"], [f"kps_{s}"]),
        ]
        scores.append(f"score_{s}")
        boxes.append(f"bbox_{s}")
        points.append(f"kps_{s}")
    inits += [
        numpy_helper.from_array(np.array([-1, 1], np.int64), "column"),
        numpy_helper.from_array(np.zeros((1, 1), np.float32), "zero"),
        numpy_helper.from_array(np.full((1, 4), BOX, np.float32), "box"),
        numpy_helper.from_array(POINTS.reshape(1, 10), "points"),
    ]
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"n{name.split('_')[1]}", width])
        for name, width in [*((n, 1) for n in scores), *((n, 4) for n in boxes), *((n, 10) for n in points)]
    ]
    graph = helper.make_graph(
        nodes,
        "scrfd-shaped",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "height", "width"])],
        outputs,
        inits,
    )
    return _save(graph, path)


def write_recognizer(path: Path, seed: int = 0) -> Path:
    projection = np.random.default_rng(seed).standard_normal((3 * 14 * 14, 512)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("AveragePool", ["input.1"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("MatMul", ["flat", "projection"], ["683"]),
        ],
        "arcface-shaped",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["batch", 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["batch", 512])],
        [numpy_helper.from_array(projection, "projection")],
    )
    return _save(graph, path)


def _save(graph: object, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])  # type: ignore[arg-type]
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def write_pack(folder: Path, layout: str = "insightface") -> Path:
    """A model folder as insightface's buffalo_l (det_10g.onnx, w600k_r50.onnx) or immich lays it out."""
    if layout == "immich":
        write_detector(folder / "detection" / "model.onnx")
        write_recognizer(folder / "recognition" / "model.onnx")
    else:
        write_detector(folder / "det_10g.onnx")
        write_recognizer(folder / "w600k_r50.onnx")
    return folder


def face_photo(size: tuple[int, int], faces: list[tuple[int, int, str]], scale: int = 1) -> np.ndarray:
    """A mid-grey RGB photo (width, height) with a face at each (column, row) stride-32 cell: a red
    cell that the detector finds, in a pattern ("a": green left half, "b": green top half) that
    tells two people apart; `scale` draws it that many times larger."""
    width, height = size
    photo = np.full((height, width, 3), 128, np.uint8)
    cell = 32 * scale
    for column, row, kind in faces:
        x, y = column * cell, row * cell
        area = photo[max(0, y - cell) : y + 2 * cell, max(0, x - cell) : x + 2 * cell]
        area[..., 1] = 0
        half_h, half_w = area.shape[0] // 2, area.shape[1] // 2
        if kind == "a":
            area[:, :half_w, 1] = 255
        else:
            area[:half_h, :, 1] = 255
        photo[y : y + cell, x : x + cell, 0] = 255
    return photo
