"""`shashin people`: the people faces were grouped into, and naming them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from shashin.cli.common import DbOption, JsonOption, app, guarded, open_library, out, print_json

people_app = typer.Typer(
    help="People: faces grouped by who they are. Name them once; search with --person NAME or 'Ken at the beach'.",
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
app.add_typer(people_app, name="people")


@people_app.callback()
def people(ctx: typer.Context, db: DbOption = None, as_json: JsonOption = False) -> None:
    """List people: id, name, faces and photos (named first, then the most seen)."""
    if ctx.invoked_subcommand is not None:
        return
    library = open_library(db)
    found = guarded(library.people.all)
    if as_json:
        print_json({"people": [person.to_dict() for person in found]})
        return
    if not found:
        out.print(Text("No people yet: `shashin index` finds faces (channel faces) and groups them."))
        return
    for person in found:
        out.print(
            Text(f"{person.person_id}  ", style="dim")
            + Text(person.name or "(no name)", style="bold" if person.name else "italic")
            + Text(f"  {person.faces} faces in {person.photos} photos")
        )
    out.print(Text('name one with: shashin people name ID "Ken"', style="dim"))


@people_app.command("name")
def people_name(
    person: Annotated[str, typer.Argument(help="The person: id (or its first digits) or current name.")],
    name: Annotated[str, typer.Argument(help="The name to give, as you want to search it.")],
    db: DbOption = None,
) -> None:
    """Name a person (or rename one). A person who already has that name takes these faces too."""
    library = open_library(db)
    person_id = guarded(lambda: library.people.name(person, name))
    out.print(Text(f"{person_id} is now ") + Text(name, style="bold"))


@people_app.command("merge")
def people_merge(
    into: Annotated[str, typer.Argument(help="The person who stays (id or name).")],
    others: Annotated[list[str], typer.Argument(help="People who are the same person (ids or names).")],
    db: DbOption = None,
) -> None:
    """Make several people one: their faces move to INTO."""
    library = open_library(db)
    moved = guarded(lambda: library.people.merge(into, others))
    out.print(Text(f"{moved} faces moved to {into}"))


@people_app.command("recluster")
def people_recluster(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Regroup every face from scratch (after changing faces.threshold, say). Names stay with the
    faces that carried them; faces a person confirmed stay with their person."""
    library = open_library(db)
    done = guarded(library.people.recluster)
    if as_json:
        print_json(done)
        return
    out.print(Text(f"{done['faces']} faces in {done['people']} people; {done['moved']} faces moved"))


@people_app.command("rename")
def people_rename(
    person: Annotated[str, typer.Argument(help="The person: current name, or id.")],
    name: Annotated[str, typer.Argument(help="The new name.")],
    db: DbOption = None,
) -> None:
    """Rename a person (the same as `people name`)."""
    people_name(person, name, db)


@people_app.command("faces")
def people_faces(
    photo: Annotated[str, typer.Argument(help="A photo: a path in the library or its photo id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the faces found in a photo: face id, box, person."""
    library = open_library(db)
    faces = guarded(lambda: library.people.faces(photo))
    if as_json:
        print_json({"faces": faces})
        return
    for face in faces:
        left, top, width, height = face["box"]
        who = face["name"] or face["person_id"] or "(nobody yet)"
        out.print(
            Text(f"{face['face_id']}  ")
            + Text(who, style="bold")
            + Text(f"  at {left:.2f},{top:.2f} size {width:.2f}×{height:.2f}  {face['source'] or ''}", style="dim")
        )


@people_app.command("not")
def people_not(
    photo: Annotated[str, typer.Argument(help="The photo: a path in the library or its photo id.")],
    person: Annotated[str, typer.Argument(help="Who is not in it (name or id).")],
    db: DbOption = None,
) -> None:
    """Say a person is not in a photo: that face leaves them and is never grouped again by itself."""
    library = open_library(db)
    changed = guarded(lambda: library.people.not_in(photo, person))
    out.print(Text(f"{changed} faces taken from {person}"))


@people_app.command("move")
def people_move(
    face: Annotated[str, typer.Argument(help="The face id (from `shashin people faces PHOTO`).")],
    person: Annotated[str, typer.Argument(help="Whose face it is (name or id).")],
    db: DbOption = None,
) -> None:
    """Give one face to a person, for good (it stays theirs across regroupings)."""
    library = open_library(db)
    guarded(lambda: library.people.move_face(face, person))
    out.print(Text(f"{face} is now {person}'s, confirmed"))


@people_app.command("forget")
def people_forget(
    person: Annotated[str, typer.Argument(help="The person to forget (name or id).")],
    db: DbOption = None,
) -> None:
    """Forget a person: their name and their faces' descriptors are deleted from the library."""
    library = open_library(db)
    forgotten = guarded(lambda: library.people.forget(person))
    out.print(Text(f"{person} forgotten ({forgotten} faces' descriptors deleted)"))
