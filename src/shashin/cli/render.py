"""How reports and results look in a terminal (--json documents come from each report's to_dict)."""

from __future__ import annotations

import shlex
from typing import Any

from rich.table import Table
from rich.text import Text

from shashin.cli.common import err, out, print_json
from shashin.errors import NOT_INDEXED


def print_report(report: Any, seconds: float) -> None:
    summary = (
        f"{report.files_found} files: {report.new_photos} new photos, {report.changed_files} changed, "
        f"{report.moved_files} moved or copied, {report.removed_files} removed, {report.unchanged_files} unchanged"
    )
    out.print(Text(summary))
    notes = []
    if report.same_pixels:
        notes.append(f"{report.same_pixels} changed only in metadata (same photo kept)")
    if report.raw_twins:
        notes.append(f"{report.raw_twins} RAW files joined the photo of their camera JPEG")
    if report.refreshed_photos:
        notes.append(f"{report.refreshed_photos} photos' metadata read again")
    if report.reattached:
        notes.append(f"{report.reattached} returning photos got back what you wrote for them")
    if notes:
        out.print(Text("  " + "; ".join(notes)))
    if report.unreadable_files:
        out.print(
            Text(
                f"  {report.unreadable_files} files could not be read this time: their photos are kept", style="yellow"
            )
        )
    if report.orphans:
        out.print(
            Text(
                f"  {report.orphans} removed photos had captions you wrote: kept, see `shashin orphans`", style="yellow"
            )
        )
    for name, channel in report.channels.items():
        line = Text(f"  {name}: {channel.processed} processed")
        if channel.refreshed:
            line.append(f", {channel.refreshed} refreshed")
        if channel.failed:
            line.append(f", {channel.failed} failed", style="red")
        if channel.unavailable:
            line.append(f" — unavailable: {channel.unavailable}", style="yellow")
        out.print(line)
    if report.photos_processed:
        out.print(
            Text(
                f"{report.photos_processed} photos in {report.work_seconds:.1f} s ({report.photos_per_second:.1f} photos/s)"
            )
        )
    for folder in report.missing_folders:
        out.print(Text(f"missing folder (its photos are kept): {folder}", style="yellow"))
    if report.errors:
        out.print(Text(f"{len(report.errors)} files could not be indexed:", style="red"))
        for error in report.errors[:10]:
            out.print(Text(f"  {error.path}: ", style="bold") + Text(error.message))
        if len(report.errors) > 10:
            out.print(Text(f"  … and {len(report.errors) - 10} more: see `shashin status`"))
    out.print(Text(f"done in {seconds:.1f} s", style="dim"))


def print_caption_report(report: Any) -> None:
    if report.unavailable:
        return
    model = f" ({report.model})" if report.model else ""
    out.print(Text(f"{report.backend}{model}, {report.prompt_set} captions in {', '.join(report.langs) or '-'}:"))
    line = f"  {report.written} written, {report.failed} failed"
    if report.retried:
        line += f", {report.retried} retried after looping or empty output"
    if report.skipped:
        line += f", {report.skipped} already done"
    if report.kept_human:
        line += f", {report.kept_human} kept (edited by a person)"
    if report.not_found:
        line += f", {report.not_found} entries matched no photo"
    out.print(Text(line))
    if report.embedded:
        out.print(Text(f"  {report.embedded} captions embedded for meaning search"))
    if report.written + report.failed and report.seconds:
        out.print(Text(f"  {report.captions_per_second:.2f} captions/s", style="dim"))
    for failure in report.failures[:10]:
        out.print(Text(f"  failed ({failure.lang}) {failure.path}: ", style="red") + Text(failure.reason))
    if len(report.failures) > 10:
        out.print(Text(f"  … and {len(report.failures) - 10} more: see `shashin status`"))
    for error in report.errors[:10]:
        out.print(Text(f"  unreadable {error.path}: ", style="red") + Text(error.message))


def print_results(response: dict[str, Any], as_json: bool, empty: str, *, explain: bool = False) -> None:
    """A search response (its to_dict() form, as a resident server sends it too) in a terminal."""
    if as_json:
        print_json(response)
        return
    for name, reason in response["unavailable_channels"].items():
        if reason.startswith(NOT_INDEXED):
            # Known since the index run (`status` and the home page say how to fix it): said here
            # only when it may be why nothing was found, and briefly.
            if not response["results"] or explain:
                err.print(Text(f"note: channel '{name}' has nothing to search yet: its model was missing "
                               "when the library was indexed (`shashin status` says how to get it)", style="yellow"))  # fmt: skip
            continue
        err.print(Text(f"note: channel '{name}' was not used: {reason}", style="yellow"))
    described = response["filters"]["described"]
    if response["understood"] or described:
        searched = f"searching {response['searched']!r}" if response["searched"] else "browsing"
        out.print(Text(f"{searched}; filters: " + "; ".join(described or ["none"]), style="cyan"))
    for removal in response.get("excluded", []):
        by = ", ".join(f"{name} {n}" for name, n in sorted(removal["by_channel"].items()))
        removed = f"not {removal['term']}: {removal['removed']} photos removed" + (f" ({by})" if by else "")
        out.print(Text(removed, style="cyan"))
    cut = response.get("cut", 0)
    if not response["results"]:
        if cut and not response["total"]:
            out.print(Text(f"Nothing matches well: {cut} weak results (relevance below {response['cutoff']:.2g}) "
                           "are hidden; --all shows them."))  # fmt: skip
        else:
            out.print(Text(empty))
        return
    if explain and response.get("weighing"):
        weighed = "; ".join(f"{name} {_weighed(w)}" for name, w in response["weighing"].items())
        out.print(Text(f"weighing: {weighed}", style="cyan"))
    for result in response["results"]:
        line = Text(f"{result['rank']:>3}. ", style="bold") + Text(result["path"], style="bold")
        channels = result["channels"]
        if channels:
            line += Text(f"  relevance {result['relevance']:.2f}" + ("  exact" if result["exact"] else ""), style="dim")
        out.print(line)
        if explain:
            _print_explanation(result)
        elif channels:
            why = " · ".join(f"{name} #{m['rank']} ({m['score']:.2f})" for name, m in channels.items())
            out.print(Text(f"     {why}", style="dim"))
        for highlight in result["highlights"]:
            text = Text(f"     {highlight['field']}: ")
            body = Text(highlight["text"])
            for start, end in highlight["spans"]:
                body.stylize("bold black on yellow", start, end)
            out.print(text + body)
    shown = response["offset"] + len(response["results"])
    if shown < response["total"]:
        out.print(Text(f"{shown} of {response['total']} shown; more with --offset {shown}", style="dim"))
    if cut:
        out.print(
            Text(f"{cut} less relevant results (below {response['cutoff']:.2g}) hidden; --all shows them", style="dim")
        )
    _print_facets(response.get("facets") or {})


_FLAGS = {"from": "--from", "to": "--to", "near": "--near", "radius": "--radius", "camera": "--camera",
          "has_text": "--has-text", "keyword": "--keyword", "person": "--person", "shows": "--shows"}  # fmt: skip


def _print_facets(facets: dict[str, list[dict[str, Any]]]) -> None:
    """Each facet's values with their counts, and the options that narrow the search to one."""
    for kind, values in facets.items():
        out.print(Text(f"{kind}:", style="bold"))
        for value in values:
            flags = " ".join(
                _FLAGS[name] if given == "true" else f"{_FLAGS[name]} {shlex.quote(given)}"
                for name, given in value["filter"].items()
                if name in _FLAGS
            )
            out.print(Text(f"  {value['value']} ({value['count']})") + Text(f"  {flags}", style="dim"))


def _weighed(weighing: dict[str, Any]) -> str:
    """A channel's weight for the query in words ("×2.1 to 0.42: its first holds every word …")."""
    if abs(weighing["factor"] - 1.0) < 0.005:
        return f"{weighing['weight']:.2g}"
    return f"weighed up ×{weighing['factor']:.2g} to {weighing['weight']:.2g} ({weighing['why']})"


def _print_explanation(result: dict[str, Any]) -> None:
    """Each channel's placement of one result, the fused score, and when and where it was taken."""
    from datetime import datetime

    facts = []
    if result["taken_at"]:
        facts.append(f"taken {datetime.fromisoformat(result['taken_at']):%Y-%m-%d %H:%M}")
    if result["place"]:
        facts.append(f"at {result['place']}")
    if facts:
        out.print(Text("     " + " · ".join(facts), style="dim"))
    if result.get("found_by"):
        out.print(Text("     found by: " + " | ".join(result["found_by"]), style="dim"))
    if not result["channels"]:
        return
    table = Table("channel", "rank", "score", "", "", box=None, pad_edge=False, show_header=False)
    for name, match in sorted(result["channels"].items(), key=lambda item: item[1]["rank"]):
        table.add_row(
            f"     {name}",
            f"#{match['rank']}",
            f"{match['score']:.4f}",
            match.get("matched") or ("every word" if match["exact"] else ""),
            f"evidence {match['evidence']:+.2f}" if match.get("evidence") else "",
        )
    out.print(table)
    out.print(Text(f"     fused score {result['score']:.5f} (relevance {result['relevance']:.2f})", style="dim"))
