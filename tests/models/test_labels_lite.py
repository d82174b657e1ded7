"""The bundled small image model: read without torch, run through onnxruntime, and the same
as the reference implementation (efficientnet_lite_pytorch on torch) on real photos."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shashin.models.labels_lite import SIZE, LabelModel, LabelPixels, read_state_dict, weights_file


def test_the_weights_read_without_torch_are_the_ones_torch_reads() -> None:
    torch = pytest.importorskip("torch")
    ours = read_state_dict(weights_file())
    theirs = torch.load(weights_file(), map_location="cpu")
    assert set(ours) == set(theirs)
    for name, tensor in theirs.items():
        assert ours[name].shape == tuple(tensor.shape) and np.array_equal(ours[name], tensor.numpy()), name


def test_a_weights_file_that_holds_code_is_refused(tmp_path: Path) -> None:
    hostile = tmp_path / "weights.pth"
    with open(hostile, "wb") as file:
        for header in (0x1950A86A20F9469CFC6C, 1001, {}):
            pickle.dump(header, file)
        pickle.dump(Path("/etc/passwd"), file)  # any class beyond plain tensors
    with pytest.raises(pickle.UnpicklingError, match="not something a weights file holds"):
        read_state_dict(hostile)


def test_labels_and_embeddings_match_the_reference_implementation(coco: Path) -> None:
    torch = pytest.importorskip("torch")
    reference = pytest.importorskip("efficientnet_lite_pytorch")
    model = reference.EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(weights_file(), map_location="cpu"))
    model.eval()
    photos = sorted((coco / "images").glob("*.jpg"))[:6]
    pixels = np.stack([LabelPixels().render(Image.open(p).convert("RGB")) for p in photos])
    assert pixels.shape == (len(photos), SIZE, SIZE, 3)
    probabilities, embeddings = LabelModel().classify(pixels)
    batch = torch.from_numpy(((pixels.astype(np.float32) - 127) / 128).transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        features = model.extract_features(batch).mean(dim=(2, 3))
        expected = torch.softmax(model._fc(features), dim=1).numpy()
    assert np.abs(probabilities - expected).max() < 1e-4
    assert (probabilities.argmax(axis=1) == expected.argmax(axis=1)).all()
    normalized = features.numpy() / np.linalg.norm(features.numpy(), axis=1, keepdims=True)
    assert np.abs(embeddings - normalized).max() < 1e-4


def test_a_portrait_keeps_its_centre_at_the_models_size() -> None:
    tall = Image.new("RGB", (300, 900), "white")
    tall.paste((255, 0, 0), (0, 400, 300, 500))  # a red band across the middle
    pixels = LabelPixels().render(tall)
    assert pixels.shape == (SIZE, SIZE, 3) and tuple(pixels[SIZE // 2, SIZE // 2]) == (255, 0, 0)
