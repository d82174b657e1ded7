"""Random image-text models of the real architectures, saved like a Hugging Face checkpoint.

Each builder writes config, weights, tokenizer and processor files into a folder that
`AutoModel.from_pretrained` / `AutoProcessor.from_pretrained` load exactly as they load a real
download. The weights are random: tests assert on structure and parity, never on meaning.
Shapes: "tiny" for tests; the vision towers of SigLIP2 base/large (256 px, patch 16) for
benchmarks, where the text tower keeps the real width and depth but a small vocabulary.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

_CORPUS = [
    "a photo of a cat",
    "a dog on the beach",
    "a man in a red shirt",
    "tokyo station at night",
    "赤いシャツの男性",
    "東京駅の夜",
    "海辺の犬",
    "猫の写真",
    "no litter",
    "mountain lake",
] * 20

# Byte-level BPE alphabet: every byte maps to a printable character, as GPT-2/CLIP do.
_BYTES = [chr(c) for c in range(33, 127)] + [chr(c) for c in range(161, 173)] + [chr(c) for c in range(174, 256)]
_BYTES += [chr(256 + i) for i in range(256 - len(_BYTES))]


def _byte_vocab(specials: list[str], extra: list[str]) -> dict[str, int]:
    vocab: dict[str, int] = {}
    for token in specials + _BYTES + extra:
        vocab.setdefault(token, len(vocab))
    return vocab


def _gemma_tokenizer(kind: str):  # type: ignore[no-untyped-def]
    """A Gemma-style BPE tokenizer (SigLIP2's family) with byte fallback, built offline."""
    from transformers.models.gemma.tokenization_gemma import GemmaTokenizer
    from transformers.models.siglip2.tokenization_siglip2 import Siglip2Tokenizer

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    letters = sorted({ch for line in _CORPUS for ch in line.replace(" ", "▁")})
    merges = [("▁", "a"), ("▁", "t"), ("o", "n")]
    vocab: dict[str, int] = {}
    for token in specials + byte_tokens + letters + ["".join(m) for m in merges]:
        vocab.setdefault(token, len(vocab))
    cls = Siglip2Tokenizer if kind == "siglip2" else GemmaTokenizer
    return cls(vocab=vocab, merges=merges)


def _clip_tokenizer():  # type: ignore[no-untyped-def]
    from transformers import CLIPTokenizer

    merges = [("a", "</w>"), ("t", "h"), ("o", "n")]
    extra = ["</w>"] + [c + "</w>" for c in _BYTES] + ["".join(m) for m in merges]
    vocab = _byte_vocab(["<|startoftext|>", "<|endoftext|>"], extra)
    return CLIPTokenizer(vocab=vocab, merges=merges)


def _siglip_tokenizer(folder: Path):  # type: ignore[no-untyped-def]
    """SigLIP (v1) uses SentencePiece: train a tiny model offline on a small corpus."""
    import sentencepiece as spm
    from transformers import SiglipTokenizer

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_CORPUS),
        model_writer=model,
        vocab_size=80,
        model_type="unigram",
        character_coverage=1.0,
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    path = folder / "spiece.model"
    path.write_bytes(model.getvalue())
    return SiglipTokenizer(vocab_file=str(path))


SHAPES = {
    "tiny": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2},
    "siglip2-base-patch16-256": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
    },
    "siglip2-large-patch16-256": {
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
    },
}


def _pil(name: str):  # type: ignore[no-untyped-def]
    """The PIL image processor class (transformers 5 names it …Pil; 4.x had only the slow one)."""
    import transformers as tf

    return getattr(tf, f"{name}Pil", None) or getattr(tf, name)


def build_tiny_model(
    kind: str, folder: Path, seed: int = 0, shape: str = "tiny", dtype: torch.dtype | None = None
) -> Path:
    """Write a random checkpoint of `kind` (siglip, siglip2-fixres, siglip2-naflex, clip) to `folder`."""
    import transformers as tf

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    layers = SHAPES[shape]
    image_size = 64 if shape == "tiny" else 256
    vision = dict(layers, patch_size=16)
    if kind == "clip":
        tokenizer = _clip_tokenizer()
        config = tf.CLIPConfig(
            text_config=dict(
                layers,
                vocab_size=len(tokenizer),
                max_position_embeddings=77,
                bos_token_id=0,
                eos_token_id=1,
                pad_token_id=1,
            ),
            vision_config=dict(vision, image_size=image_size),
            projection_dim=24 if shape == "tiny" else layers["hidden_size"],
        )
        model = tf.CLIPModel(config)
        image_processor = _pil("CLIPImageProcessor")(
            size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
        )
        processor = tf.CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)
    elif kind in ("siglip", "siglip2-fixres"):
        tokenizer = _siglip_tokenizer(folder) if kind == "siglip" else _gemma_tokenizer("gemma")
        config = tf.SiglipConfig(
            text_config=dict(layers, vocab_size=len(tokenizer), max_position_embeddings=64),
            vision_config=dict(vision, image_size=image_size),
        )
        model = tf.SiglipModel(config)
        image_processor = _pil("SiglipImageProcessor")(size={"height": image_size, "width": image_size}, resample=2)
        processor = tf.SiglipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    elif kind == "siglip2-naflex":
        tokenizer = _gemma_tokenizer("siglip2")
        patches = 16 if shape == "tiny" else 256
        config = tf.Siglip2Config(
            text_config=dict(layers, vocab_size=len(tokenizer), max_position_embeddings=64),
            vision_config=dict(vision, num_patches=patches),
        )
        model = tf.Siglip2Model(config)
        image_processor = _pil("Siglip2ImageProcessor")(patch_size=16, max_num_patches=patches)
        processor = tf.Siglip2Processor(image_processor=image_processor, tokenizer=tokenizer)
    else:
        raise ValueError(f"unknown model kind {kind!r}")
    if dtype is not None:
        model = model.to(dtype)  # smaller and faster to write for large benchmark shapes
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


QWEN_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}"
    "{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}"
    "<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
QWEN_SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
QWEN_SHAPES = {
    "tiny": {
        "text": {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
        },
        "vision": {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "fullatt_block_indexes": [1],
        },
        "mrope_section": [2, 1, 1],
    },
    # Qwen2.5-VL-7B-Instruct: 28 layers of 3584, GQA 28/4; a 32-block, 1280-wide vision tower.
    "qwen2.5-vl-7b": {
        "text": {
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "num_hidden_layers": 28,
            "num_attention_heads": 28,
            "num_key_value_heads": 4,
        },
        "vision": {
            "depth": 32,
            "hidden_size": 1280,
            "intermediate_size": 3420,
            "num_heads": 16,
            "fullatt_block_indexes": [7, 15, 23, 31],
        },
        "mrope_section": [16, 24, 24],
    },
}


def qwen_tokenizer():  # type: ignore[no-untyped-def]
    """Qwen2's byte-level BPE tokenizer class over a small vocabulary, with the real special tokens
    and Qwen2.5-VL's chat template."""
    from transformers.models.qwen2.tokenization_qwen2 import Qwen2Tokenizer

    vocab: dict[str, int] = {}
    for token in _BYTES:
        vocab.setdefault(token, len(vocab))
    merges = [("Ġ", "t"), ("h", "e"), ("Ġ", "a")]
    for first, second in merges:
        vocab.setdefault(first + second, len(vocab))
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, errors="replace")
    tokenizer.add_special_tokens({"additional_special_tokens": QWEN_SPECIAL_TOKENS})
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


def qwen_vl_config(tokenizer, shape: str = "tiny", vocab_size: int = 0):  # type: ignore[no-untyped-def]
    """A Qwen2.5-VL config of `shape` whose special tokens are `tokenizer`'s."""
    import transformers as tf

    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in QWEN_SPECIAL_TOKENS}
    spec = QWEN_SHAPES[shape]
    special = {
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    return tf.Qwen2_5_VLConfig(
        text_config=dict(
            spec["text"],
            vocab_size=max(vocab_size, len(tokenizer)),
            max_position_embeddings=32768,
            rope_scaling={"type": "mrope", "mrope_section": spec["mrope_section"]},
            tie_word_embeddings=shape == "tiny",
            **special,
        ),
        vision_config=dict(
            spec["vision"],
            out_hidden_size=spec["text"]["hidden_size"],
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
            window_size=112,
        ),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        **special,
    )


def qwen_image_processor():  # type: ignore[no-untyped-def]
    return _pil("Qwen2VLImageProcessor")(
        min_pixels=56 * 56, max_pixels=28 * 28 * 1280, patch_size=14, merge_size=2, temporal_patch_size=2
    )


def build_qwen_vl(folder: Path, *, shape: str = "tiny", seed: int = 0) -> Path:
    """A random Qwen2.5-VL checkpoint with the real special tokens and chat template, built offline."""
    import transformers as tf

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = qwen_tokenizer()
    model = tf.Qwen2_5_VLForConditionalGeneration(qwen_vl_config(tokenizer, shape))
    model.generation_config.eos_token_id = [
        tokenizer.convert_tokens_to_ids("<|im_end|>"),
        tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    ]
    model.generation_config.pad_token_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "chat_template.jinja").write_text(QWEN_CHAT_TEMPLATE, encoding="utf-8")
    qwen_image_processor().save_pretrained(folder)
    return folder
