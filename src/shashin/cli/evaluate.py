"""`shashin eval`: how well each channel and the fused ranking find known photos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from shashin.cli.common import (
    DbOption,
    DeviceOption,
    ImageModelOption,
    JsonOption,
    RichProgress,
    app,
    err,
    fail,
    guarded,
    open_library,
    out,
    print_json,
    usage_error,
    with_progress,
)


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
    calibrate: Annotated[
        Path | None,
        typer.Option(
            "--calibrate",
            help="Fit relevance (and its cut-off) on these queries and write it to this file; "
            "use it with search.calibration. Reports the cut-off's share of true matches kept, cross-validated.",
            show_default=False,
        ),
    ] = None,
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
    people: Annotated[
        Path | None,
        typer.Option(
            "--people",
            help='People labels (JSONL: {"image", "people": [names]}): per-person precision and recall of '
            "--person, and pairwise precision and recall of the face groups.",
            show_default=False,
        ),
    ] = None,
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
            fail(f"cannot compare {compare[0]} and {compare[1]}: {exc}")
        if as_json:
            print_json(result)
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
    if people is not None:
        _evaluate_people(db, people, as_json)
        return
    if queries is None and known_captions is None and not self_captions and not similar:
        usage_error("nothing to evaluate: give a query file, --known-captions FILE, --self-captions or --similar")
    library = open_library(db, **{"image.model": image_model, "image.device": device})
    asked, notes = guarded(
        lambda: library.evaluation.queries(
            file=queries, known_captions=known_captions, self_captions=self_captions, similar=similar
        )
    )
    if not asked:
        fail("no queries to ask: " + "; ".join(notes or ["the protocols given found nothing"]))
    chosen = [c.strip() for c in channels.split(",") if c.strip()] if channels else None

    def evaluate_all(progress: RichProgress) -> Any:
        progress.phase("evaluating", len(asked))
        return library.evaluation.run(
            asked, channels=chosen, parse=not literal, notes=notes, progress=lambda _: progress.advance()
        )

    run = guarded(lambda: with_progress(evaluate_all))
    tuning = tune_fusion(run, folds=folds) if tune else None
    calibrated = _calibrate(run, calibrate, folds) if calibrate else None
    written = write_report(run, report, tuning) if report else []
    if as_json:
        print_json(document(run, tuning))
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
    if calibrated is not None:
        held = calibrated.held_out
        out.print(
            Text(
                f"relevance fitted on these queries, written to {calibrate} (cut-off {calibrated.calibration.cutoff:.3g}); "
                f"cross-validated, the cut-off keeps {held.kept:.3f} of {held.matches} true matches"
                + (f" and empties {held.emptied:.3f} of {held.no_match} queries without one" if held.no_match else "")
                + f". Use it: search.calibration = {str(calibrate)!r}",
                style="bold",
            )
        )
    if written:
        out.print(Text(f"report written to {report}: " + ", ".join(p.name for p in written), style="dim"))


def _calibrate(run: Any, path: Path, folds: int) -> Any:
    """Fit relevance on the run's queries and write it to `path` (one clear error if it cannot be)."""
    from shashin.evaluation.calibrate import calibrate_run

    try:
        calibrated = calibrate_run(run, folds=folds)
        calibrated.calibration.save(path)
    except ValueError as exc:
        fail(f"--calibrate: {exc}")
    except OSError as exc:
        fail(f"--calibrate: cannot write {path}: {exc.strerror or exc}")
    return calibrated


def _evaluate_people(db: str | None, labels: Path, as_json: bool) -> None:
    """`shashin eval --people LABELS`: the people protocol (shashin.evaluation.people)."""
    library = open_library(db)
    report = guarded(lambda: library.evaluation.people(labels))
    if as_json:
        print_json(report.to_dict())
        return
    out.print(
        Text(
            f"face groups: pairwise precision {report.pairwise_precision:.3f}, recall {report.pairwise_recall:.3f} "
            f"({report.faces_measured} faces of photos with one labelled person and one face)",
            style="bold",
        )
    )
    for score in sorted(report.people, key=lambda s: s.name):
        out.print(
            Text(
                f"  {score.name}: --person finds {score.found} photos, precision {score.precision:.2f}, "
                f"recall {score.recall:.2f} (of {score.with_face} labelled photos with a face; {score.labelled} labelled)"
            )
        )
    if report.unknown_names:
        out.print(Text(f"  not named in the library: {', '.join(report.unknown_names)}", style="dim"))
    if report.unmatched_images:
        err.print(Text(f"  {len(report.unmatched_images)} labelled images are not in the library", style="yellow"))
