"""Looking after a library: `status`, `check`, `optimize`, `orphans`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from shashin.cli.common import (
    DbOption,
    JsonOption,
    QuietOption,
    app,
    err,
    guarded,
    open_library,
    out,
    print_json,
    usage_error,
    with_progress,
)


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
    library = open_library(db, **{"search.index_min_rows": min_rows})
    if quiet or as_json:
        report = guarded(lambda: library.optimize(rebuild=rebuild))
    else:
        report = guarded(lambda: with_progress(lambda progress: library.optimize(rebuild=rebuild, progress=progress)))
    if as_json:
        print_json(report.to_dict())
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
    from shashin.watch.watcher import watcher_state

    library = open_library(db)
    report = guarded(library.status)
    watcher = watcher_state(str(library.path))
    if as_json:
        print_json({**report.to_dict(), "watcher": watcher})
        return
    out.print(Text(f"library {report.db}", style="bold"))
    out.print(Text(f"{report.photos} photos in {report.files} files"))
    if report.indexing:
        from shashin.ingest.estimate import describe_run

        out.print(Text(describe_run(report.indexing), style="cyan"))
    for folder in report.folders:
        out.print(Text(f"  folder {folder}"))
    if watcher is not None:
        out.print(_watcher_line(watcher))
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
    library = open_library(db)
    if not as_json:
        err.print(Text("reading every table of the library…", style="dim"))
    report = guarded(lambda: library.check(repair=repair))
    if as_json:
        print_json(report.to_dict())
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
    library = open_library(db)
    kept = guarded(library.orphans.all)
    if as_json:
        print_json({"orphans": [orphan.to_dict() for orphan in kept]})
        return
    if not kept:
        out.print(Text("Nothing kept: every caption and tag you wrote belongs to a photo of the library."))
        return
    for orphan in kept:
        where = ", ".join(orphan.paths) or "unknown path"
        out.print(
            Text(f"{orphan.former_photo_id[:12]}", style="bold")
            + Text(f"  last at {where}, removed {orphan.orphaned_at:%Y-%m-%d %H:%M}")
        )
        for row in orphan.rows.get("caption", []):
            out.print(Text(f"  caption ({row['prompt_set']}, {row['lang']}): ") + Text(row["text"]))
        for row in orphan.rows.get("tag", []):
            out.print(Text(f"  tag ({row['state']}): ") + Text(row["word"]))
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
    library = open_library(db)
    outcome = guarded(lambda: library.orphans.attach(orphan, photo, replace=replace))
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
        usage_error("name the kept photos to forget (see `shashin orphans`), or give --all")
    library = open_library(db)
    forgotten = guarded(lambda: library.orphans.forget(ids or [], everything=everything))
    out.print(Text(f"forgotten: {len(forgotten)}"))


def _watcher_line(state: dict[str, Any]) -> Text:
    """The watcher in one line: alive or not, what it does, its queue, its last event and run."""
    if not state["running"]:
        return Text(f"watcher (pid {state['pid']}) is not running: it stopped without cleaning up", style="yellow")
    parts = [f"watcher pid {state['pid']}: {state['doing']}", f"{state['queue']} paths queued"]
    if state.get("last_event_ago") is not None:
        parts.append(f"last event {state['last_event_ago']:.0f} s before {state['written_at']}")
    run = state.get("last_run")
    if run:
        parts.append(f"last run {run['at']}: {run['new_photos']} new, {run['removed_photos']} removed")
    if state.get("polling"):
        parts.append(f"polling {state['polling']}")
    return Text("; ".join(parts) + f" — {', '.join(state['folders'])}")
