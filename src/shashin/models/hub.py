"""Finding a checkpoint: a local folder, the Hugging Face cache, or a download when online.

Offline machines must not stall: the hub is only asked after a quick DNS check, and a model that
is neither here nor reachable is reported with the commands that fix it.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
from pathlib import Path

from shashin.models.base import ModelUnavailable

DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.jinja", "*.py"]


def looks_like_path(source: str) -> bool:
    """True for /abs, ./rel, ~/x and a/b/c (hub ids are "org/name")."""
    return source.startswith(("/", "./", "../", "~")) or source.count("/") > 1


def resolve_checkpoint(source: str, *, revision: str = "main", what: str = "model", flag: str = "") -> str:
    """A local folder holding `source`: the folder itself, the HF cache, or a fresh download."""
    local = Path(source).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file() and not (local / "modules.json").is_file():
            raise ModelUnavailable(
                f"{what} folder {local} has no config.json; save a checkpoint there with save_pretrained()"
            )
        return str(local)
    if looks_like_path(source):
        raise ModelUnavailable(
            f"{what} folder {local} does not exist; point {flag or 'the setting'} to a saved checkpoint folder"
        )
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(source, revision=revision, local_files_only=True, allow_patterns=DOWNLOAD_PATTERNS)
    except Exception:
        pass  # not in the cache: download if we can
    reason = offline_reason()
    if reason is None:
        try:
            return snapshot_download(source, revision=revision, allow_patterns=DOWNLOAD_PATTERNS)
        except Exception as exc:
            reason = f"download failed: {type(exc).__name__}: {exc}"
    raise ModelUnavailable(
        f"the {what} {source} is not on this machine and cannot be downloaded now ({reason}). "
        + download_advice(source, flag)
    )


def in_container() -> bool:
    """True inside shashin's own container image (its Containerfile sets SHASHIN_CONTAINER); a
    pip install inside some other container is an ordinary install."""
    return bool(os.environ.get("SHASHIN_CONTAINER"))


CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"  # PyPI's Linux torch is the multi-GB CUDA build


def install_advice(extra: str) -> str:
    """How to add an extra (torch-based channels) to this install, in the words of how it was made."""
    if in_container():
        return "this container image was built without them; build it again with the Containerfile's defaults"
    if f"{os.sep}pipx{os.sep}venvs{os.sep}" in sys.prefix:
        return f'pipx install --force "shashin[{extra}]" --pip-args="--extra-index-url {CPU_TORCH_INDEX}"'
    return f"{sys.executable} -m pip install 'shashin[{extra}]' --extra-index-url {CPU_TORCH_INDEX}"


def download_advice(source: str, flag: str = "") -> str:
    """How to get a model onto this machine, in the words of how shashin was installed: the
    container's cache volume, or the `hf` command of shashin's own environment (a pipx install
    does not put it on PATH, so its full path is given)."""
    folder = f", or save it to a folder and use that folder ({flag} /path/to/folder)" if flag else ""
    if in_container():
        return (
            f"Once the container can reach huggingface.co, `shashin index` downloads it by itself; or run "
            f"`docker compose exec shashin hf download {source}` (podman-compose alike) to keep it in the "
            f"/cache volume{folder}"
        )
    beside = Path(sys.executable).with_name("hf")
    hf = "hf" if shutil.which("hf") == str(beside) or not beside.exists() else str(beside)
    return (
        f"On a machine with network `shashin index` downloads it by itself; to bring it here, run "
        f"`{hf} download {source}` where there is network and copy ~/.cache/huggingface here{folder}"
    )


def is_cached(source: str, revision: str = "main") -> bool:
    """True when `source` is a local folder or already in the Hugging Face cache (no network)."""
    if Path(source).expanduser().is_dir():
        return True
    if looks_like_path(source):
        return False
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(source, revision=revision, local_files_only=True, allow_patterns=DOWNLOAD_PATTERNS)
        return True
    except Exception:
        return False


def offline_reason() -> str | None:
    """Why the hub cannot be reached now, without waiting long; None when it might be."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    result: list[str | None] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, 443)
            result.append(None)
        except OSError as exc:
            result.append(f"cannot resolve {host}: {exc}")

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(3.0)  # a blocked resolver must not stall indexing for a minute
    if not result:
        return f"no answer from DNS for {host} within 3 s"
    return result[0]
