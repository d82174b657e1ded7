"""Captions from any OpenAI-compatible /v1/chat/completions server: vLLM, Ollama, llama.cpp, LM Studio.

The photo travels as a base64 JPEG data URL. Requests run concurrently up to a limit, each within
a total deadline (a server that drips a byte at a time is cut off like one that never answers),
and are retried with exponential backoff on 429, 5xx and connection errors (honouring
Retry-After). An answer is read up to a size cap and must hold text; anything else fails that
photo only.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import numpy as np
from PIL import Image

from shashin.config import CaptionSettings
from shashin.errors import Unavailable
from shashin.models.base import ModelUnavailable
from shashin.models.vlm.base import CaptionBackend, GenerationParams, prompt_each

_RETRIED_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_MAX_BACKOFF = 30.0
_CHECK_SECONDS = 5.0  # at least this long for a server to list its models
MAX_ANSWER_BYTES = 1 << 20  # a caption is a few hundred bytes; a bigger answer is a broken or hostile server


@dataclass(frozen=True)
class ServerImage:
    """A rendition: the photo as JPEG bytes, at most `max_pixels`, for a data URL."""

    max_pixels: int
    quality: int = 90

    @property
    def draft_side(self) -> int:
        return int(self.max_pixels**0.5)

    def render(self, image: Image.Image) -> bytes:
        width, height = image.size
        if width * height > self.max_pixels:
            scale = (self.max_pixels / (width * height)) ** 0.5
            image = image.resize((max(1, int(width * scale)), max(1, int(height * scale))), Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=self.quality)
        return buffer.getvalue()


class CaptionServerError(Unavailable, RuntimeError):
    """The server refused or failed a request; the message has its status and answer."""


class OpenAICompatible(CaptionBackend):
    """A chat-completions client for a captioning server."""

    name: ClassVar[str] = "openai"

    def __init__(self, settings: CaptionSettings, *, backoff: float = 1.0) -> None:
        self.settings = settings
        # One server, or a pool of replicas (vLLM on several GPUs): URLs separated by commas or spaces.
        self.urls = [url.rstrip("/") for url in settings.url.replace(",", " ").split() if url.strip()]
        self.model = settings.model
        self.api_key = settings.api_key or os.environ.get("OPENAI_API_KEY", "")
        self.backoff = backoff
        self._in_flight: dict[str, int] = {}

    def identity(self) -> str:
        return self.model

    def load(self) -> None:
        """Check that the servers answer (a pool keeps those that do), and pick the model when the
        setting is "auto"."""
        if not self.urls:
            raise ModelUnavailable("no caption server URL; pass --url http://HOST:PORT/v1")
        problems: list[str] = []
        answering: list[str] = []
        for url in self.urls:
            try:
                served = self._check(url)
            except ModelUnavailable as exc:
                problems.append(str(exc))
                continue
            if self.model == "auto":
                self.model = served[0]
            answering.append(url)
        if not answering:
            raise ModelUnavailable("; ".join(problems))
        self.urls = answering
        self._in_flight = dict.fromkeys(answering, 0)

    def _check(self, url: str) -> list[str]:
        """The models one server lists; ModelUnavailable when it cannot be used."""
        # Listing models is quick on any server, but not bounded by a caption's timeout: a short
        # timeout meant for generation must not make a busy machine's server look unreachable.
        deadline = min(10.0, max(_CHECK_SECONDS, self.settings.timeout))
        try:
            status, data = asyncio.run(asyncio.wait_for(self._get(f"{url}/models", deadline), timeout=deadline))
        except (TimeoutError, httpx.HTTPError, CaptionServerError) as exc:
            why = (
                f"no answer within {deadline:g} s"
                if isinstance(exc, asyncio.TimeoutError)
                else f"{type(exc).__name__}: {exc}"
            )
            raise ModelUnavailable(
                f"cannot reach the caption server at {url} ({why}); start one, e.g. "
                "`vllm serve Qwen/Qwen2.5-VL-7B-Instruct` or `ollama serve` (url http://127.0.0.1:11434/v1), "
                "and pass --url"
            ) from exc
        if status in (401, 403):
            raise ModelUnavailable(
                f"the caption server at {url} refused the API key ({status}); set --api-key or $OPENAI_API_KEY"
            )
        try:
            served = [str(entry["id"]) for entry in json.loads(data).get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            served = []
        if self.model == "auto" and not served:
            raise ModelUnavailable(f"the caption server at {url} lists no model; pass --model NAME")
        return served or [self.model]

    async def _get(self, url: str, timeout: float) -> tuple[int, bytes]:
        async with (
            httpx.AsyncClient(timeout=timeout, headers=self._headers()) as client,
            client.stream("GET", url) as response,
        ):
            return response.status_code, await _read_capped(response)

    def _pick(self, tried: set[str]) -> str:
        """The least busy server of the pool, preferring ones this request has not failed on."""
        candidates = [url for url in self.urls if url not in tried] or self.urls
        return min(candidates, key=lambda url: self._in_flight.get(url, 0))

    def rendition(self) -> ServerImage:
        return ServerImage(self.settings.max_pixels)

    def batch_size(self) -> int:
        return max(self.settings.batch_size, self.settings.concurrency * 2 * max(1, len(self.urls)))

    def caption(
        self, inputs: list[Any], prompt: str | Sequence[str], params: GenerationParams
    ) -> list[str | Exception]:
        return asyncio.run(self._caption_all(inputs, prompt_each(prompt, len(inputs)), params))

    async def _caption_all(
        self, inputs: list[Any], prompts: list[str], params: GenerationParams
    ) -> list[str | Exception]:
        limit = asyncio.Semaphore(self.settings.concurrency * max(1, len(self.urls)))  # `concurrency` per server
        timeout = httpx.Timeout(self.settings.timeout, connect=min(10.0, self.settings.timeout))
        async with httpx.AsyncClient(timeout=timeout, headers=self._headers()) as client:

            async def one(image: Any, prompt: str) -> str | Exception:
                async with limit:
                    try:
                        return await self._request(client, image, prompt, params)
                    except Exception as exc:  # this photo fails; the others go on
                        return exc

            return list(await asyncio.gather(*(one(image, p) for image, p in zip(inputs, prompts, strict=True))))

    async def _request(self, client: httpx.AsyncClient, image: Any, prompt: str, params: GenerationParams) -> str:
        body = self._body(image, prompt, params)
        tried: set[str] = set()
        for attempt in range(self.settings.retries + 1):
            last = attempt == self.settings.retries
            url = self._pick(tried)
            self._in_flight[url] = self._in_flight.get(url, 0) + 1
            try:
                # One deadline for the whole exchange: httpx's timeout is per read, which a server
                # sending a byte every few seconds never trips.
                status, headers, data = await asyncio.wait_for(
                    self._post(client, f"{url}/chat/completions", body), timeout=self.settings.timeout
                )
            except (TimeoutError, httpx.TransportError, httpx.TimeoutException) as exc:
                tried.add(url)  # the next try goes to another server of the pool, if there is one
                if last:
                    why = (
                        f"no complete answer within {self.settings.timeout:g} s"
                        if isinstance(exc, asyncio.TimeoutError)
                        else f"{type(exc).__name__}: {exc}"
                    )
                    raise CaptionServerError(f"no answer from {url} after {attempt + 1} tries: {why}") from exc
                await asyncio.sleep(self._delay(attempt, None) if len(tried) >= len(self.urls) else 0)
                continue
            finally:
                self._in_flight[url] -= 1
            if status == 200:
                return _message_text(data)
            if status not in _RETRIED_STATUS or last:
                raise CaptionServerError(f"the server answered {status}: {_shown(data)}")
            tried.add(url)  # busy or failing: another server of the pool gets the next try at once
            if len(tried) >= len(self.urls):
                await asyncio.sleep(self._delay(attempt, headers.get("retry-after")))
        raise CaptionServerError("unreachable")  # pragma: no cover - the loop returns or raises

    @staticmethod
    async def _post(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> tuple[int, httpx.Headers, bytes]:
        """Status, headers and body of one request, the body read up to MAX_ANSWER_BYTES."""
        async with client.stream("POST", url, json=body) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                raise CaptionServerError(
                    f"the server's answer is {int(declared):,} bytes; a caption needs far less "
                    f"(limit {MAX_ANSWER_BYTES:,})"
                )
            return response.status_code, response.headers, await _read_capped(response)

    def _body(self, image: Any, prompt: str, params: GenerationParams) -> dict[str, Any]:
        data = image if isinstance(image, bytes) else ServerImage(self.settings.max_pixels).render(_as_image(image))
        url = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": prompt}],
                }
            ],
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
        }
        if params.repetition_penalty is not None:
            # The standard knob; vLLM, Ollama and llama.cpp map it onto their own repetition penalty.
            body["frequency_penalty"] = round(min(2.0, max(0.0, (params.repetition_penalty - 1.0) * 2)), 3)
        return body

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(_MAX_BACKOFF, max(0.0, float(retry_after)))
            except ValueError:
                pass
        return min(_MAX_BACKOFF, self.backoff * (2**attempt)) * (0.5 + random.random() / 2)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


async def _read_capped(response: httpx.Response) -> bytes:
    """A response's body, refused (CaptionServerError) as soon as it passes MAX_ANSWER_BYTES."""
    received = bytearray()
    async for chunk in response.aiter_bytes():
        received += chunk
        if len(received) > MAX_ANSWER_BYTES:
            raise CaptionServerError(
                f"the server's answer goes on beyond {MAX_ANSWER_BYTES:,} bytes; a caption needs far less"
            )
    return bytes(received)


def _message_text(data: bytes) -> str:
    """The text of a chat-completions answer; CaptionServerError for anything else."""
    try:
        content = json.loads(data)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise CaptionServerError(f"the server's answer has no message: {_shown(data)}") from exc
    if isinstance(content, list):  # some servers answer in parts
        content = "".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    if content is None:
        return ""
    if not isinstance(content, str):
        raise CaptionServerError(f"the server's answer holds no text (its content is a {type(content).__name__})")
    return content


def _shown(data: bytes) -> str:
    """The start of an answer, for an error message."""
    return data[:300].decode("utf-8", "replace")


def _as_image(value: Any) -> Image.Image:
    return value if isinstance(value, Image.Image) else Image.fromarray(np.asarray(value, dtype=np.uint8))
