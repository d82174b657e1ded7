"""The caption backend contract: photos (as renditions) + a prompt → one text per photo."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from shashin.media import Rendition


@dataclass(frozen=True)
class GenerationParams:
    """How to generate; recorded with every caption."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    repetition_penalty: float | None = None  # set on the retry of a looping caption

    def as_dict(self) -> dict[str, Any]:
        params: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature}
        if self.repetition_penalty is not None:
            params["repetition_penalty"] = self.repetition_penalty
        return params


class CaptionBackend(ABC):
    """Writes captions; one instance per run, loaded once."""

    name: ClassVar[str]

    @abstractmethod
    def identity(self) -> str:
        """The model that writes (id, folder or served name): recorded with each caption."""

    @abstractmethod
    def load(self) -> None:
        """Load or connect; ModelUnavailable with a fix-it message when it cannot."""

    @abstractmethod
    def rendition(self) -> Rendition:
        """What decode workers make of each photo for this backend."""

    @abstractmethod
    def caption(
        self, inputs: list[Any], prompt: str | Sequence[str], params: GenerationParams
    ) -> list[str | Exception]:
        """One caption (or the error that prevented it) per input, in order; `prompt` is one for
        all, or one per input (each photo's own context: `shashin caption --context`)."""

    def batch_size(self) -> int:
        """Photos per caption() call."""
        return 8

    def uses_accelerator(self) -> bool:
        return False


def prompt_each(prompt: str | Sequence[str], count: int) -> list[str]:
    """The prompt of each of `count` inputs."""
    if isinstance(prompt, str):
        return [prompt] * count
    if len(prompt) != count:
        raise ValueError(f"{len(prompt)} prompts for {count} photos")
    return list(prompt)
