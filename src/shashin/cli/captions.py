"""`shashin caption`: write captions with a vision-language model, import them, or set one by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from shashin.cli.common import (
    EXIT_PARTIAL,
    DbOption,
    DeviceOption,
    JsonOption,
    QuietOption,
    RayOption,
    RayWorkersOption,
    app,
    cluster_for,
    err,
    guarded,
    open_library,
    out,
    print_json,
    usage_error,
    with_progress,
)
from shashin.cli.render import print_caption_report
from shashin.registry import CAPTION_BACKENDS

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
    with_context: Annotated[
        bool | None,
        typer.Option(
            "--context/--no-context",
            help="Tell the model what the library knows of each photo: the town (GPS or its metadata), the date, "
            "the folder and the people named in it. Stored with the caption; a changed context captions it again.",
            show_default=False,
        ),
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
        "captions.context": with_context,
        "captions.model": model,
        "captions.url": url,
        "captions.api_key": api_key,
        "captions.device": device,
        "captions.batch_size": batch_size,
        "captions.concurrency": concurrency,
    }
    library = open_library(db, **overrides)
    chosen = library.settings.captions.backend
    if chosen != "import" and (source or from_metadata):
        usage_error("--from and --from-metadata go with --backend import")

    def run(progress: Any) -> Any:
        if chosen == "import":
            return library.import_captions(
                source, from_metadata=from_metadata, lang=lang if lang and "," not in lang else None, progress=progress
            )
        return library.caption(
            progress=progress, retry_failed=retry_failed, limit=limit, cluster=cluster_for(ray, ray_workers)
        )

    if quiet or as_json:
        report = guarded(lambda: run(None))
    else:
        report = guarded(lambda: with_progress(run))
    if as_json:
        print_json(report.to_dict())
    elif not quiet:
        print_caption_report(report)
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
    library = open_library(db)
    written = guarded(lambda: library.set_caption(photo, text, lang=lang, prompt_set=prompt_set))
    out.print(Text(f"caption ({prompt_set}, {lang}) of {written} set by you: ", style="bold") + Text(text))
