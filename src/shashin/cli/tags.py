"""`shashin tag`: a person's own keywords on a photo."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from shashin.cli.common import DbOption, JsonOption, app, guarded, open_library, out, print_json


@app.command("tag")
def tag(
    photo: Annotated[
        str, typer.Argument(help="The photo: a path in the library, a unique file name, or its photo id.")
    ],
    action: Annotated[str, typer.Argument(help="add or remove.")],
    words: Annotated[list[str], typer.Argument(help="Tags: one or more words or phrases (quote a phrase).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Tag a photo yourself, or take a tag away.

    An added tag is searched and filtered at once (--keyword) and written as a keyword by
    `shashin export --fields keywords`. Removing a tag takes away one you added, or one shashin
    suggested that does not hold (it is then never exported). Keywords written by other apps are
    theirs: change those in the app.

    Examples: shashin tag ~/Photos/IMG_1.jpg add "Kyoto trip" family;  shashin tag IMG_1.jpg remove dog
    """
    library = open_library(db)
    done = guarded(lambda: library.tag(photo, action, words))
    if as_json:
        print_json(done)
        return
    out.print(Text(f"tags of {done['photo_id']}: ", style="bold") + Text(", ".join(done["added"]) or "none"))
    if done["removed"]:
        out.print(Text("taken away: ", style="dim") + Text(", ".join(done["removed"])))
