"""The OpenAI-compatible client against a real HTTP server on 127.0.0.1: retries, timeouts, limits."""

from __future__ import annotations

import io
import time
from collections import deque

import numpy as np
import pytest
from PIL import Image

from shashin.config import load_settings
from shashin.models.base import ModelUnavailable
from shashin.models.vlm.base import GenerationParams
from shashin.models.vlm.openai_compat import CaptionServerError, OpenAICompatible, ServerImage
from tests.fake_vlm_server import CAPTIONS, LOOP, FakeVLMServer, Script

PROMPT = "Describe this image in one sentence."
RED = ServerImage(602_112).render(Image.new("RGB", (640, 480), (200, 30, 30)))


def client(url: str, **extra: object) -> OpenAICompatible:
    settings = load_settings({"captions.backend": "openai", "captions.url": url, "captions.model": "auto", **extra})
    backend = OpenAICompatible(settings.captions, backoff=0.01)
    backend.load()
    return backend


def test_success_and_model_discovery() -> None:
    with FakeVLMServer() as server:
        backend = client(server.url)
        assert backend.identity() == "fake-vlm"
        [text] = backend.caption([RED], PROMPT, GenerationParams(32))
        assert text == CAPTIONS[(200, 30, 30)][0]
        [request] = server.script.requests
        assert request["model"] == "fake-vlm" and request["max_tokens"] == 32 and request["temperature"] == 0.0
        assert "frequency_penalty" not in request


def test_429_then_success_is_retried() -> None:
    with FakeVLMServer(Script(actions=deque([("status", 429), ("status", 503)]))) as server:
        [text] = client(server.url).caption([RED], PROMPT, GenerationParams())
        assert text.startswith("A red sports car") and len(server.script.requests) == 3


def test_persistent_500_fails_that_photo_only() -> None:
    with FakeVLMServer(Script(actions=deque([("status", 500)] * 5))) as server:
        first, second = client(server.url, **{"captions.retries": 4, "captions.concurrency": 1}).caption(
            [RED, RED], PROMPT, GenerationParams()
        )
        assert isinstance(first, CaptionServerError) and "500" in str(first)
        assert isinstance(second, str)  # the server recovered for the next photo


def test_4xx_is_not_retried() -> None:
    with FakeVLMServer(Script(actions=deque([("status", 400)]))) as server:
        [result] = client(server.url).caption([RED], PROMPT, GenerationParams())
        assert isinstance(result, CaptionServerError) and "400" in str(result)
        assert len(server.script.requests) == 1


def test_timeouts_are_retried_then_reported() -> None:
    # A caption's timeout is not the health check's (it lists models within at least 5 s), and the
    # margins hold on a loaded machine: an answer at once against one 2.5 s late, for a 1 s timeout.
    with FakeVLMServer(Script(actions=deque([("sleep", 2.5)]))) as server:
        [text] = client(server.url, **{"captions.timeout": 1.0}).caption([RED], PROMPT, GenerationParams())
        assert isinstance(text, str)  # the second try answered in time
    with FakeVLMServer(Script(actions=deque([("sleep", 2.5)] * 2))) as server:
        [result] = client(server.url, **{"captions.timeout": 1.0, "captions.retries": 1}).caption(
            [RED], PROMPT, GenerationParams()
        )
        assert isinstance(result, CaptionServerError) and "no answer" in str(result)


def test_a_short_caption_timeout_does_not_shorten_the_health_check() -> None:
    with FakeVLMServer(Script(models_delay=0.5)) as server:
        backend = client(server.url, **{"captions.timeout": 0.1})  # before: "no answer within 0.1 s"
        assert backend.identity() == "fake-vlm"


def test_concurrency_is_limited() -> None:
    with FakeVLMServer(Script(actions=deque([("sleep", 0.2)] * 12))) as server:
        results = client(server.url, **{"captions.concurrency": 3}).caption([RED] * 12, PROMPT, GenerationParams())
        assert all(isinstance(r, str) for r in results)
        assert server.script.max_in_flight == 3


def test_repetition_penalty_becomes_frequency_penalty() -> None:
    with FakeVLMServer(Script(actions=deque([("loop",)]))) as server:
        backend = client(server.url)
        [looped] = backend.caption([RED], PROMPT, GenerationParams())
        assert looped == LOOP
        backend.caption([RED], PROMPT, GenerationParams(repetition_penalty=1.3))
        assert server.script.requests[-1]["frequency_penalty"] == pytest.approx(0.6)


def test_api_key_is_sent_and_a_wrong_one_is_reported() -> None:
    with FakeVLMServer(Script(api_key="s3cret")) as server:
        assert isinstance(
            client(server.url, **{"captions.api_key": "s3cret"}).caption([RED], PROMPT, GenerationParams())[0], str
        )
        with pytest.raises(ModelUnavailable, match="refused the API key"):
            client(server.url, **{"captions.api_key": "wrong"})


def test_unreachable_server_says_how_to_start_one() -> None:
    with pytest.raises(ModelUnavailable, match="vllm serve"):
        client("http://127.0.0.1:9/v1")


def test_large_photos_are_sent_within_max_pixels() -> None:
    data = ServerImage(602_112).render(Image.fromarray(np.zeros((3000, 4000, 3), dtype=np.uint8)))
    width, height = Image.open(io.BytesIO(data)).size
    assert width * height <= 602_112 and abs(width / height - 4 / 3) < 0.01


def test_a_server_dripping_bytes_meets_a_total_deadline() -> None:
    with FakeVLMServer(Script(actions=deque([("drip", 0.05)] * 2))) as server:
        started = time.monotonic()
        [result] = client(server.url, **{"captions.timeout": 1.0, "captions.retries": 1}).caption(
            [RED], PROMPT, GenerationParams()
        )
        assert isinstance(result, CaptionServerError) and "no complete answer within 1 s" in str(result)
        assert time.monotonic() - started < 6  # two tries of one second, not a minute of dripping


@pytest.mark.parametrize("declared", [True, False])
def test_huge_and_endless_answers_are_refused_without_reading_them(declared: bool) -> None:
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with FakeVLMServer(Script(actions=deque([("huge", 50_000_000, declared), ("endless",)]))) as server:
        huge, endless = client(server.url, **{"captions.concurrency": 1}).caption(
            [RED, RED], PROMPT, GenerationParams()
        )
    for result in (huge, endless):
        assert isinstance(result, CaptionServerError) and "bytes; a caption needs far less" in str(result)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB: not 50 MB × copies


@pytest.mark.parametrize("content", [42, {"text": "x"}, ["a", 1], True])
def test_answers_that_hold_no_text_fail_that_photo(content: object) -> None:
    with FakeVLMServer(Script(actions=deque([("content", content)]))) as server:
        first, second = client(server.url, **{"captions.concurrency": 1}).caption(
            [RED, RED], PROMPT, GenerationParams()
        )
    assert isinstance(first, CaptionServerError) or first == ""
    assert isinstance(second, str) and second.startswith("A red sports car")
