"""`shashin export`: alt text, keywords and titles out of the library, where other tools read them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from shashin.cli.common import DbOption, JsonOption, app, err, guarded, open_library, out, print_json, usage_error

export_app = typer.Typer(
    help="Export what shashin knows about your photos to the places other tools read.",
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)


app.add_typer(export_app, name="export")

FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="xmp (sidecars), embed (into the photos), csv, json or html.")
]
LangOption = Annotated[str, typer.Option("--lang", help="Languages, comma-separated; the first is x-default.")]
OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="xmp: write sidecars under this folder instead of beside the photos; csv/json/html: the file (default: standard output).",
        show_default=False,
    ),
]
NoBackupOption = Annotated[
    bool, typer.Option("--no-backup", help="embed: do not keep the originals in .shashin-backup/.")
]


@export_app.callback()
def export(
    ctx: typer.Context,
    fields: Annotated[
        str,
        typer.Option(
            "--fields",
            help="What to write, comma-separated: alt-text (IPTC accessibility fields and dc:description), "
            "keywords (dc:subject, lr:hierarchicalSubject, digiKam:TagsList), title (dc:title, only where none is set), "
            "people (MWG face regions with the names you gave).",
        ),
    ] = "alt-text",
    db: DbOption = None,
    fmt: FormatOption = "xmp",
    lang: LangOption = "ja,en",
    destination: OutOption = None,
    no_backup: NoBackupOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print per photo what would be added and removed; write nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Write alt text, keywords and titles where other apps read them (digiKam, Lightroom, immich…).

    Keywords are the photo's suggested tags above keywords.min_score and the tags you set with
    `shashin tag`, under keywords.root in hierarchies ("shashin|tags|dog"). What is in the file is
    merged, never replaced: a keyword shashin did not write is never removed, and shashin takes back
    only its own keywords that no longer hold. Sidecars (photo.xmp) by default; --format embed
    writes into the photos, checked on a copy first (pixels and other metadata unchanged),
    originals kept in .shashin-backup/ unless --no-backup.

    Example: shashin export --fields keywords,title --dry-run
    """
    if ctx.invoked_subcommand is None:
        _export(fields, db, fmt, lang, destination, no_backup, dry_run, as_json)


@export_app.command("alt-text")
def export_alt_text(
    db: DbOption = None,
    fmt: FormatOption = "xmp",
    lang: LangOption = "ja,en",
    destination: OutOption = None,
    no_backup: NoBackupOption = False,
    as_json: JsonOption = False,
) -> None:
    """Export alt text (IPTC "Alt Text (Accessibility)") and extended descriptions: the same as
    `shashin export --fields alt-text`.

    From each photo's brief caption (a person's edit wins; see `shashin caption set`), ≤ 125
    characters, and from its detailed caption and the text read in it. xmp writes
    Iptc4xmpCore:AltTextAccessibility, Iptc4xmpCore:ExtDescrAccessibility and dc:description as
    language alternatives into photo.xmp sidecars, merging with what is there; embed writes the same
    into the photo files, checked on a copy first (pixels and other metadata unchanged), originals
    kept in .shashin-backup/ unless --no-backup.
    """
    _export("alt-text", db, fmt, lang, destination, no_backup, False, as_json)


def _export(  # type: ignore[no-untyped-def]
    fields_text: str, db, fmt: str, lang: str, destination: Path | None, no_backup: bool, dry_run: bool, as_json: bool
) -> None:
    from shashin.export import FORMATS, ExportError, to_csv, to_html, to_json
    from shashin.library.exporting import parse_fields

    if fmt not in FORMATS:
        usage_error(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    try:
        fields = parse_fields(fields_text)
    except ValueError as exc:
        usage_error(str(exc))
    langs = [part.strip() for part in lang.split(",") if part.strip()]
    if not langs:
        usage_error("--lang needs at least one language, e.g. ja,en")
    library = open_library(db)
    if fmt in ("csv", "json", "html"):
        if fields != ["alt-text"]:
            usage_error("keywords and titles are written as XMP (--format xmp or embed); --dry-run --json lists them")
        records = guarded(lambda: library.export.alt_text_records(langs))
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
    embed = fmt == "embed"
    items = guarded(lambda: library.export.plan(fields, langs, embed=embed, out=destination))
    if dry_run:
        _print_plan(items, fields, as_json)
        return
    written: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    done = []
    for item in items:
        try:
            if item.problem:
                raise ExportError(item.problem)
            if item.changes:
                backup = guarded(
                    lambda: library.export.write(item, embed=embed, backup=not no_backup),  # noqa: B023 (called at once)
                    passing=(ExportError,),
                )
                entry = {"path": item.path, **({"backup": backup} if embed else {"sidecar": item.target})}
                written.append(
                    entry | ({k: v for k, v in item.to_dict().items() if k.startswith(("keywords", "title", "people"))})
                )
            done.append(item)
        except ExportError as exc:
            failed.append({"path": item.path, "error": str(exc)})
    guarded(lambda: library.export.record(done))
    if as_json:
        print_json({"format": fmt, "fields": fields, "langs": langs, "written": written, "failed": failed})
    else:
        out.print(Text(f"{len(written)} photos written ({fmt}: {', '.join(fields)}), {len(failed)} failed"))
        for problem in failed:
            err.print(Text(f"  {problem['error']}", style="red"))
    if failed:
        raise typer.Exit(3)


def _print_plan(items: list[Any], fields: list[str], as_json: bool) -> None:
    """--dry-run: per photo, what would be added and removed."""
    changing = [item for item in items if item.changes or item.problem]
    if as_json:
        print_json({"dry_run": True, "fields": fields, "photos": [item.to_dict() for item in changing]})
        return
    for item in changing:
        if item.problem:
            err.print(Text(item.problem, style="red"))
            continue
        out.print(Text(item.path, style="bold") + Text(f"  → {item.target}", style="dim"))
        if item.added:
            out.print(Text("  + ", style="green") + Text(", ".join(item.added)))
        if item.removed:
            out.print(Text("  − ", style="red") + Text(", ".join(item.removed)))
        if item.title:
            out.print(Text("  title: ") + Text(item.title))
        if item.regions_added:
            out.print(Text("  + people: ", style="green") + Text(", ".join(item.regions_added)))
        if item.regions_removed:
            out.print(Text("  − people: ", style="red") + Text(", ".join(item.regions_removed)))
        if item.alt:
            out.print(Text("  alt text: ") + Text(" / ".join(item.alt.alt.values())))
    out.print(Text(f"{len(changing)} photos would change; nothing was written (--dry-run)"))
