"""The image-text backend against a direct transformers call: same vectors, for every family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tools.render import Sign, save
from transformers import AutoModel, AutoProcessor

from shashin.ingest.decode import DecodeJob, DecodePool
from shashin.media import decode_photo
from shashin.models.base import ModelUnavailable
from shashin.models.image_text import ImageTextModel
from tests.conftest import TINY_KINDS

TEXTS = ["A photo of a Cat", "赤いシャツの男性", "Tokyo Station at night, in the rain, with many people walking by"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Photos of several shapes and formats (small enough that JPEG decoding is never reduced)."""
    folder = tmp_path_factory.mktemp("parity")
    return [
        save(Sign(["WIDE"], seed=1, size=(300, 120)), folder / "wide.png"),
        save(Sign(["TALL"], seed=2, size=(90, 260)), folder / "tall.jpg"),
        save(Sign(["SQUARE"], seed=3, size=(200, 200)), folder / "square.webp"),
        save(Sign(["SMALL"], seed=4, size=(40, 30)), folder / "small.png"),
    ]


def reference_image_vectors(folder: Path, paths: list[Path]) -> np.ndarray:
    """What the model card does: processor(images=...) then get_image_features, one photo at a time."""
    model, processor = AutoModel.from_pretrained(folder).eval(), AutoProcessor.from_pretrained(folder)
    kwargs = {"max_num_patches": 16} if hasattr(processor.image_processor, "max_num_patches") else {}
    vectors = []
    for path in paths:
        inputs = processor(images=Image.open(path).convert("RGB"), return_tensors="pt", **kwargs)
        with torch.no_grad():
            vector = model.get_image_features(**inputs).pooler_output[0]
        vectors.append((vector / vector.norm()).numpy())
    return np.stack(vectors)


def reference_text_vectors(folder: Path, texts: list[str]) -> np.ndarray:
    model, processor = AutoModel.from_pretrained(folder).eval(), AutoProcessor.from_pretrained(folder)
    if model.config.model_type in ("siglip", "siglip2"):
        lowercase = type(processor.tokenizer).__name__.startswith(("Gemma", "Siglip2"))
        texts = [t.lower() for t in texts] if lowercase else texts
        inputs = processor(text=texts, padding="max_length", max_length=64, truncation=True, return_tensors="pt")
    else:
        inputs = processor(text=texts, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        vectors = model.get_text_features(**inputs).pooler_output
    return (vectors / vectors.norm(dim=1, keepdim=True)).numpy()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("kind", TINY_KINDS)
def test_image_vectors_match_the_reference(kind: str, tiny_models: dict[str, Path], photos: list[Path]) -> None:
    model = ImageTextModel(str(tiny_models[kind]), device="cpu", dtype="float32")
    model.load()
    rendition = {"image": model.rendition()}
    decoded = [decode_photo(str(p), p.name, max_pixels=10**8, renditions=rendition) for p in photos]
    ours = model.embed_prepared([photo.renditions["image"] for photo in decoded])
    expected = reference_image_vectors(tiny_models[kind], photos)
    assert ours.shape == expected.shape and ours.dtype == np.float32
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosines(ours, expected).min() >= 0.9999


@pytest.mark.parametrize("kind", TINY_KINDS)
def test_text_vectors_match_the_reference(kind: str, tiny_models: dict[str, Path]) -> None:
    model = ImageTextModel(str(tiny_models[kind]), device="cpu", dtype="float32")
    model.load()
    assert cosines(model.embed_texts(TEXTS), reference_text_vectors(tiny_models[kind], TEXTS)).min() >= 0.9999


def test_batches_give_the_same_vectors_as_single_photos(tiny_models: dict[str, Path], photos: list[Path]) -> None:
    model = ImageTextModel(str(tiny_models["siglip2-fixres"]), device="cpu", dtype="float32", batch_size=3)
    model.load()
    images = [Image.open(p).convert("RGB") for p in photos]
    together = model.embed_images(images)
    alone = np.concatenate([model.embed_images([image]) for image in images])
    assert cosines(together, alone).min() >= 0.9999


def test_decode_workers_prepare_the_same_input(tiny_models: dict[str, Path], photos: list[Path]) -> None:
    model = ImageTextModel(str(tiny_models["siglip2-naflex"]), device="cpu", dtype="float32")
    model.load()
    jobs = [DecodeJob(str(p), p.name, 10**8, {"image": model.rendition()}) for p in photos]
    with DecodePool(2) as pool:
        in_workers = [photo.renditions["image"] for _, photo in pool.decode(jobs)]
    in_process = [
        decode_photo(str(p), p.name, max_pixels=10**8, renditions={"image": model.rendition()}).renditions["image"]
        for p in photos
    ]
    for a, b in zip(in_workers, in_process):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert (
        cosines(model.embed_prepared(in_workers), reference_image_vectors(tiny_models["siglip2-naflex"], photos)).min()
        >= 0.9999
    )


def test_large_jpeg_decoded_at_reduced_scale_stays_close(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    # JPEGs are decoded at a reduced DCT scale (never below twice the model input): a speed-up
    # that must not change what the model sees in any way that matters.
    path = save(Sign(["BIG"], seed=5, size=(2400, 1600)), tmp_path / "big.jpg")
    model = ImageTextModel(str(tiny_models["siglip2-fixres"]), device="cpu", dtype="float32")
    model.load()
    photo = decode_photo(str(path), "big", max_pixels=10**8, renditions={"image": model.rendition()})
    ours = model.embed_prepared([photo.renditions["image"]])
    assert cosines(ours, reference_image_vectors(tiny_models["siglip2-fixres"], [path]))[0] >= 0.999


@pytest.mark.parametrize("kind", ["siglip2-fixres", "clip"])
def test_bfloat16_stays_close_to_the_reference(kind: str, tiny_models: dict[str, Path], photos: list[Path]) -> None:
    # bfloat16 is the CPU default where the CPU has native bf16 (3× faster, bench/bench_embed.py).
    model = ImageTextModel(str(tiny_models[kind]), device="cpu", dtype="bfloat16")
    model.load()
    ours = model.embed_images([Image.open(p).convert("RGB") for p in photos])
    assert cosines(ours, reference_image_vectors(tiny_models[kind], photos)).min() >= 0.999
    assert cosines(model.embed_texts(TEXTS), reference_text_vectors(tiny_models[kind], TEXTS)).min() >= 0.999


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("kind", TINY_KINDS)
def test_cuda_vectors_match_the_reference(kind: str, tiny_models: dict[str, Path], photos: list[Path]) -> None:
    images = [Image.open(p).convert("RGB") for p in photos]
    expected_images = reference_image_vectors(tiny_models[kind], photos)
    expected_texts = reference_text_vectors(tiny_models[kind], TEXTS)
    for dtype, tolerance in (("float32", 0.9999), ("auto", 0.999)):  # auto: bfloat16 or float16
        model = ImageTextModel(str(tiny_models[kind]), device="cuda", dtype=dtype)
        model.load()
        assert cosines(model.embed_images(images), expected_images).min() >= tolerance, dtype
        assert cosines(model.embed_texts(TEXTS), expected_texts).min() >= tolerance, dtype


def test_missing_folder_is_unavailable_with_a_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="does not exist"):
        ImageTextModel(str(tmp_path / "no-such-model")).load()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="no config.json"):
        ImageTextModel(str(tmp_path / "empty")).load()


def test_uncached_hub_model_offline_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    with pytest.raises(ModelUnavailable, match=r"hf download google/siglip2-base-patch16-256.*--image-model"):
        ImageTextModel("google/siglip2-base-patch16-256").load()


def test_not_an_image_text_model(tmp_path: Path, tiny_models: dict[str, Path]) -> None:
    from transformers import BertConfig, BertModel

    folder = tmp_path / "bert"
    BertModel(
        BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    ).save_pretrained(folder)
    with pytest.raises(ModelUnavailable):
        ImageTextModel(str(folder)).load()


def test_identity_follows_the_checkpoint(tiny_models: dict[str, Path]) -> None:
    first = ImageTextModel(str(tiny_models["clip"])).identity()
    assert first == ImageTextModel(str(tiny_models["clip"])).identity()
    assert first != ImageTextModel(str(tiny_models["siglip"])).identity()
    assert (
        ImageTextModel("google/siglip2-base-patch16-256", revision="v1")
        .identity()
        .startswith("google/siglip2-base-patch16-256@v1")
    )


def test_plain_geometry_is_used_only_when_it_matches_the_processor(
    tiny_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shashin.models.image_text import FixedGeometry

    model = ImageTextModel(str(tiny_models["clip"]), device="cpu")
    model.load()
    assert model.rendition().geometry is not None  # CLIP: shortest-edge resize + centre crop
    monkeypatch.setattr(FixedGeometry, "apply", lambda self, image: np.zeros((3, 64, 64), np.uint8))
    other = ImageTextModel(str(tiny_models["clip"]), device="cpu")
    other.load()
    assert other.rendition().geometry is None  # a mismatch on the probe images: the processor is used
