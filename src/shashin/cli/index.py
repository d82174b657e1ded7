"""`shashin index`: add folders and bring the library up to date."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from shashin.cli.common import (
    EXIT_PARTIAL,
    DbOption,
    DeviceOption,
    ImageModelOption,
    JsonOption,
    QuietOption,
    RayOption,
    RayWorkersOption,
    app,
    cluster_for,
    fail,
    guarded,
    open_library,
    print_json,
    with_progress,
)
from shashin.cli.render import print_report
from shashin.registry import indexed_channel_names


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
    library = open_library(
        db,
        workers=workers,
        batch_size=batch_size,
        channels=channels,
        **{"image.model": image_model, "image.device": device},
    )
    cluster = cluster_for(ray, ray_workers)
    started = time.monotonic()
    if quiet or as_json:
        report = guarded(lambda: library.index(folders or [], retry_failed=retry_failed, cluster=cluster))
    else:
        report = guarded(
            lambda: with_progress(
                lambda progress: library.index(
                    folders or [], progress=progress, retry_failed=retry_failed, cluster=cluster
                )
            )
        )
    if as_json:
        print_json(report.to_dict())
    elif not quiet:
        print_report(report, time.monotonic() - started)
    from shashin.channels.image import ImageChannel  # loaded by the run already

    image = report.channels.get(ImageChannel.name)
    if image_model and image is not None and image.unavailable:  # asked for by name: not a note, an error
        fail(f"--image-model {image_model}: {image.unavailable}")
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)
