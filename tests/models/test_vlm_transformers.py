"""The transformers caption backend with a tiny random Qwen2.5-VL, through the real loading path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from shashin import Library
from shashin.config import load_settings
from shashin.models.vlm.base import GenerationParams
from shashin.models.vlm.transformers_vl import TransformersVL, smart_resize
from shashin.store import Store
from tools.random_models import build_qwen_vl

MAX_PIXELS = 28 * 28 * 64


@pytest.fixture(scope="module")
def qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_qwen_vl(tmp_path_factory.mktemp("qwen") / "tiny-qwen2.5-vl")


@pytest.fixture(scope="module")
def backend(qwen: Path) -> TransformersVL:
    settings = load_settings({"captions.model": str(qwen), "captions.max_pixels": MAX_PIXELS, "captions.device": "cpu"})
    backend = TransformersVL(settings.captions)
    backend.load()
    return backend


def photo(width: int, height: int, colour: tuple[int, int, int]) -> Image.Image:
    rng = np.random.default_rng(width)
    return Image.fromarray(np.clip(np.array(colour) + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8))


def test_rendition_is_the_processors_own_resize(backend: TransformersVL) -> None:
    original = photo(900, 600, (200, 30, 30))
    rendition = backend.rendition().render(original)
    assert rendition.shape[:2] == smart_resize(600, 900, 28, 56 * 56, MAX_PIXELS)
    processor = backend._image_processor
    size = {"shortest_edge": 56 * 56, "longest_edge": MAX_PIXELS}
    direct = processor(images=[original], size=size, return_tensors="pt")
    ours = processor(images=[Image.fromarray(rendition)], size=size, return_tensors="pt")
    assert torch.equal(direct["image_grid_thw"], ours["image_grid_thw"])
    assert torch.equal(direct["pixel_values"], ours["pixel_values"])  # the processor's resize became a no-op


def test_inputs_expand_image_tokens_with_left_padding(backend: TransformersVL) -> None:
    renditions = [backend.rendition().render(photo(900, 600, (200, 30, 30))), backend.rendition().render(photo(120, 300, (0, 0, 200)))]
    inputs = backend.inputs(renditions, "Describe this image in one sentence.")
    image_token = backend._tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for row, grid in zip(inputs["input_ids"], inputs["image_grid_thw"]):
        assert int((row == image_token).sum()) == int(grid.prod()) // 4
    assert inputs["attention_mask"][:, -1].all()  # padding is on the left: every row ends with its text
    assert inputs["pixel_values"].shape[0] == int(inputs["image_grid_thw"].prod(dim=1).sum())


def test_generation_returns_one_text_per_photo(backend: TransformersVL) -> None:
    renditions = [backend.rendition().render(photo(300, 200, c)) for c in [(200, 0, 0), (0, 200, 0), (0, 0, 200)]]
    outputs = backend.caption(renditions, "Describe this image in one sentence.", GenerationParams(max_new_tokens=6))
    assert len(outputs) == 3 and all(isinstance(text, str) for text in outputs)
    again = backend.caption(renditions[:1], "Describe this image in one sentence.", GenerationParams(6, repetition_penalty=1.3))
    assert isinstance(again[0], str)


@pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("torchvision") is None, reason="Qwen2.5-VL's processor needs torchvision"
)
def test_our_inputs_equal_the_processors(backend: TransformersVL, qwen: Path) -> None:
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(qwen)
    renditions = [backend.rendition().render(photo(900, 600, (200, 30, 30))), backend.rendition().render(photo(120, 300, (0, 0, 200)))]
    ours = backend.inputs(renditions, "Describe this image.")
    backend._processor, saved = None, backend._processor
    try:
        manual = backend.inputs(renditions, "Describe this image.")
    finally:
        backend._processor = saved
    text = processor.apply_chat_template([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this image."}]}], add_generation_prompt=True)
    reference = processor(text=[text] * 2, images=[Image.fromarray(r) for r in renditions], padding=True, padding_side="left", return_tensors="pt")
    for key in ("input_ids", "attention_mask", "pixel_values", "image_grid_thw"):
        assert torch.equal(manual[key], reference[key]) and torch.equal(ours[key], reference[key]), key


def test_caption_run_end_to_end(tmp_path: Path, qwen: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for number, colour in enumerate([(200, 30, 30), (30, 60, 200), (30, 160, 60)]):
        photo(320, 240, colour).save(folder / f"p{number}.jpg")
    settings = load_settings({
        "db": str(tmp_path / "db"), "channels": "phash", "captions.model": str(qwen), "captions.max_pixels": MAX_PIXELS,
        "captions.device": "cpu", "captions.batch_size": 2, "captions.max_new_tokens": 8, "workers": 0,
    })
    library = Library(settings=settings)
    library.index([folder])
    report = library.caption()
    assert report.backend == "transformers" and report.model == str(qwen.resolve())
    assert report.written + report.failed == 6  # 3 photos × en, ja; random weights write garbage…
    rows = Store(library.path, create=False).captions()
    assert len(rows) == 6
    for row in rows:
        assert row["backend"] == "transformers" and row["model"] == str(qwen.resolve())
        assert json.loads(row["params"])["max_new_tokens"] == 8
        if row["status"] == "failed":  # … which the guard catches, after a retry with a penalty
            assert row["error"] and row["terms"] == "" and row["text"] == ""
            assert "retry" in row["error"] and json.loads(row["params"])["repetition_penalty"] == 1.3
        else:
            assert row["text"] and row["terms"]
    again = library.caption()  # nothing to do: done and failed captions of this model and prompt are settled
    assert (again.written, again.failed, again.skipped) == (0, 0, 6)
