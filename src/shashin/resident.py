"""A resident process answers the CLI: `shashin serve` listens on a socket in the library folder.

A CLI search in a fresh process pays for imports, opening the tables and building what search
reads before it answers; a running server has all of that warm. So a server listens on
`<library>/resident.sock` (a Unix socket, owner-only: mode 0600 and the peer's uid checked), and
`shashin search` asks it first, falling back silently to searching itself when nothing listens,
the server runs with other settings, or anything goes wrong.

The protocol is one JSON object per line each way: {"op": ..., "settings": fingerprint, ...}
→ {"ok": true, ...} or {"ok": false, "error": ..., "exit_code": n} or {"fallback": reason}.
This module is the transport only, light to import (the client side imports nothing heavy).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import socketserver
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SOCKET_NAME = "resident.sock"
_MAX_PATH = 100  # sun_path holds 108 bytes on Linux; longer paths go through the folder's descriptor
_LIMIT = 64 * 1024 * 1024  # largest message read either way

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def settings_fingerprint(settings: Any) -> str:
    """A short digest of every setting: a server answers only clients configured as it is."""
    import dataclasses

    document = json.dumps(dataclasses.asdict(settings), sort_keys=True, default=str)
    return hashlib.sha256(document.encode()).hexdigest()[:20]


@contextlib.contextmanager
def _address(folder: Path) -> Iterator[str]:
    """The socket's path as bind/connect take it: direct when short, else through an open
    descriptor of the folder (/proc/self/fd/N/…), which Linux resolves for Unix sockets too."""
    path = str(folder / SOCKET_NAME)
    if len(path.encode()) <= _MAX_PATH:
        yield path
        return
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{descriptor}/{SOCKET_NAME}"
    finally:
        os.close(descriptor)


def ask(folder: Path, request: dict[str, Any], *, timeout: float = 120.0) -> dict[str, Any] | None:
    """The resident process's answer to `request`, or None when none answers (no socket, refused,
    a broken reply): the caller then does the work itself."""
    if not (folder / SOCKET_NAME).exists():
        return None
    try:
        with _address(folder) as address, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(1.0)
            connection.connect(address)
            connection.settimeout(timeout)
            connection.sendall(json.dumps(request).encode() + b"\n")
            with connection.makefile("rb") as replies:
                line = replies.readline(_LIMIT)
        answer = json.loads(line) if line else None
    except (OSError, ValueError):
        return None
    if not isinstance(answer, dict) or "fallback" in answer:
        return None
    return answer


class ResidentServer:
    """Answers requests on the library's socket in a background thread until stop()."""

    def __init__(self, folder: Path, handler: Handler) -> None:
        self.folder = folder
        self._handler = handler
        self._server: socketserver.UnixStreamServer | None = None
        self._thread: threading.Thread | None = None
        self._inode = -1

    def start(self) -> bool:
        """Listen; False (and nothing else happens) when another live process already does, or
        the folder cannot hold a socket (object storage, read-only)."""
        path = self.folder / SOCKET_NAME
        if path.exists() or path.is_symlink():
            if ask(self.folder, {"op": "ping"}, timeout=2.0) is not None:
                return False  # another server for this library answers already
            with contextlib.suppress(OSError):
                path.unlink()  # left by a process that died
        outer = self

        class _Requests(socketserver.StreamRequestHandler):
            timeout = 10.0  # a client that connects and says nothing does not hold the others up

            def handle(self) -> None:
                outer._answer(self.connection, self.rfile, self.wfile)

        try:
            with _address(self.folder) as address:
                previous = os.umask(0o177)  # owner-only from the moment it exists
                try:
                    # One thread answers every request: a search in a thread that lives on finds
                    # its OpenMP team (the query encoder's) warm; a new thread per request paid
                    # 35-50 ms to start one (measured), ten times the search itself.
                    server = socketserver.UnixStreamServer(address, _Requests, bind_and_activate=True)
                finally:
                    os.umask(previous)
        except OSError:
            return False
        self._server = server
        self._inode = path.stat().st_ino
        self._thread = threading.Thread(target=server.serve_forever, name="shashin-resident", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop listening and remove the socket (only ours: a later server may have replaced it)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with contextlib.suppress(OSError):
            path = self.folder / SOCKET_NAME
            if path.exists() and path.stat().st_ino == self._inode:
                path.unlink()
        self._server = None

    def _answer(self, connection: socket.socket, requests: Any, replies: Any) -> None:
        uid = _peer_uid(connection)
        if uid is not None and uid != os.getuid():
            replies.write(json.dumps({"fallback": "another user"}).encode() + b"\n")
            return
        line = requests.readline(_LIMIT)
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            answer: dict[str, Any] = {"fallback": f"unreadable request: {exc}"}
        else:
            if request.get("op") == "ping":
                answer = {"ok": True, "pid": os.getpid()}
            else:
                try:
                    answer = self._handler(request)
                except Exception as exc:  # the client searches itself and shows its own error
                    answer = {"fallback": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(answer, default=str).encode() + b"\n")


def _peer_uid(connection: socket.socket) -> int | None:
    """The connecting process's user id (SO_PEERCRED, Linux), or None where it cannot be asked."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        credentials = connection.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return None
    return int(struct.unpack("3i", credentials)[1])


__all__ = ["SOCKET_NAME", "ResidentServer", "ask", "settings_fingerprint"]
