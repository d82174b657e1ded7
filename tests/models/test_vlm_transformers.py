"""The transformers caption backend with a tiny random Qwen2.5-VL, through the real loading path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tools.random_models import build_qwen_vl

from shashin.config import load_settings
from shashin.models.vlm.base import GenerationParams
from shashin.models.vlm.transformers_vl import TransformersVL, smart_resize

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


def reference_inputs(qwen: Path, images: list[Image.Image], prompt: str) -> dict[str, torch.Tensor]:
    """What Qwen2.5-VL's processor makes of the photos, step by step as its processor does."""
    from transformers import AutoImageProcessor, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(qwen)
    processor = AutoImageProcessor.from_pretrained(qwen, backend="pil")
    pixels = processor(images=images, size={"shortest_edge": 56 * 56, "longest_edge": MAX_PIXELS}, return_tensors="pt")
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}],
        add_generation_prompt=True,
        tokenize=False,
    )
    texts = [text.replace("<|image_pad|>", "<|image_pad|>" * int(g.prod() // 4), 1) for g in pixels["image_grid_thw"]]
    return {**tokenizer(texts, padding=True, padding_side="left", return_tensors="pt"), **pixels}


def test_inputs_equal_the_processors(backend: TransformersVL, qwen: Path) -> None:
    originals = [photo(900, 600, (200, 30, 30)), photo(120, 300, (0, 0, 200)), photo(2000, 700, (10, 200, 10))]
    renditions = [backend.rendition().render(image) for image in originals]
    assert renditions[0]["grid"].tolist() == [
        1,
        *(side // 14 for side in smart_resize(600, 900, 28, 56 * 56, MAX_PIXELS)),
    ]
    ours = backend.inputs(renditions, "Describe this image in one sentence.")
    expected = reference_inputs(qwen, originals, "Describe this image in one sentence.")
    for key in ("input_ids", "attention_mask", "image_grid_thw"):
        assert torch.equal(ours[key].cpu(), expected[key]), key
    assert torch.allclose(ours["pixel_values"].float().cpu(), expected["pixel_values"], atol=1e-5)
    image_token = backend._tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for row, grid in zip(ours["input_ids"], ours["image_grid_thw"]):
        assert int((row == image_token).sum()) == int(grid.prod()) // 4
    assert ours["attention_mask"][:, -1].all()  # padding is on the left: every row ends with its text


def test_generation_returns_one_text_per_photo(backend: TransformersVL) -> None:
    renditions = [backend.rendition().render(photo(300, 200, c)) for c in [(200, 0, 0), (0, 200, 0), (0, 0, 200)]]
    outputs = backend.caption(renditions, "Describe this image in one sentence.", GenerationParams(max_new_tokens=6))
    assert len(outputs) == 3 and all(isinstance(text, str) for text in outputs)
    again = backend.caption(
        renditions[:1], "Describe this image in one sentence.", GenerationParams(6, repetition_penalty=1.3)
    )
    assert isinstance(again[0], str)


@pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("torchvision") is None,
    reason="Qwen2.5-VL's processor needs torchvision",
)
def test_inputs_equal_the_real_processor(backend: TransformersVL, qwen: Path) -> None:
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(qwen)
    renditions = [
        backend.rendition().render(image) for image in (photo(900, 600, (200, 30, 30)), photo(120, 300, (0, 0, 200)))
    ]
    ours = backend.inputs(renditions, "Describe this image.")
    # Sizes are already the processor's own (its resize is checked above), so it does not resize them again.
    sized = [Image.fromarray(_unpatch(r)) for r in renditions]
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe this image."}]}],
        add_generation_prompt=True,
    )
    reference = processor(text=[text] * 2, images=sized, padding=True, padding_side="left", return_tensors="pt")
    for key in ("input_ids", "attention_mask", "image_grid_thw"):
        assert torch.equal(ours[key].cpu(), reference[key]), key
    assert torch.allclose(ours["pixel_values"].float().cpu(), reference["pixel_values"].float(), atol=1e-5)


def _unpatch(rendition: dict) -> np.ndarray:
    """The 8-bit image back from Qwen's patch layout (first temporal copy)."""
    _, grid_h, grid_w = (int(v) for v in rendition["grid"])
    patches = rendition["patches"].reshape(grid_h // 2, grid_w // 2, 2, 2, 3, 2, 14, 14)[:, :, :, :, :, 0]
    return np.ascontiguousarray(patches.transpose(0, 2, 5, 1, 3, 6, 4).reshape(grid_h * 14, grid_w * 14, 3))


def test_caption_run_end_to_end(tmp_path: Path, qwen: Path) -> None:
    pytest.importorskip("lancedb")  # (absent on the GPU machine, where the tests above also run)
    from shashin import Library
    from shashin.store import Store

    folder = tmp_path / "photos"
    folder.mkdir()
    for number, colour in enumerate([(200, 30, 30), (30, 60, 200), (30, 160, 60)]):
        photo(320, 240, colour).save(folder / f"p{number}.jpg")
    settings = load_settings(
        {
            "db": str(tmp_path / "db"),
            "channels": "phash",
            "captions.model": str(qwen),
            "captions.max_pixels": MAX_PIXELS,
            "captions.device": "cpu",
            "captions.batch_size": 2,
            "captions.max_new_tokens": 8,
            "workers": 0,
        }
    )
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


def test_batched_vision_attention_equals_the_per_window_loop(qwen: Path) -> None:
    from transformers import AutoModelForImageTextToText

    from shashin.models.vlm.transformers_vl import VLImage, use_batched_vision_attention

    reference = AutoModelForImageTextToText.from_pretrained(qwen).eval()
    batched = AutoModelForImageTextToText.from_pretrained(qwen).eval()
    for model in (reference, batched):  # random weights attend almost uniformly: sharpen them so a bug shows
        for block in model.model.visual.blocks:
            block.attn.qkv.weight.data *= 40
    assert use_batched_vision_attention(batched)
    images = [
        VLImage(28 * 28 * 200).render(photo(w, h, (120, 40, 200))) for w, h in [(900, 600), (300, 420), (200, 200)]
    ]
    patches = torch.from_numpy(np.concatenate([i["patches"] for i in images])).float() / 255
    grid = torch.from_numpy(np.stack([i["grid"] for i in images]))
    with torch.inference_mode():
        expected = reference.model.visual(patches, grid_thw=grid)
        ours = batched.model.visual(patches, grid_thw=grid)
    expected = getattr(expected, "pooler_output", expected)
    ours = getattr(ours, "pooler_output", ours)
    assert torch.allclose(ours, expected, atol=1e-4)
    assert (ours - expected).abs().max() < 1e-3 * expected.abs().max()


def test_unpatch_inverts_the_patch_layout(backend: TransformersVL) -> None:
    original = photo(900, 600, (200, 30, 30))
    rendition = backend.rendition().render(original)
    height, width = smart_resize(600, 900, 28, 56 * 56, MAX_PIXELS)
    assert np.array_equal(_unpatch(rendition), np.asarray(original.resize((width, height), Image.Resampling.BICUBIC)))
