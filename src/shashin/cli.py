"""The `shashin` command: parses flags, calls the Library, prints. No logic of its own.

Exit codes: 0 done; 1 error (message on stderr); 2 bad usage; 3 done, but some files failed.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
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
from rich.table import Table
from rich.text import Text

from shashin.errors import ShashinError
from shashin.registry import CAPTION_BACKENDS, indexed_channel_names

EXIT_PARTIAL = 3

app = typer.Typer(
    name="shashin",
    help=(
        "shashin (写真): search your photos by what they show, the text in them, their captions, "
        "file names, places and dates, in Japanese and English.\n\n"
        'Start with `shashin index ~/Photos`, then `shashin search "NO LITTER"`.'
    ),
    no_args_is_help=True,
    add_completion=False,
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


FromOption = Annotated[
    str | None,
    typer.Option(
        "--from", help="Taken on or after: 2023, 2023-07, 2023-07-14, 'July 2023', 2025年9月.", show_default=False
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="Taken on or before (the whole period named): 2023, 2023-07, ...", show_default=False),
]
FolderOption = Annotated[
    list[str] | None,
    typer.Option("--folder", help="Only photos under this folder (repeat for several).", show_default=False),
]
CameraOption = Annotated[
    list[str] | None,
    typer.Option(
        "--camera",
        help="Only photos whose camera make/model/lens contains this (repeat for several).",
        show_default=False,
    ),
]
HasTextOption = Annotated[
    bool | None,
    typer.Option("--has-text/--no-text", help="Only photos with (or without) text found by OCR.", show_default=False),
]
NearOption = Annotated[
    str | None,
    typer.Option(
        "--near",
        help="Only photos taken near a place: a town or country (Kyoto, 京都, Japan) or 'lat,lon'.",
        show_default=False,
    ),
]
RadiusOption = Annotated[
    float | None,
    typer.Option("--radius", help="Kilometres around --near (default: by the town's size).", show_default=False),
]


def _filters(taken_from, taken_to, folder, camera, has_text, near, radius):  # type: ignore[no-untyped-def]
    """The filter options as Filters, or a one-line error (exit 2)."""
    from shashin.search.filters import FilterError, build_filters

    try:
        return build_filters(
            taken_from=taken_from,
            taken_to=taken_to,
            folders=folder or [],
            cameras=camera or [],
            has_text=has_text,
            near=near,
            radius_km=radius,
        )
    except FilterError as exc:
        _usage(str(exc))


def _library(db: str | None, **overrides: Any):  # type: ignore[no-untyped-def]
    from shashin.config import ConfigError, load_settings
    from shashin.library import Library

    try:
        settings = load_settings({"db": str(db) if db else None, **overrides})
    except ConfigError as exc:
        _usage(str(exc))
    return Library(settings=settings)


def _cluster(address: str | None, workers: int | None) -> Any:
    """RayOptions for --ray/--ray-workers, or None for a local run."""
    if address is None:
        return None
    from shashin.scale.ray_ingest import RayOptions

    return RayOptions(address=address, cpu_workers=workers or 0)


def _fail(message: str) -> None:
    """A request that could not be carried out: one line on stderr, exit 1."""
    err.print(Text("error: ", style="bold red") + Text(message))
    raise typer.Exit(1)


def _usage(message: str) -> None:
    """A command given wrongly (an unknown value, a missing argument): one line on stderr, exit 2."""
    err.print(Text("error: ", style="bold red") + Text(message))
    raise typer.Exit(2)


def _guard(action):  # type: ignore[no-untyped-def]
    """Run `action`, turning every error shashin explains into a one-line message and the exit
    code its kind carries (2 for a request given wrongly, 1 for any other)."""
    try:
        return action()
    except ShashinError as exc:
        err.print(Text("error: ", style="bold red") + Text(exc.message))
        raise typer.Exit(exc.exit_code) from None


def _with_progress(action):  # type: ignore[no-untyped-def]
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


@app.command()
def index(
    folders: Annotated[
        list[str] | None,
        typer.Argument(
            help="Photo folders (or s3://bucket/prefix) to add and index. None: update every folder already "
            "in the library."
        ),
    ] = None,
    db: DbOption = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Try again photos a channel failed on.")] = False,
    channels: Annotated[
        str | None,
        typer.Option(
            "--channels",
            help=f"Comma-separated channels to compute: {', '.join(indexed_channel_names())}. Default: all.",
        ),
    ] = None,
    image_model: ImageModelOption = None,
    device: DeviceOption = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Decode processes (0 = decode in-process; default: from cores and device).", min=0),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Photos per committed batch.", min=1)] = None,
    ray: RayOption = None,
    ray_workers: RayWorkersOption = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Index photo folders: new, changed, moved and deleted photos are found; only new work is done.

    Photos are never modified. Interrupt at any time: the next run finishes the rest.
    Exit code 3 means the run finished but some files could not be indexed (see `shashin status`).
    """
    library = _library(
        db,
        workers=workers,
        batch_size=batch_size,
        channels=channels,
        **{"image.model": image_model, "image.device": device},
    )
    cluster = _cluster(ray, ray_workers)
    started = time.monotonic()
    if quiet or as_json:
        report = _guard(lambda: library.index(folders or [], retry_failed=retry_failed, cluster=cluster))
    else:
        report = _guard(
            lambda: _with_progress(
                lambda progress: library.index(
                    folders or [], progress=progress, retry_failed=retry_failed, cluster=cluster
                )
            )
        )
    if as_json:
        _print_json(_report_dict(report))
    elif not quiet:
        _print_report(report, time.monotonic() - started)
    image = report.channels.get("image")
    if image_model and image is not None and image.unavailable:  # asked for by name: not a note, an error
        _fail(f"--image-model {image_model}: {image.unavailable}")
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)


def _report_dict(report: Any) -> dict[str, Any]:
    return {
        "folders": report.folders,
        "missing_folders": report.missing_folders,
        "files_found": report.files_found,
        "unchanged_files": report.unchanged_files,
        "new_photos": report.new_photos,
        "changed_files": report.changed_files,
        "moved_files": report.moved_files,
        "same_pixels": report.same_pixels,
        "removed_files": report.removed_files,
        "removed_photos": report.removed_photos,
        "unreadable_files": report.unreadable_files,
        "refreshed_photos": report.refreshed_photos,
        "reattached": report.reattached,
        "orphans": report.orphans,
        "photos_processed": report.photos_processed,
        "photos_per_second": round(report.photos_per_second, 3),
        "seconds": round(report.seconds, 3),
        "channels": {
            name: {
                "processed": c.processed,
                "failed": c.failed,
                "pending": c.pending,
                "refreshed": c.refreshed,
                "unavailable": c.unavailable,
            }
            for name, c in report.channels.items()
        },
        "errors": [{"path": e.path, "stage": e.stage, "message": e.message} for e in report.errors],
    }


def _print_report(report: Any, seconds: float) -> None:
    summary = (
        f"{report.files_found} files: {report.new_photos} new photos, {report.changed_files} changed, "
        f"{report.moved_files} moved or copied, {report.removed_files} removed, {report.unchanged_files} unchanged"
    )
    out.print(Text(summary))
    notes = []
    if report.same_pixels:
        notes.append(f"{report.same_pixels} changed only in metadata (same photo kept)")
    if report.refreshed_photos:
        notes.append(f"{report.refreshed_photos} photos' metadata read again")
    if report.reattached:
        notes.append(f"{report.reattached} returning photos got back what you wrote for them")
    if notes:
        out.print(Text("  " + "; ".join(notes)))
    if report.unreadable_files:
        out.print(
            Text(
                f"  {report.unreadable_files} files could not be read this time: their photos are kept", style="yellow"
            )
        )
    if report.orphans:
        out.print(
            Text(
                f"  {report.orphans} removed photos had captions you wrote: kept, see `shashin orphans`", style="yellow"
            )
        )
    for name, channel in report.channels.items():
        line = Text(f"  {name}: {channel.processed} processed")
        if channel.refreshed:
            line.append(f", {channel.refreshed} refreshed")
        if channel.failed:
            line.append(f", {channel.failed} failed", style="red")
        if channel.unavailable:
            line.append(f" — unavailable: {channel.unavailable}", style="yellow")
        out.print(line)
    if report.photos_processed:
        out.print(
            Text(
                f"{report.photos_processed} photos in {report.work_seconds:.1f} s ({report.photos_per_second:.1f} photos/s)"
            )
        )
    for folder in report.missing_folders:
        out.print(Text(f"missing folder (its photos are kept): {folder}", style="yellow"))
    if report.errors:
        out.print(Text(f"{len(report.errors)} files could not be indexed:", style="red"))
        for error in report.errors[:10]:
            out.print(Text(f"  {error.path}: ", style="bold") + Text(error.message))
        if len(report.errors) > 10:
            out.print(Text(f"  … and {len(report.errors) - 10} more: see `shashin status`"))
    out.print(Text(f"done in {seconds:.1f} s", style="dim"))


caption_app = typer.Typer(context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(caption_app, name="caption")


@caption_app.callback(invoke_without_command=True)
def caption(
    context: typer.Context,
    db: DbOption = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            "-b",
            help="; ".join(f"{name}: {entry.summary}" for name, entry in CAPTION_BACKENDS.items()) + ".",
        ),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Caption languages, comma-separated (default: en,ja).")
    ] = None,
    prompt_set: Annotated[
        str | None, typer.Option("--prompt-set", help="brief (one sentence, the alt text) or detailed.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            "-m",
            help="transformers: Hugging Face id or folder (default Qwen2.5-VL, 7B on a ≥ 24 GB GPU, else 3B); openai: the served model name (default: the server's first).",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="openai: the server's base URL, e.g. http://127.0.0.1:8000/v1 (vLLM) or http://127.0.0.1:11434/v1 (Ollama); several, comma-separated, make a pool (replicas share the work; a failing one is skipped).",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="SHASHIN_API_KEY",
            help="openai: the API key (better: set $SHASHIN_API_KEY or $OPENAI_API_KEY).",
        ),
    ] = None,
    source: Annotated[
        Path | None, typer.Option("--from", help="import: a JSONL or CSV file of path/file name, text and lang.")
    ] = None,
    from_metadata: Annotated[
        bool,
        typer.Option(
            "--from-metadata", help="import: the descriptions already in the photos (XMP, IPTC, EXIF, XMP sidecars)."
        ),
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Try again captions that failed with the same model and prompt.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", help="Caption at most this many photos (a trial run).", min=1)
    ] = None,
    device: DeviceOption = None,
    batch_size: Annotated[
        int | None,
        typer.Option("--batch-size", help="Photos per generate call (transformers) or in flight (openai).", min=1),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="openai: requests in flight at once (per server).", min=1)
    ] = None,
    ray: RayOption = None,
    ray_workers: RayWorkersOption = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Write captions in Japanese and English for photos that lack them, or import existing ones.

    Resumable: photos already captioned with the same backend, model and prompt are skipped, and
    captions a person edited are never replaced. Looping or empty output is retried once with a
    repetition penalty, then recorded as failed (never indexed; see `shashin status`).
    Exit code 3 means some captions failed. `shashin caption set PHOTO --lang ja "…"` writes a
    caption yourself.
    """
    if context.invoked_subcommand is not None:
        return
    overrides = {
        "captions.backend": backend,
        "captions.langs": lang,
        "captions.prompt_set": prompt_set,
        "captions.model": model,
        "captions.url": url,
        "captions.api_key": api_key,
        "captions.device": device,
        "captions.batch_size": batch_size,
        "captions.concurrency": concurrency,
    }
    library = _library(db, **overrides)
    chosen = library.settings.captions.backend
    if chosen != "import" and (source or from_metadata):
        _usage("--from and --from-metadata go with --backend import")

    def run(progress: Any) -> Any:
        if chosen == "import":
            return library.import_captions(
                source, from_metadata=from_metadata, lang=lang if lang and "," not in lang else None, progress=progress
            )
        return library.caption(
            progress=progress, retry_failed=retry_failed, limit=limit, cluster=_cluster(ray, ray_workers)
        )

    if quiet or as_json:
        report = _guard(lambda: run(None))
    else:
        report = _guard(lambda: _with_progress(run))
    if as_json:
        _print_json(
            {
                **{k: v for k, v in report.__dict__.items() if k not in ("failures", "errors")},
                "captions_per_second": round(report.captions_per_second, 3),
                "failures": [f.__dict__ for f in report.failures],
                "errors": [{"path": e.path, "message": e.message} for e in report.errors],
            }
        )
    elif not quiet:
        _print_caption_report(report)
    if report.unavailable:
        if not as_json:
            err.print(Text("error: ", style="bold red") + Text(report.unavailable))
        raise typer.Exit(1)
    if report.failures or report.errors:
        raise typer.Exit(EXIT_PARTIAL)


@caption_app.command("set")
def caption_set(
    photo: Annotated[str, typer.Argument(help="The photo: a path in the library or its photo id.")],
    text: Annotated[str, typer.Argument(help="The caption, as it should read (it is also the alt text).")],
    lang: Annotated[str, typer.Option("--lang", help="The caption's language: en, ja, …")] = "en",
    prompt_set: Annotated[
        str, typer.Option("--prompt-set", help="brief (the alt text) or detailed (the extended description).")
    ] = "brief",
    db: DbOption = None,
) -> None:
    """Write or correct a photo's caption yourself. It is marked as a person's, wins over generated
    text everywhere (search, alt text, export) and no later caption run or import replaces it."""
    library = _library(db)
    written = _guard(lambda: library.set_caption(photo, text, lang=lang, prompt_set=prompt_set))
    out.print(Text(f"caption ({prompt_set}, {lang}) of {written} set by you: ", style="bold") + Text(text))


def _print_caption_report(report: Any) -> None:
    if report.unavailable:
        return
    model = f" ({report.model})" if report.model else ""
    out.print(Text(f"{report.backend}{model}, {report.prompt_set} captions in {', '.join(report.langs) or '-'}:"))
    line = f"  {report.written} written, {report.failed} failed"
    if report.retried:
        line += f", {report.retried} retried after looping or empty output"
    if report.skipped:
        line += f", {report.skipped} already done"
    if report.kept_human:
        line += f", {report.kept_human} kept (edited by a person)"
    if report.not_found:
        line += f", {report.not_found} entries matched no photo"
    out.print(Text(line))
    if report.embedded:
        out.print(Text(f"  {report.embedded} captions embedded for meaning search"))
    if report.written + report.failed and report.seconds:
        out.print(Text(f"  {report.captions_per_second:.2f} captions/s", style="dim"))
    for failure in report.failures[:10]:
        out.print(Text(f"  failed ({failure.lang}) {failure.path}: ", style="red") + Text(failure.reason))
    if len(report.failures) > 10:
        out.print(Text(f"  … and {len(report.failures) - 10} more: see `shashin status`"))
    for error in report.errors[:10]:
        out.print(Text(f"  unreadable {error.path}: ", style="red") + Text(error.message))


@app.command()
def search(
    query: Annotated[
        str,
        typer.Argument(
            help="Words to find. Quote a phrase to match it exactly: '\"NO LITTER\"'. Dates and places in it "
            'become filters: "beach July 2023", "cats in Tokyo", 「2025年9月の京都」. Empty ("") with filters: browse.'
        ),
    ],
    db: DbOption = None,
    limit: LimitOption = 20,
    offset: OffsetOption = 0,
    taken_from: FromOption = None,
    taken_to: ToOption = None,
    folder: FolderOption = None,
    camera: CameraOption = None,
    has_text: HasTextOption = None,
    near: NearOption = None,
    radius: RadiusOption = None,
    sort: Annotated[str, typer.Option("--sort", help="relevance, newest or oldest.")] = "relevance",
    min_score: Annotated[
        float, typer.Option("--min-score", help="Leave out results whose relevance (0-1) is lower.", min=0.0, max=1.0)
    ] = 0.0,
    literal: Annotated[
        bool, typer.Option("--literal", help="Search the query as written: no dates or places read out of it.")
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain", help="Show each channel's rank and score, the matched words, the photo's date and place."
        ),
    ] = False,
    image_model: ImageModelOption = None,
    device: DeviceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the library in Japanese or English: ranked photos, best first, and why each matched.

    Every channel (image vectors, captions by keyword and by meaning, text in the photo, tags,
    file names, place) ranks the photos; the rankings are fused by reciprocal rank. --json always
    includes the full explanation.
    """
    from shashin.search.engine import SORTS

    if sort not in SORTS:
        _usage(f"--sort must be one of {', '.join(SORTS)}, not {sort!r}")
    filters = _filters(taken_from, taken_to, folder, camera, has_text, near, radius)
    if not query.strip() and not filters.active:
        _usage('nothing to search: give words, or a filter such as --from 2023 or --near Kyoto (with "" as the query)')
    library = _library(db, **{"image.model": image_model, "image.device": device})
    response = _guard(
        lambda: library.search(
            query,
            limit=limit,
            offset=offset,
            filters=filters,
            parse=not literal,
            sort=sort,
            min_score=min_score,  # type: ignore[arg-type]
        )
    )
    if image_model and "image" in response.unavailable:
        _fail(f"--image-model {image_model}: {response.unavailable['image']}")
    _print_results(response, as_json, f"No photos matched {query!r}.", explain=explain)


@app.command()
def similar(
    photo: Annotated[str, typer.Argument(help="A photo: a path in the library, its photo id, or any image file.")],
    db: DbOption = None,
    limit: LimitOption = 20,
    offset: OffsetOption = 0,
    taken_from: FromOption = None,
    taken_to: ToOption = None,
    folder: FolderOption = None,
    camera: CameraOption = None,
    has_text: HasTextOption = None,
    near: NearOption = None,
    radius: RadiusOption = None,
    image_model: ImageModelOption = None,
    device: DeviceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find photos that look like PHOTO (image vectors), most similar first, among those the filters allow."""
    filters = _filters(taken_from, taken_to, folder, camera, has_text, near, radius)
    library = _library(db, **{"image.model": image_model, "image.device": device})
    response = _guard(lambda: library.similar(photo, limit=limit, offset=offset, filters=filters))
    _print_results(response, as_json, "No similar photos: the library has no image vectors yet.")


@app.command(name="eval")
def evaluate(
    queries: Annotated[
        Path | None,
        typer.Argument(
            help='Query file (JSONL): {"id", "query", "lang", "relevant": [paths or photo ids]} or '
            '{"query", "relevant_category": "folder name"}.',
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    known_captions: Annotated[
        Path | None,
        typer.Option(
            "--known-captions",
            help='COCO-style file ({"image", "captions_en": [...]}): imports each photo\'s first caption into the '
            "library, asks the others. Use a scratch library.",
            show_default=False,
        ),
    ] = None,
    self_captions: Annotated[
        bool, typer.Option("--self-captions", help="Each stored caption asks for its own photo.")
    ] = False,
    similar: Annotated[
        bool, typer.Option("--similar", help="Leave-one-out photo → photo within folders (needs image vectors).")
    ] = False,
    channels: Annotated[
        str | None,
        typer.Option(
            "--channels", help="Only these channels, comma-separated (and fusion of them).", show_default=False
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write report.md, report.html, plots and results.json here.", show_default=False),
    ] = None,
    tune: Annotated[
        bool, typer.Option("--tune", help="Choose fusion weights and k by cross-validation; report the held-out score.")
    ] = False,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds for --tune.", min=2)] = 5,
    literal: Annotated[
        bool, typer.Option("--literal", help="Search queries as written: no dates or places read out of them.")
    ] = False,
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option(
            "--compare",
            help="Compare two results.json files (A B): which queries got better or worse.",
            show_default=False,
        ),
    ] = None,
    ranking: Annotated[
        str, typer.Option("--ranking", help="With --compare: the ranking compared (a channel or fused).")
    ] = "fused",
    image_model: ImageModelOption = None,
    device: DeviceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Measure search: MRR, Recall@1/5/10 and nDCG@10 of every channel and of the fused ranking,
    with 95% bootstrap intervals, overall, per language and per protocol.

    Protocols: a query file (relevant photos, or a relevant folder judged on the first 20),
    --known-captions, --self-captions, --similar. Queries run through the same search as
    `shashin search`. --report writes the report with plots and the exact configuration;
    --compare A.json B.json shows what changed between two runs.
    """
    from shashin.evaluation.report import compare as compare_runs
    from shashin.evaluation.report import document, table, write_report
    from shashin.evaluation.tune import tune as tune_fusion

    if compare:
        try:
            result = compare_runs(compare[0], compare[1], ranking)
        except (OSError, ValueError, KeyError) as exc:
            _fail(f"cannot compare {compare[0]} and {compare[1]}: {exc}")
        if as_json:
            _print_json(result)
            return
        d = result["difference"]
        out.print(
            Text(
                f"{ranking} MRR over {result['queries']} shared queries: A {result['a']:.3f} → B {result['b']:.3f}, "
                f"difference {d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]",
                style="bold",
            )
        )
        for title, rows in (("better in B", result["better"]), ("worse in B", result["worse"])):
            out.print(
                Text(f"{len(rows)} {title}" + (":" if rows else ""), style="green" if "better" in title else "red")
            )
            for row in rows[:15]:
                out.print(Text(f"  {row['change']:+.3f}  {row['a']:.3f} → {row['b']:.3f}  {row['id']}: {row['query']}"))
        return
    if queries is None and known_captions is None and not self_captions and not similar:
        _usage("nothing to evaluate: give a query file, --known-captions FILE, --self-captions or --similar")
    library = _library(db, **{"image.model": image_model, "image.device": device})
    asked, notes = _guard(
        lambda: library.evaluation_queries(
            file=queries, known_captions=known_captions, self_captions=self_captions, similar=similar
        )
    )
    if not asked:
        _fail("no queries to ask: " + "; ".join(notes or ["the protocols given found nothing"]))
    chosen = [c.strip() for c in channels.split(",") if c.strip()] if channels else None

    def evaluate_all(progress: RichProgress) -> Any:
        progress.phase("evaluating", len(asked))
        return library.evaluate(
            asked, channels=chosen, parse=not literal, notes=notes, progress=lambda _: progress.advance()
        )

    run = _guard(lambda: _with_progress(evaluate_all))
    tuning = tune_fusion(run, folds=folds) if tune else None
    written = write_report(run, report, tuning) if report else []
    if as_json:
        _print_json(document(run, tuning))
        return
    rows = table(run)
    grid = Table(*rows[0], box=None, pad_edge=False)
    grid.columns[1].no_wrap = True
    for row in rows[1:]:
        grid.add_row(*row, style="bold" if row[0] == "fused" else None)
    out.print(grid)
    for group, names in run.summary(by=lambda q: q.lang).items():
        out.print(
            Text(
                f"  {group}: "
                + " · ".join(f"{n} {m['mrr'].mean:.3f}" for n, m in names.items())
                + f"  ({names['fused']['mrr'].n} queries)",
                style="dim",
            )
        )
    for note in run.notes:
        err.print(Text(f"note: {note}", style="yellow"))
    if tuning:
        out.print(
            Text(
                f"tuned fusion: held-out MRR {tuning.held_out} vs {tuning.start} with the current settings",
                style="bold",
            )
        )
        if tuning.helps:
            out.print(Text("these settings did better on queries they were not chosen on (add them to your config):"))
            out.print(Text(tuning.toml().rstrip(), style="cyan"))
        else:
            out.print(Text("tuning did not beat the current settings on queries it was not chosen on: keep them"))
    if written:
        out.print(Text(f"report written to {report}: " + ", ".join(p.name for p in written), style="dim"))


export_app = typer.Typer(
    help="Export what shashin knows about your photos to the places other tools read.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
)
app.add_typer(export_app, name="export")


@export_app.command("alt-text")
def export_alt_text(
    db: DbOption = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="xmp (sidecars), embed (into the photos), csv, json or html.")
    ] = "xmp",
    lang: Annotated[str, typer.Option("--lang", help="Languages, comma-separated; the first is x-default.")] = "ja,en",
    destination: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="xmp: write sidecars under this folder instead of beside the photos; csv/json/html: the file (default: standard output).",
            show_default=False,
        ),
    ] = None,
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="embed: do not keep the originals in .shashin-backup/.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Export alt text (IPTC "Alt Text (Accessibility)") and extended descriptions.

    From each photo's brief caption (a person's edit wins; see `shashin caption set`), ≤ 125
    characters, and from its detailed caption and the text read in it. xmp writes
    Iptc4xmpCore:AltTextAccessibility, Iptc4xmpCore:ExtDescrAccessibility and dc:description as
    language alternatives into photo.xmp sidecars, merging with what is there; embed writes the same
    into the photo files, checked on a copy first (pixels and other metadata unchanged), originals
    kept in .shashin-backup/ unless --no-backup.
    """
    from shashin.export import FORMATS, ExportError, sidecar_path, to_csv, to_html, to_json, write_sidecar

    if fmt not in FORMATS:
        _usage(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    langs = [part.strip() for part in lang.split(",") if part.strip()]
    if not langs:
        _usage("--lang needs at least one language, e.g. ja,en")
    library = _library(db)
    records = _guard(lambda: library.alt_text_records(langs))
    if fmt in ("csv", "json", "html"):
        text = {
            "csv": lambda: to_csv(records, langs),
            "json": lambda: to_json(records),
            "html": lambda: to_html(records, langs),
        }[fmt]()
        if destination:
            destination.write_text(text, encoding="utf-8")
            err.print(Text(f"{len(records)} photos written to {destination}"))
        else:
            sys.stdout.write(text)
        return
    written, failed = [], []
    for record in records:
        try:
            if fmt == "xmp":
                target = sidecar_path(record.path, record.root, destination)
                write_sidecar(record, target)
                written.append({"path": record.path, "sidecar": str(target)})
            else:
                done = _guard(lambda: library.embed_alt_text(record, backup=not no_backup))  # noqa: B023 (called at once)
                written.append({"path": record.path, "backup": done.backup})
        except ExportError as exc:
            failed.append({"path": record.path, "error": str(exc)})
    if as_json:
        _print_json({"format": fmt, "langs": langs, "written": written, "failed": failed})
    else:
        out.print(Text(f"{len(written)} photos written ({fmt}), {len(failed)} failed"))
        for problem in failed:
            err.print(Text(f"  {problem['error']}", style="red"))
    if failed:
        raise typer.Exit(3)


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
        _usage(
            f"--host {host} makes your photos reachable from other machines: add --token "
            f"(e.g. --token {secrets.token_urlsafe(16)}) or, on a trusted network only, --insecure-no-token"
        )
    library = _library(db, **{"image.model": image_model, "image.device": device})
    _guard(library.status)  # fail now, with a clear message, if there is no library
    hosts = list(allowed_host or [])
    if not loopback and host not in ("0.0.0.0", "::"):
        hosts.append(host)  # the name it was started for
    app_ = create_app(
        library, WebSettings(token=token, max_upload_bytes=max_upload_mb * 1_000_000, allowed_hosts=tuple(hosts))
    )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    address = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    err.print(Text(f"shashin is serving {library.path} at {address}  (Ctrl-C stops)", style="bold"))
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@app.command()
def duplicates(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List groups of near-duplicate photos and exact copies, the best-quality file first.

    Two photos are near-duplicates when their perceptual hashes are close and their image vectors
    agree (settings duplicates.max_hash_distance and duplicates.min_similarity).
    """
    library = _library(db)
    groups = _guard(library.duplicates)
    if as_json:
        _print_json({"groups": [group.to_dict() for group in groups]})
        return
    if not groups:
        out.print(Text("No duplicates found."))
        return
    for number, group in enumerate(groups, start=1):
        out.print(Text(f"group {number}: {len(group.files)} files", style="bold"))
        for position, item in enumerate(group.files):
            detail = f"{item.width}×{item.height} {item.format} {item.size / 1e6:.1f} MB"
            if position and item.similarity is not None:
                detail += f" · similarity {item.similarity:.3f}"
            if position and item.hash_distance is not None:
                detail += f" · hash distance {item.hash_distance}"
            marker = "best " if position == 0 else "     "
            out.print(Text(f"  {marker}") + Text(item.path) + Text(f"  {detail}", style="dim"))


def _print_results(response: Any, as_json: bool, empty: str, *, explain: bool = False) -> None:
    if as_json:
        _print_json(response.to_dict())
        return
    for name, reason in response.unavailable.items():
        err.print(Text(f"note: channel '{name}' was not used: {reason}", style="yellow"))
    if response.understood or response.filters.active:
        searched = f"searching {response.searched!r}" if response.searched else "browsing"
        out.print(Text(f"{searched}; filters: " + "; ".join(response.filters.describe() or ["none"]), style="cyan"))
    if not response.results:
        out.print(Text(empty))
        return
    for result in response.results:
        line = Text(f"{result.rank:>3}. ", style="bold") + Text(result.path, style="bold")
        if result.channels:
            line += Text(f"  relevance {result.relevance:.2f}" + ("  exact" if result.exact else ""), style="dim")
        out.print(line)
        if explain:
            _print_explanation(result)
        elif result.channels:
            why = " · ".join(f"{name} #{m.rank} ({m.score:.2f})" for name, m in result.channels.items())
            out.print(Text(f"     {why}", style="dim"))
        for highlight in result.highlights:
            text = Text(f"     {highlight.field}: ")
            body = Text(highlight.text)
            for start, end in highlight.spans:
                body.stylize("bold black on yellow", start, end)
            out.print(text + body)
    shown = response.offset + len(response.results)
    if shown < response.total:
        out.print(Text(f"{shown} of {response.total} shown; more with --offset {shown}", style="dim"))


def _print_explanation(result: Any) -> None:
    """Each channel's placement of one result, the fused score, and when and where it was taken."""
    facts = []
    if result.taken_at:
        facts.append(f"taken {result.taken_at:%Y-%m-%d %H:%M}")
    if result.place:
        facts.append(f"at {result.place.describe()}")
    if facts:
        out.print(Text("     " + " · ".join(facts), style="dim"))
    if not result.channels:
        return
    table = Table("channel", "rank", "score", "", box=None, pad_edge=False, show_header=False)
    for name, match in sorted(result.channels.items(), key=lambda item: item[1].rank):
        table.add_row(f"     {name}", f"#{match.rank}", f"{match.score:.4f}", "every word" if match.exact else "")
    out.print(table)
    out.print(Text(f"     fused score {result.score:.5f} (relevance {result.relevance:.2f})", style="dim"))


@app.command()
def optimize(
    db: DbOption = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Retrain every approximate vector index from scratch.")
    ] = False,
    min_rows: Annotated[
        int | None,
        typer.Option(
            "--min-rows",
            help="Build vector indexes for tables with at least this many rows "
            "(default: search.index_min_rows, 100000).",
            min=1,
        ),
    ] = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Prepare a large library for fast search: compact the tables, fold new rows into the keyword and
    key indexes, and build or refresh approximate vector indexes (IVF_HNSW_SQ up to 5M rows, IVF_PQ with
    re-ranking beyond).

    Vector tables larger than search.memory_max_rows (2M) are then searched through these indexes
    instead of from memory. Run it after large index runs; `index` already compacts as it goes.
    """
    library = _library(db, **{"search.index_min_rows": min_rows})
    if quiet or as_json:
        report = _guard(lambda: library.optimize(rebuild=rebuild))
    else:
        report = _guard(lambda: _with_progress(lambda progress: library.optimize(rebuild=rebuild, progress=progress)))
    if as_json:
        _print_json(report.to_dict())
        return
    if quiet:
        return
    table = Table("table", "column", "rows", "index", "done", "seconds", box=None, pad_edge=False)
    for entry in report.indexes:
        action = "too few rows for an index" if entry.action == "skipped" else entry.action
        table.add_row(entry.table, entry.column, f"{entry.rows:,}", entry.kind or "-", action, f"{entry.seconds:.1f}")
    out.print(table)
    for name in report.searched_on_disk:
        out.print(Text(f"  {name} is larger than search.memory_max_rows: searched through its index", style="dim"))
    out.print(Text(f"optimized in {report.seconds:.1f} s"))


@app.command()
def status(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Show the library: photos, folders, per-channel progress, and every file that failed and why."""
    library = _library(db)
    report = _guard(library.status)
    if as_json:
        _print_json(report.to_dict())
        return
    out.print(Text(f"library {report.db}", style="bold"))
    out.print(Text(f"{report.photos} photos in {report.files} files"))
    for folder in report.folders:
        out.print(Text(f"  folder {folder}"))
    table = Table("channel", "done", "failed", "pending", "what it searches", box=None, pad_edge=False)
    for channel in report.channels:
        table.add_row(channel.name, str(channel.done), str(channel.failed), str(channel.pending), channel.description)
    out.print(table)
    for channel in report.channels:
        out.print(Text(f"  {channel.name} model: {channel.version}", style="dim"))
        if channel.unavailable:
            out.print(Text(f"  {channel.name} is unavailable: {channel.unavailable}", style="yellow"))
    for kind in report.captions:
        out.print(
            Text(
                f"captions {kind.prompt_set} ({kind.lang}): {kind.done} done, {kind.failed} failed"
                f" — {kind.human} edited by a person, {kind.imported} imported"
            )
        )
    if report.orphans:
        out.print(
            Text(
                f"{report.orphans} photos no longer in the library had captions you wrote: they are kept "
                "(`shashin orphans` lists them, to attach to a photo or forget)",
                style="yellow",
            )
        )
    if report.errors:
        out.print(Text(f"{len(report.errors)} files could not be indexed:", style="red"))
        for error in report.errors:
            out.print(Text(f"  {error.path}: ", style="bold") + Text(error.message))
    for failure in report.failures:
        out.print(Text(f"  {failure.channel} failed on {failure.path}: ", style="red") + Text(failure.reason))


@app.command()
def check(
    db: DbOption = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Drop damaged tables of outputs (index computes them again), "
            "rewrite damaged tables of the library's own data with their readable rows, and "
            "mark photos without a thumbnail to be read again.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Read the whole library (every row of every table, every thumbnail) and say what is damaged
    and what `shashin index` can rebuild. `status` reports counts; this reads the data itself.

    Exit code 0: healthy (or repaired); 1: damaged (see the advice for each table).
    """
    library = _library(db)
    if not as_json:
        err.print(Text("reading every table of the library…", style="dim"))
    report = _guard(lambda: library.check(repair=repair))
    if as_json:
        _print_json(report.to_dict())
    else:
        table = Table("table", "rows", "unreadable", "state", box=None, pad_edge=False)
        for health in report.tables:
            table.add_row(
                health.name,
                f"{health.rows:,}",
                f"{health.unreadable:,}",
                "ok" if health.ok else f"damaged: {health.problem}",
            )
        out.print(table)
        if report.missing_thumbnails:
            out.print(
                Text(
                    f"{report.missing_thumbnails} photos have no thumbnail: `shashin index` makes them again",
                    style="yellow",
                )
            )
        if not repair:
            for health in report.damaged:
                out.print(Text(f"{health.name}: ", style="bold red") + Text(report.advice(health)))
        for line in report.repairs:
            out.print(Text(f"repaired {line}", style="green"))
        if report.repairs:
            out.print(Text("now run `shashin index` to rebuild what was dropped", style="bold"))
        elif report.healthy:
            out.print(Text("the library is healthy", style="green"))
    if report.damaged and not report.repairs:
        raise typer.Exit(1)


orphans_app = typer.Typer(context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(orphans_app, name="orphans")


@orphans_app.callback(invoke_without_command=True)
def orphans(context: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """List what you wrote about photos that are no longer in the library.

    A photo leaves the library when its files are deleted or replaced by other pixels; the captions
    you wrote for it are kept here. They return by themselves when the photo comes back (the same
    file, or the same pixels under other metadata); `shashin orphans attach ID PHOTO` gives them to
    another photo, `shashin orphans forget ID` deletes them.
    """
    if context.invoked_subcommand is not None:
        return
    library = _library(db)
    kept = _guard(library.orphans)
    if as_json:
        _print_json({"orphans": [orphan.to_dict() for orphan in kept]})
        return
    if not kept:
        out.print(Text("Nothing kept: every caption you wrote belongs to a photo of the library."))
        return
    for orphan in kept:
        where = ", ".join(orphan.paths) or "unknown path"
        out.print(
            Text(f"{orphan.former_photo_id[:12]}", style="bold")
            + Text(f"  last at {where}, removed {orphan.orphaned_at:%Y-%m-%d %H:%M}")
        )
        for row in orphan.rows.get("caption", []):
            out.print(Text(f"  caption ({row['prompt_set']}, {row['lang']}): ") + Text(row["text"]))
    out.print(
        Text("attach with: shashin orphans attach ID PHOTO · delete with: shashin orphans forget ID", style="dim")
    )


@orphans_app.command("attach")
def orphans_attach(
    orphan: Annotated[str, typer.Argument(help="The former photo's id, or its first digits (from `shashin orphans`).")],
    photo: Annotated[
        str, typer.Argument(help="The photo to give the words to: a path in the library or its photo id.")
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace captions the photo already has from you.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Give a removed photo's captions (written by you) to a photo of the library."""
    library = _library(db)
    outcome = _guard(lambda: library.attach_orphan(orphan, photo, replace=replace))
    if outcome.attached:
        out.print(Text(f"attached to {outcome.photo_id}: " + ", ".join(outcome.attached)))
    if outcome.kept:
        err.print(
            Text("kept (the photo has its own; --replace to replace): " + ", ".join(outcome.kept), style="yellow")
        )


@orphans_app.command("forget")
def orphans_forget(
    ids: Annotated[
        list[str] | None, typer.Argument(help="Former photo ids (or their first digits).", show_default=False)
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Forget every kept caption.")] = False,
    db: DbOption = None,
) -> None:
    """Delete the kept captions of removed photos, for good."""
    if not ids and not everything:
        _usage("name the kept photos to forget (see `shashin orphans`), or give --all")
    library = _library(db)
    forgotten = _guard(lambda: library.forget_orphans(ids or [], everything=everything))
    out.print(Text(f"forgotten: {len(forgotten)}"))


def _print_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def main() -> None:
    """Console-script entry point: arguments checked, and any failure one line, never a traceback
    (SHASHIN_TRACEBACK=1 shows where an unexpected one happened)."""
    for number, argument in enumerate(sys.argv[1:], start=1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            readable = os.fsencode(argument).decode("utf-8", "backslashreplace")
            err.print(Text(f"error: argument {number} ({readable}) is not valid UTF-8 text; shashin reads UTF-8 only"))
            raise SystemExit(2) from None
    try:
        app()
    except ShashinError as exc:  # raised outside a command's own guard (settings, a callback)
        err.print(Text("error: ", style="bold red") + Text(exc.message))
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:
        if os.environ.get("SHASHIN_TRACEBACK"):
            raise
        err.print(Text("error: ", style="bold red") + Text(_unexpected(exc)))
        raise SystemExit(1) from None


def _unexpected(exc: Exception) -> str:
    """An exception nothing else explained, as one line: the storage failures people meet by name."""
    import errno

    number = exc.errno if isinstance(exc, OSError) else None
    where = f" ({exc.filename})" if isinstance(exc, OSError) and exc.filename else ""
    if number in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"no space left on the disk{where}: free some space and run the command again (nothing committed is lost)"
        )
    if number in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"cannot write{where}: {exc.strerror}; run as a user who may, or choose a writable place"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}{where}"
    message = str(exc).split(", /rustc/")[0].splitlines()[0] if str(exc) else ""
    return (
        f"unexpected {type(exc).__name__}: {message[:300]} — please report it, with the command; "
        "SHASHIN_TRACEBACK=1 shows where it happened"
    )


if __name__ == "__main__":
    main()
