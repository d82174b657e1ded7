"""`shashin watch`: keep a library current as photos are added, changed, moved and deleted."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.text import Text

from shashin.cli.common import DbOption, app, err, guarded, open_library

PollOption = Annotated[
    float | None,
    typer.Option(
        "--poll",
        help="Look for changes every SECONDS instead of waiting for file events (network mounts: NFS and SMB "
        "folders are polled every 10 s by themselves).",
        min=0.5,
        show_default=False,
    ),
]
SettleOption = Annotated[
    float, typer.Option("--settle", help="Seconds a file must stop growing before it is indexed.", min=0.1)
]
CaptionOption = Annotated[
    bool, typer.Option("--caption", help="Caption new photos too (with the caption backend in your settings).")
]


@app.command()
def watch(
    folders: Annotated[
        list[str] | None,
        typer.Argument(help="Folders to watch (added to the library). None: every folder the library indexes."),
    ] = None,
    db: DbOption = None,
    poll: PollOption = None,
    settle: SettleOption = 1.0,
    caption: CaptionOption = False,
) -> None:
    """Watch photo folders and index what changes, within seconds, until stopped.

    It first catches up with what changed while it was not running (one incremental run), then
    indexes new, changed, moved and deleted photos in batches as they happen; a file still being
    copied waits until it is complete. Another shashin writing to the library is waited for.
    `shashin status` shows the watcher. Ctrl-C or SIGTERM stops it after the current batch.
    """
    from shashin.watch.watcher import Watcher, WatchOptions

    library = open_library(db)
    if folders:
        guarded(lambda: library.add_folders(folders))  # the library is made now if there is none
    chosen = list(folders or []) or guarded(library.folders)
    watcher = guarded(
        lambda: Watcher(library, chosen, WatchOptions(poll=poll, settle=settle, caption=caption), say=err.print)
    )
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    how = f"polling {watcher.why_polling}" if watcher.polling else "on file events"
    err.print(Text(f"watching {', '.join(watcher.folders)} for {library.path} ({how}); Ctrl-C stops", style="bold"))
    guarded(lambda: watcher.run(stop))
    err.print("stopped")
