"""`shashin search`, `similar` and `duplicates`: finding photos."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from shashin.cli.common import (
    SORT_HELP,
    DbOption,
    DeviceOption,
    ImageModelOption,
    JsonOption,
    LimitOption,
    OffsetOption,
    app,
    ask_resident,
    cli_settings,
    fail,
    filter_options,
    guarded,
    open_library,
    out,
    parse_filters,
    print_json,
    usage_error,
)
from shashin.cli.render import print_results
from shashin.search.filters.declared import restricts


@app.command()
@filter_options
def search(
    query: Annotated[
        str,
        typer.Argument(
            help="Words to find. Quote a phrase to match it exactly: '\"NO LITTER\"'. Dates and places in it "
            'become filters: "beach July 2023", "cats in Tokyo", 「2025年9月の京都」. Empty ("") with filters: browse.'
        ),
    ],
    filters: dict[str, Any],  # one option per declared filter (filter_options)
    db: DbOption = None,
    limit: LimitOption = 20,
    offset: OffsetOption = 0,
    sort: Annotated[str, typer.Option("--sort", help=SORT_HELP)] = "relevance",
    min_score: Annotated[
        float, typer.Option("--min-score", help="Leave out results whose relevance (0-1) is lower.", min=0.0, max=1.0)
    ] = 0.0,
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Also show the results below the relevance cut-off (weak matches, hidden by default; search.cutoff).",
        ),
    ] = False,
    literal: Annotated[
        bool,
        typer.Option(
            "--literal", help="Search the query as written: no dates, places, people, OR or -exclusions read out of it."
        ),
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain", help="Show each channel's rank and score, the matched words, the photo's date and place."
        ),
    ] = False,
    facets: Annotated[
        bool,
        typer.Option(
            "--facets",
            help="Count the photos found by year, place, camera, text, keyword and person (and the filter for each).",
        ),
    ] = False,
    image_model: ImageModelOption = None,
    device: DeviceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search the library in Japanese or English: ranked photos, best first, and why each matched.

    "cat -dog" (or "cat NOT dog") leaves out photos of dogs; "cat OR kitten" finds either;
    quoted words stay together: '"wet floor" -beach'.

    Every channel (image vectors, captions by keyword and by meaning, text in the photo, tags,
    keywords and names kept by other apps, file names, place) ranks the photos; their normalized
    scores are fused, each channel weighed by how sure it is of this query (search.fusion).
    Relevance is the probability of a true match; weaker results are hidden unless --all.
    --json always includes the full explanation.
    """
    from shashin.search import SORTS

    if sort not in SORTS:
        usage_error(f"--sort must be one of {', '.join(SORTS)}, not {sort!r}")
    if not query.strip() and not restricts(filters):
        usage_error(
            'nothing to search: give words, or a filter such as --from 2023 or --near Kyoto (with "" as the query)'
        )
    settings = cli_settings(db, **{"image.model": image_model, "image.device": device})
    options = {"limit": limit, "offset": offset, "parse": not literal, "sort": sort, "min_score": min_score}
    if facets:
        options["facets"] = True
    if everything:
        options["everything"] = True
    response = ask_resident(settings, {"op": "search", "query": query, "options": options, "filters": filters})
    if response is None:  # no server for this library: search here
        from shashin.library import Library

        chosen = parse_filters(filters)
        library = Library(settings=settings, quick=True)
        response = guarded(lambda: library.search(query, filters=chosen, **options)).to_dict()  # type: ignore[arg-type]
    unavailable = response["unavailable_channels"]
    if image_model and "image" in unavailable:
        fail(f"--image-model {image_model}: {unavailable['image']}")
    print_results(response, as_json, f"No photos matched {query!r}.", explain=explain)


@app.command()
@filter_options
def similar(
    photo: Annotated[str, typer.Argument(help="A photo: a path in the library, its photo id, or any image file.")],
    filters: dict[str, Any],  # one option per declared filter (filter_options)
    db: DbOption = None,
    limit: LimitOption = 20,
    offset: OffsetOption = 0,
    image_model: ImageModelOption = None,
    device: DeviceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find photos that look like PHOTO (image vectors), most similar first, among those the filters allow."""
    chosen = parse_filters(filters)
    library = open_library(db, **{"image.model": image_model, "image.device": device})
    response = guarded(lambda: library.similar(photo, limit=limit, offset=offset, filters=chosen))
    print_results(response.to_dict(), as_json, "No similar photos: the library has no image vectors yet.")


@app.command()
def duplicates(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List groups of near-duplicate photos and exact copies, the best-quality file first.

    Two photos are near-duplicates when their perceptual hashes are close and their image vectors
    agree (settings duplicates.max_hash_distance and duplicates.min_similarity).
    """
    library = open_library(db)
    groups = guarded(library.duplicates)
    if as_json:
        print_json({"groups": [group.to_dict() for group in groups]})
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
