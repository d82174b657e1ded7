"""`shashin export`: alt text out of the library (sidecars, embedded, CSV/JSON/HTML)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from shashin.cli.common import DbOption, JsonOption, _guard, _library, _print_json, _usage, app, err, out

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
                done = _guard(
                    lambda: library.embed_alt_text(record, backup=not no_backup),  # noqa: B023 (called at once)
                    passing=(ExportError,),
                )
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
