"""What every command shares: the app, consoles that escape control characters, options, errors, progress bars."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Annotated, Any

import typer
from rich.console import Console, RenderHook
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.segment import Segment
from rich.text import Text

from shashin.errors import ShashinError
from shashin.search.filters.declared import Filter, Parameters

EXIT_PARTIAL = 3


app = typer.Typer(
    name="shashin",  # its help is the docstring of _options, below
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# Text from files, photos, captions and servers reaches the terminal: control characters in it
# (escape sequences that clear the screen, set the title or write the clipboard, bidi overrides)
# are shown escaped ("\x1b") in every line printed for people. --json output stays exact.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """`text` with control characters written as escapes, safe to print on a terminal."""
    return _CONTROL.sub(
        lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100 else f"\\u{ord(m.group(0)):04x}", text
    )


class _Escaped:
    """A renderable whose text segments (not rich's own control segments) are `shown`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: Any) -> Any:
        for segment in console.render(self.inner, options):
            if segment.control or not _CONTROL.search(segment.text):
                yield segment
            else:
                yield Segment(shown(segment.text), segment.style)


class _EscapeControls(RenderHook):
    def process_renderables(self, renderables: list[Any]) -> list[Any]:
        return [_Escaped(renderable) for renderable in renderables]


out = Console(highlight=False, soft_wrap=True)


err = Console(stderr=True, highlight=False, soft_wrap=True)  # an error is one line, however long


for _console in (out, err):
    _console.push_render_hook(_EscapeControls())


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Library: a folder, or object storage (s3://bucket/prefix, gs://…, az://…; credentials from the usual "
        "environment variables). Default: $SHASHIN_DB or ~/.local/share/shashin/default.",
        show_default=False,
    ),
]


RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="ADDRESS",
        help="Run decoding and model work on a Ray cluster: auto (RAY_ADDRESS or `ray start` on this machine), "
        "local (start one for this run), or HOST:PORT. Needs the ray extra (pip install 'shashin\\[ray]'); the library and photos "
        "must be reachable from every node (object storage or a shared file system).",
    ),
]


RayWorkersOption = Annotated[
    int | None,
    typer.Option(
        "--ray-workers",
        help="Actors per CPU stage (default: the cluster's CPUs less one; GPU stages: one per GPU).",
        min=1,
    ),
]


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summaries (for scripts).")]


ImageModelOption = Annotated[
    str | None,
    typer.Option(
        "--image-model",
        help="Image-text model: Hugging Face id (google/siglip2-base-patch16-256) or a local folder. "
        "Default: chosen once per library (SigLIP2 base on CPU, large on GPU).",
        show_default=False,
    ),
]


DeviceOption = Annotated[
    str | None,
    typer.Option("--device", help="Where the image model runs: auto, cpu, cuda, cuda:1, mps.", show_default=False),
]


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]


LimitOption = Annotated[int, typer.Option("--limit", "-n", help="How many results.", min=1)]


OffsetOption = Annotated[int, typer.Option(help="Skip this many results (for paging).", min=0)]
SORT_HELP = "relevance (best first), date (oldest first) or -date (newest first); also newest, oldest."


def _filter_option(declared: Filter) -> tuple[str, Any, Any]:
    """A declared filter as a typer option: --param (or its own flags), repeatable when it takes several."""
    flags = declared.flags or (f"--{declared.param.replace('_', '-')}",)
    kind: Any = list[str] | None if declared.many else declared.kind | None
    return declared.argument, Annotated[kind, typer.Option(*flags, help=declared.help, show_default=False)], None


filter_options = Parameters(_filter_option)
"""A command with a `filters` parameter gets one option per declared filter (search.filters.declared)
and receives them as one dict of build_filters' arguments (what a resident server is sent, too)."""


def parse_filters(request: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Filters from a command's filter options (filter_options), or a one-line error (exit 2)."""
    from shashin.search.filters import FilterError, build_filters

    try:
        return build_filters(**request)
    except FilterError as exc:
        usage_error(str(exc))


def cli_settings(db: str | None, **overrides: Any):  # type: ignore[no-untyped-def]
    """The settings for --db and the command's options, or a one-line error (exit 2)."""
    from shashin.config import ConfigError, load_settings

    try:
        return load_settings({"db": str(db) if db else None, **overrides})
    except ConfigError as exc:
        usage_error(str(exc))


def open_library(db: str | None, **overrides: Any):  # type: ignore[no-untyped-def]
    from shashin.library import Library

    return Library(settings=cli_settings(db, **overrides))


def ask_resident(settings: Any, request: dict[str, Any]) -> Any:
    """The answer of a `shashin serve` running for this library with these settings (its warm
    process answers in milliseconds), or None: then the command does the work itself. An error it
    reports (a bad filter) is printed here with its exit code. SHASHIN_NO_RESIDENT=1 skips it."""
    from pathlib import Path

    from shashin import storage
    from shashin.resident import ask, settings_fingerprint

    location = settings.db_location
    if os.environ.get("SHASHIN_NO_RESIDENT") or storage.is_remote(location):
        return None
    answer = ask(Path(location), {**request, "settings": settings_fingerprint(settings)})
    if answer is None or "ok" not in answer:
        return None
    if not answer["ok"]:
        err.print(Text("error: ", style="bold red") + Text(str(answer.get("error"))))
        raise typer.Exit(int(answer.get("exit_code", 1)))
    return answer.get("response")


def cluster_for(address: str | None, workers: int | None) -> Any:
    """RayOptions for --ray/--ray-workers, or None for a local run."""
    if address is None:
        return None
    from shashin.scale.ray_ingest import RayOptions

    return RayOptions(address=address, cpu_workers=workers or 0)


def fail(message: str) -> None:
    """A request that could not be carried out: one line on stderr, exit 1."""
    err.print(Text("error: ", style="bold red") + Text(message))
    raise typer.Exit(1)


def usage_error(message: str) -> None:
    """A command given wrongly (an unknown value, a missing argument): one line on stderr, exit 2."""
    err.print(Text("error: ", style="bold red") + Text(message))
    raise typer.Exit(2)


def guarded(action, passing: tuple[type[ShashinError], ...] = ()):  # type: ignore[no-untyped-def]
    """Run `action`, turning every error shashin explains into a one-line message and the exit
    code its kind carries (2 for a request given wrongly, 1 for any other); the kinds in
    `passing` are the caller's to handle (one photo's failure in a run over many)."""
    try:
        return action()
    except ShashinError as exc:
        if isinstance(exc, passing):
            raise
        err.print(Text("error: ", style="bold red") + Text(exc.message))
        raise typer.Exit(exc.exit_code) from None


def with_progress(action):  # type: ignore[no-untyped-def]
    """`action(progress)` with bars drawn while it runs; they are gone before any error is printed."""
    with RichProgress() as progress:
        return action(progress)


class _PhotosPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:5.1f}/s" if speed else "    –/s", style="cyan")


class RichProgress:
    """Draws the Library's progress as rich bars on stderr, with items per second."""

    def __init__(self) -> None:
        self._bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            _PhotosPerSecond(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        self._task: Any = None

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()
        self._bars.stop()

    def _finish(self) -> None:
        # Phases with work stay on screen, complete; phases with none (loading, optimizing) vanish.
        task = next((t for t in self._bars.tasks if t.id == self._task), None)
        if task is not None:
            if task.total:
                self._bars.update(task.id, completed=task.total)
            else:
                self._bars.remove_task(task.id)
        self._task = None

    def phase(self, name: str, total: int) -> None:
        self._finish()
        self._task = self._bars.add_task(name, total=total or None)

    def advance(self, count: int = 1) -> None:
        if self._task is not None:
            self._bars.advance(self._task, count)

    def note(self, message: str) -> None:
        self._bars.console.print(Text("note: ", style="yellow") + Text(message))


def print_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def _show_version(value: bool) -> None:
    if value:
        from shashin import __version__

        out.print(f"shashin {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """shashin (写真): search your photos by what they show, the text in them, their captions,
    file names, places and dates, in Japanese and English.

    Start with `shashin index ~/Photos`, then `shashin search "NO LITTER"`.
    """
