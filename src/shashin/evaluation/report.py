"""An evaluation written down: a table in the terminal, results.json for drill-down and comparison,
and report.md + report.html with plots (MRR per ranking with intervals, Recall@k, per language)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from shashin.evaluation.metrics import METRICS, Estimate, paired_difference, recall_at
from shashin.evaluation.run import FUSED, EvalRun
from shashin.evaluation.tune import Tuning

RECALL_KS = tuple(range(1, 21))


def document(run: EvalRun, tuning: Tuning | None = None) -> dict[str, Any]:
    """Everything about a run as one JSON-able document (what results.json holds)."""
    overall = run.summary()["all"]
    return {
        "config": run.config,
        "notes": run.notes,
        "queries": len(run.results),
        "summary": {name: {m: e.to_dict() for m, e in metrics.items()} for name, metrics in overall.items()},
        "by_language": _grouped(run, "lang"),
        "by_protocol": _grouped(run, "protocol"),
        "tuning": tuning.to_dict() if tuning else None,
        "per_query": [r.to_dict() for r in run.results],
    }


def _grouped(run: EvalRun, attribute: str) -> dict[str, Any]:
    groups = run.summary(by=lambda q: getattr(q, attribute))
    return {g: {n: {m: e.to_dict() for m, e in ms.items()} for n, ms in names.items()} for g, names in groups.items()}


def table(run: EvalRun) -> list[list[str]]:
    """Rows for the terminal and the Markdown report: ranking, MRR [95% CI], P@1, R@1/5/10, nDCG@10, n."""
    rows = [["ranking", "MRR [95% CI]", "P@1", "R@1", "R@5", "R@10", "nDCG@10", "queries"]]
    for name, metrics in run.summary()["all"].items():
        rows.append(
            [name, str(metrics["mrr"])] + [f"{metrics[m].mean:.3f}" for m in METRICS[1:]] + [str(metrics["mrr"].n)]
        )
    return rows


def write_report(run: EvalRun, folder: Path, tuning: Tuning | None = None) -> list[Path]:
    """results.json, report.md, report.html and three PNG plots in `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = document(run, tuning)
    (folder / "results.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    plots = _plots(run, folder)
    (folder / "report.md").write_text(_markdown(run, doc, plots, tuning), encoding="utf-8")
    (folder / "report.html").write_text(_html(run, doc, plots, tuning), encoding="utf-8")
    if tuning:
        (folder / "tuned-settings.toml").write_text(tuning.toml(), encoding="utf-8")
    names = ["results.json", "report.md", "report.html", *plots] + (["tuned-settings.toml"] if tuning else [])
    return [folder / name for name in names]


def _plots(run: EvalRun, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    overall = run.summary()["all"]
    names = list(overall)
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(names) + 1.5))
    means = [overall[n]["mrr"].mean for n in names]
    errors = np.array(
        [
            [overall[n]["mrr"].mean - overall[n]["mrr"].low, overall[n]["mrr"].high - overall[n]["mrr"].mean]
            for n in names
        ]
    ).T
    colours = ["#d62728" if n == FUSED else "#1f77b4" for n in names]
    ax.barh(names, means, xerr=errors, color=colours, capsize=4)
    ax.set_xlabel("MRR (95% bootstrap interval)")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title(f"MRR per ranking, {len(run.results)} queries")
    fig.tight_layout()
    fig.savefig(folder / "mrr.png", dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in names:
        curve = [
            np.mean([recall_at(_ranking(r, name, run), r.query.relevant, k) for r in run.results]) for k in RECALL_KS
        ]
        ax.plot(RECALL_KS, curve, marker="o", markersize=3, label=name, linewidth=2.5 if name == FUSED else 1.2)
    ax.set_xticks([1, 5, 10, 15, 20])
    ax.set_xlabel("k")
    ax.set_ylabel("Recall@k")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Recall@k")
    fig.tight_layout()
    fig.savefig(folder / "recall.png", dpi=120)
    plt.close(fig)

    by_lang = run.summary(by=lambda q: q.lang)
    langs = list(by_lang)
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        ax.bar(
            [j + i * width for j in range(len(langs))],
            [by_lang[lang][name]["mrr"].mean for lang in langs],
            width,
            label=name,
        )
    ax.set_xticks([j + width * (len(names) - 1) / 2 for j in range(len(langs))])
    ax.set_xticklabels([f"{lang} ({by_lang[lang][FUSED]['mrr'].n})" for lang in langs])
    ax.set_ylabel("MRR")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("MRR per query language")
    fig.tight_layout()
    fig.savefig(folder / "languages.png", dpi=120)
    plt.close(fig)
    return ["mrr.png", "recall.png", "languages.png"]


def _ranking(result: Any, name: str, run: EvalRun) -> list[str]:
    if name == FUSED:
        return run.fusion.ranking(result.hits)
    return [hit.photo_id for hit in result.hits.get(name, [])]


def _markdown(run: EvalRun, doc: dict[str, Any], plots: list[str], tuning: Tuning | None) -> str:
    rows = table(run)
    lines = [f"# shashin evaluation — {len(run.results)} queries", ""]
    lines += ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    lines += [""] + [f"![{p}]({p})" for p in plots] + [""]
    for title, key in (("By language", "by_language"), ("By protocol", "by_protocol")):
        lines += [f"## {title}", "", "| group | ranking | MRR [95% CI] | R@10 | n |", "|---|---|---|---|---|"]
        for group, names in doc[key].items():
            for name, metrics in names.items():
                m = metrics["mrr"]
                lines.append(
                    f"| {group} | {name} | {m['mean']:.3f} [{m['low']:.3f}, {m['high']:.3f}] | {metrics['r@10']['mean']:.3f} | {m['n']} |"
                )
        lines.append("")
    if tuning:
        verdict = "better than" if tuning.helps else "not better than"
        lines += [
            "## Tuned fusion",
            "",
            f"Held-out fused MRR {tuning.held_out}, {verdict} {tuning.start} with the starting settings "
            f"({len(tuning.folds)}-fold cross-validation; the settings chosen on all queries are in tuned-settings.toml):",
            "",
            "```toml",
            tuning.toml().rstrip(),
            "```",
            "",
        ]
    if run.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in run.notes] + [""]
    lines += ["## Configuration", "", "```json", json.dumps(run.config, ensure_ascii=False, indent=2), "```", ""]
    return "\n".join(lines)


def _html(run: EvalRun, doc: dict[str, Any], plots: list[str], tuning: Tuning | None) -> str:
    rows = table(run)
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
    worst = sorted(run.results, key=lambda r: r.scores[FUSED]["mrr"])[:20]
    drill = "".join(
        f"<tr><td>{e(r.query.id)}</td><td>{e(r.query.text)}</td><td>{e(r.query.lang)}</td>"
        + "".join(f"<td>{r.scores.get(n, {}).get('mrr', 0):.3f}</td>" for n in run.names)
        + "</tr>"
        for r in worst
    )
    tuned = (
        f"<h2>Tuned fusion</h2><p>Held-out fused MRR {e(str(tuning.held_out))} against {e(str(tuning.start))} with the "
        f"starting settings.</p><pre>{e(tuning.toml())}</pre>"
        if tuning
        else ""
    )
    notes = "".join(f"<li>{e(n)}</li>" for n in run.notes)
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>shashin evaluation</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}"
        "img{max-width:100%}</style>"
        f"<h1>shashin evaluation — {len(run.results)} queries</h1><table><tr>{head}</tr>{body}</table>"
        + "".join(f'<p><img src="{p}" alt="{e(p.removesuffix(".png"))} plot"></p>' for p in plots)
        + tuned
        + (f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "")
        + "<h2>Hardest queries (fused MRR)</h2><table><tr><th>id</th><th>query</th><th>lang</th>"
        + "".join(f"<th>{e(n)}</th>" for n in run.names)
        + f"</tr>{drill}</table>"
        + f"<h2>Configuration</h2><pre>{e(json.dumps(run.config, ensure_ascii=False, indent=2))}</pre></html>\n"
    )


def compare(a: Path, b: Path, ranking: str = FUSED, metric: str = "mrr") -> dict[str, Any]:
    """What changed between two results.json files for one ranking: the mean difference (B − A)
    with a paired bootstrap interval over the queries both asked, and the queries that got
    better or worse, most changed first."""
    first, second = (json.loads(Path(p).read_text(encoding="utf-8")) for p in (a, b))
    before = {q["id"]: q for q in first["per_query"]}
    after = {q["id"]: q for q in second["per_query"]}
    shared = [i for i in before if i in after]
    values_a = [before[i]["scores"].get(ranking, {}).get(metric, 0.0) for i in shared]
    values_b = [after[i]["scores"].get(ranking, {}).get(metric, 0.0) for i in shared]
    changes = sorted(
        (
            {"id": i, "query": after[i]["query"], "a": va, "b": vb, "change": round(vb - va, 4)}
            for i, va, vb in zip(shared, values_a, values_b)
            if vb != va
        ),
        key=lambda c: -abs(c["change"]),
    )
    difference: Estimate = paired_difference(values_a, values_b)
    return {
        "ranking": ranking,
        "metric": metric,
        "queries": len(shared),
        "only_in_a": len(before) - len(shared),
        "only_in_b": len(after) - len(shared),
        "a": round(float(np.mean(values_a)) if shared else 0.0, 4),
        "b": round(float(np.mean(values_b)) if shared else 0.0, 4),
        "difference": difference.to_dict(),
        "better": [c for c in changes if c["change"] > 0],
        "worse": [c for c in changes if c["change"] < 0],
    }
