"""What every transformers model here shares: the device, the dtype, quiet loading, PIL processors.

One place so that the image-text model and the caption model choose devices and precisions the
same way, and a new model family gets them by calling these functions.
"""

from __future__ import annotations

from typing import Any

from shashin.models.base import ModelUnavailable

DTYPES = ("float32", "float16", "bfloat16")


def require_torch(what: str, extra: str = "image", *, also: tuple[str, ...] = ("transformers",)) -> None:
    """Raise ModelUnavailable, saying how to add them, when torch (or `also`) is not installed:
    the light install leaves them out (`shashin[image]`, `shashin[captions-local]` add them)."""
    import importlib

    from shashin.models.hub import install_advice

    missing = []
    for name in ("torch", *also):  # imported, not only looked for: the model loads them next anyway
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ModelUnavailable(
            f"{what} need {' and '.join(missing)}, which this install leaves out: {install_advice(extra)}"
        )


def pick_device(requested: str = "auto") -> str:
    """The torch device to run on: `requested`, or the best one present when "auto"."""
    if requested != "auto":
        return requested
    try:
        import torch
    except ImportError:  # a light install (no `shashin[image]`): nothing runs on a GPU anyway
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def torch_dtype(requested: str, device: str, *, setting: str, cpu_bf16: bool = False, mps_half: bool = False) -> Any:
    """The torch dtype for `requested` ("auto" or a name) on `device`. For "auto": bfloat16 on GPUs
    that have it (else float16); float16 on Apple GPUs when `mps_half`; on CPUs bfloat16 when
    `cpu_bf16` and the CPU computes it natively (measured 3× faster for a ViT, bench/bench_embed.py),
    else float32. `setting` names the option in the error for an unknown name."""
    import torch

    names = {name: getattr(torch, name) for name in DTYPES}
    if requested != "auto":
        if requested not in names:
            raise ModelUnavailable(f"unknown {setting} {requested!r} (use auto, {', '.join(names)})")
        return names[requested]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps" and mps_half:
        return torch.float16
    return torch.bfloat16 if cpu_bf16 and cpu_has_native_bf16() else torch.float32


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX), read from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def quiet_transformers() -> None:
    """Silence transformers' warnings and download bars: they are for model authors, not our users."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def from_pretrained_pil(auto_class: Any, folder: str) -> Any:
    """A processor loaded with the PIL image backend: the same pixels on every machine, torchvision or not."""
    try:
        return auto_class.from_pretrained(folder, backend="pil")
    except TypeError:  # transformers 4.x: the slow processors are the PIL ones
        return auto_class.from_pretrained(folder, use_fast=False)


def load_weights(auto_class: Any, folder: str, dtype: Any, device: str) -> Any:
    """A model's weights in `dtype` on `device`, in evaluation mode."""
    try:
        model = auto_class.from_pretrained(folder, dtype=dtype)
    except TypeError:  # transformers < 4.56 names it torch_dtype
        model = auto_class.from_pretrained(folder, torch_dtype=dtype)
    return model.to(device).eval()
