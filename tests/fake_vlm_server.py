"""An OpenAI-compatible chat-completions server on 127.0.0.1 for tests: the edge we cannot reach.

It checks each request the way a real server would (model, messages, a base64 JPEG data URL, a
prompt), captions photos by their dominant colour, and can be scripted to fail: answer 429/5xx,
stall past the client's timeout, loop ("Types Types Types…"), or behave as a hostile server
would: drip its answer a byte at a time, send 50 MB, stream without end, answer a number.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from PIL import Image

# Captions by dominant colour, in English and Japanese.
CAPTIONS = {
    (200, 30, 30): ("A red sports car parked on a city street.", "街の通りに停まっている赤いスポーツカー。"),
    (30, 60, 200): ("A small boat sailing on the blue sea.", "青い海を進む小さな船。"),
    (30, 160, 60): ("A green forest with tall trees and a path.", "高い木々と小道のある緑の森。"),
}
LOOP = "Types " * 40


@dataclass
class Script:
    """What the server does next: each request pops one action; then it answers normally."""

    # ("status", code) | ("sleep", seconds) | ("loop",) | ("text", s) | ("content", any JSON value)
    # | ("drip", seconds between bytes) | ("huge", bytes, declared: bool) | ("endless",)
    actions: deque = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    loop_always: bool = False  # every answer loops unless a penalty is asked for … or even then
    loop_even_with_penalty: bool = False
    api_key: str | None = None
    models_delay: float = 0.0  # seconds before GET /models answers (a busy server)


def caption_for(image: Image.Image, prompt: str) -> str:
    mean = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3).mean(axis=0)
    colour = min(CAPTIONS, key=lambda c: float(np.sum((np.array(c) - mean) ** 2)))
    english, japanese = CAPTIONS[colour]
    return japanese if "日本語" in prompt else english


class _Handler(BaseHTTPRequestHandler):
    script: Script

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            time.sleep(self.script.models_delay)
            if not self._authorized():
                return self._send(401, {"error": {"message": "bad key"}})
            return self._send(200, {"object": "list", "data": [{"id": "fake-vlm", "object": "model"}]})
        self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        script = self.script
        with script.lock:
            script.in_flight += 1
            script.max_in_flight = max(script.max_in_flight, script.in_flight)
        self._counted = True
        try:
            self._answer(script)
        finally:
            self._answered()

    def _answered(self) -> None:
        """Leave the in-flight count before the first byte of the answer: once the client has it, it may
        send its next request, which must not find this one still counted."""
        if getattr(self, "_counted", False):
            self._counted = False
            with self.script.lock:
                self.script.in_flight -= 1

    def _answer(self, script: Script) -> None:
        if not self._authorized():
            return self._send(401, {"error": {"message": "bad key"}})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with script.lock:
            script.requests.append(body)
            action = script.actions.popleft() if script.actions else None
        content = body["messages"][0]["content"]
        url = next(part["image_url"]["url"] for part in content if part["type"] == "image_url")
        prompt = next(part["text"] for part in content if part["type"] == "text")
        assert body["model"] and url.startswith("data:image/jpeg;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        assert image.format == "JPEG"
        if action and action[0] == "status":
            return self._send(action[1], {"error": {"message": f"scripted {action[1]}"}}, {"Retry-After": "0"})
        if action and action[0] == "sleep":
            time.sleep(action[1])
        if action and action[0] in ("drip", "huge", "endless", "content"):
            return self._hostile(action)
        penalised = "frequency_penalty" in body
        if (action and action[0] == "loop") or (
            script.loop_always and (not penalised or script.loop_even_with_penalty)
        ):
            text = LOOP
        elif action and action[0] == "text":
            text = action[1]
        else:
            text = caption_for(image, prompt)
        self._send(
            200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
        )

    def _hostile(self, action: tuple[Any, ...]) -> None:
        self._answered()
        try:
            if action[0] == "content":
                return self._send(
                    200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": action[1]}}]}
                )
            if action[0] == "drip":
                data = json.dumps({"choices": [{"message": {"content": "A slow caption."}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(action[1])
                return None
            if action[0] == "huge":
                text = "A" * action[1]
                data = json.dumps({"choices": [{"message": {"content": text}}]}).encode()
                self.send_response(200)
                if action[2]:
                    self.send_header("Content-Length", str(len(data)))
                else:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(data), 1 << 16):
                    piece = data[start : start + (1 << 16)]
                    self.wfile.write(piece if action[2] else b"%x\r\n%s\r\n" % (len(piece), piece))
                if not action[2]:
                    self.wfile.write(b"0\r\n\r\n")
                return None
            self.send_response(200)  # endless: chunks until the client hangs up
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                self.wfile.write(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return None

    def _authorized(self) -> bool:
        key = self.script.api_key
        return key is None or self.headers.get("Authorization") == f"Bearer {key}"

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self._answered()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


class FakeVLMServer:
    """Start on a free port of 127.0.0.1 (or `port`); `url` is the /v1 base; use as a context manager."""

    def __init__(self, script: Script | None = None, port: int = 0) -> None:
        self.script = script or Script()
        handler = type("Handler", (_Handler,), {"script": self.script})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        # serve_forever looks for shutdown every poll_interval: 0.5 s by default, paid by every test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> FakeVLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
