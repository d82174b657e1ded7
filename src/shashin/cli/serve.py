"""`shashin serve`: the web UI and REST API."""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer
from rich.text import Text

from shashin.cli.common import DbOption, DeviceOption, ImageModelOption, app, err, guarded, open_library, usage_error
from shashin.cli.watch import CaptionOption, PollOption


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on. Beyond 127.0.0.1 a --token is required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)] = 8750,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="SHASHIN_TOKEN",
            help="Access token every request must carry ($SHASHIN_TOKEN).",
            show_default=False,
        ),
    ] = None,
    insecure_no_token: Annotated[
        bool,
        typer.Option(
            "--insecure-no-token",
            help="Listen beyond this machine without a token (anyone who can reach it sees your photos).",
        ),
    ] = False,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", help="Largest photo accepted for search by photo.", min=1)
    ] = 30,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A host name this server answers to besides loopback names and IP addresses "
            "(photos.example.com; .lan for every name under lan; repeat for several). Requests naming other "
            "hosts are refused: a web page cannot reach the server through a DNS name of its own.",
            show_default=False,
        ),
    ] = None,
    image_model: ImageModelOption = None,
    device: DeviceOption = None,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Keep the library current while serving: index new, changed and deleted photos."),
    ] = False,
    folder: Annotated[
        list[str] | None,
        typer.Option(
            "--folder",
            help="A photo folder to add to the library (made if there is none) before serving; repeat for several. "
            "With --watch it is indexed in the background while the server answers.",
            show_default=False,
        ),
    ] = None,
    poll: PollOption = None,
    caption: CaptionOption = False,
) -> None:
    """Serve the web interface and the REST API (docs at /docs, schema at /openapi.json).

    Open http://127.0.0.1:8750 to search, see why each photo matched, browse a photo's captions,
    text and similar photos, or drop a photo to search by it.
    """
    import ipaddress
    import secrets

    import uvicorn

    from shashin.web import WebSettings, create_app

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not token and not insecure_no_token:
        usage_error(
            f"--host {host} makes your photos reachable from other machines: add --token "
            f"(e.g. --token {secrets.token_urlsafe(16)}) or, on a trusted network only, --insecure-no-token"
        )
    overrides = {"image.model": image_model, "image.device": device}
    library = open_library(db, **overrides)
    if folder:
        guarded(lambda: library.add_folders(folder))
    guarded(library.status)  # fail now, with a clear message, if there is no library
    watching = _start_watching(open_library(db, **overrides), poll, caption) if watch else None
    hosts = list(allowed_host or [])
    if not loopback and host not in ("0.0.0.0", "::"):
        hosts.append(host)  # the name it was started for
    app_ = create_app(
        library, WebSettings(token=token, max_upload_bytes=max_upload_mb * 1_000_000, allowed_hosts=tuple(hosts))
    )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    address = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    err.print(Text(f"shashin is serving {library.path} at {address}  (Ctrl-C stops)", style="bold"))
    from shashin.library.resident import resident_server

    resident = resident_server(library)  # `shashin search` on this machine asks this process
    if resident is not None and resident.start():
        err.print(Text("`shashin search` for this library is answered by this server", style="dim"))
    # uvicorn stops gracefully on SIGTERM, then raises it again under the handler found before it
    # started: a handler of ours, so that what follows still runs (the watcher finishes its batch).
    signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        uvicorn.run(app_, host=host, port=port, log_level="warning")
    finally:
        if resident is not None:
            resident.stop()
        if watching is not None:
            stop, thread = watching
            stop.set()  # the batch being indexed is finished first
            thread.join(timeout=60)


def _start_watching(library: Any, poll: float | None, caption: bool) -> tuple[threading.Event, threading.Thread]:
    """The library's folders watched in a thread (its own Library: a writer beside the server's readers)."""
    from shashin.watch.watcher import Watcher, WatchOptions

    watcher = guarded(
        lambda: Watcher(
            library,
            guarded(library.folders),
            WatchOptions(poll=poll, caption=caption),
            say=lambda line: err.print(Text(f"watch: {line}", style="dim")),
        )
    )
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), name="shashin-watch", daemon=True)
    thread.start()
    err.print(Text(f"watching {', '.join(watcher.folders)}", style="dim"))
    return stop, thread
