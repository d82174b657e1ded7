"""`shashin saved`: searches kept under a name (smart albums), run live each time."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from shashin.cli.common import (
    SORT_HELP,
    DbOption,
    JsonOption,
    LimitOption,
    OffsetOption,
    app,
    filter_options,
    guarded,
    open_library,
    out,
    print_json,
    usage_error,
)
from shashin.cli.render import print_results

saved_app = typer.Typer(
    help="Saved searches (smart albums): a query and its filters under a name, run live — new photos join them.",
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
app.add_typer(saved_app, name="saved")
NameArgument = Annotated[str, typer.Argument(help="The saved search's name (any case).")]


@saved_app.callback()
def saved(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the saved searches: name, query and filters."""
    if ctx.invoked_subcommand is not None:
        return
    _list(db, as_json)


@saved_app.command("list")
def list_saved(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the saved searches: name, query and filters."""
    _list(db, as_json)


def _list(db: str | None, as_json: bool) -> None:
    found = guarded(open_library(db).saved.all)
    if as_json:
        print_json({"saved": [search.to_dict() for search in found]})
        return
    if not found:
        out.print(Text('No saved searches yet: shashin saved add "Beach 2023" "beach" --from 2023 --to 2023'))
        return
    for search in found:
        out.print(Text(search.name, style="bold") + Text(f"  {search.describe()}"))


@saved_app.command("add")
@filter_options
def add(
    name: NameArgument,
    query: Annotated[str, typer.Argument(help='The words, as for `shashin search` ("cat -dog", "" for filters only).')],
    filters: dict[str, Any],  # one option per declared filter (filter_options)
    db: DbOption = None,
    sort: Annotated[str, typer.Option("--sort", help=SORT_HELP)] = "relevance",
    as_json: JsonOption = False,
) -> None:
    """Save a search under NAME (replacing one of that name): a live query, not a list of photos.

    `shashin saved run NAME` finds what matches then, photos indexed since included."""
    search = guarded(lambda: open_library(db).saved.save(name, query, filters, sort))
    if as_json:
        print_json(search.to_dict())
    else:
        out.print(Text(f"saved {search.name}: {search.describe()}"))


@saved_app.command("run")
def run(
    name: NameArgument,
    db: DbOption = None,
    limit: LimitOption = 20,
    offset: OffsetOption = 0,
    explain: Annotated[bool, typer.Option("--explain", help="Show why each photo matched.")] = False,
    facets: Annotated[bool, typer.Option("--facets", help="Count the photos by year, place, camera, …")] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="Also show the results below the relevance cut-off.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Run a saved search now: the photos it finds today, best first."""
    response = guarded(
        lambda: open_library(db).saved.run(name, limit=limit, offset=offset, facets=facets, everything=everything)
    )
    print_results(response.to_dict(), as_json, f"No photos match the saved search {name!r} now.", explain=explain)


@saved_app.command("remove")
def remove(name: NameArgument, db: DbOption = None) -> None:
    """Forget a saved search (no photo is touched)."""
    if not name.strip():
        usage_error("give the name of the saved search to remove")
    search = guarded(lambda: open_library(db).saved.remove(name))
    out.print(Text(f"removed {search.name}"))
