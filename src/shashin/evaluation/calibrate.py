"""Fitting relevance (search.relevance.Calibration) on queries whose true matches are known.

Each case is one query's channel rankings and the photos that truly match it (none for a query
that should find nothing: "xylophone" on a library without one). Every photo a channel found is
one example; the model is a logistic regression (L2, Newton steps) on the evidence each channel
gives (search.relevance), and the cut-off is the highest relevance that still keeps `keep` of
the true matches of the cases it was fitted on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from shashin.channels.base import ChannelEvidence, Hit
from shashin.evaluation.run import EvalRun
from shashin.evaluation.tune import folds_of
from shashin.search.fuse import fuse_rankings
from shashin.search.relevance import Calibration, Scale, standouts


@dataclass(frozen=True)
class Case:
    """One query: every channel's hits, what kind of evidence each gives, its language, and the
    photos that truly match it (empty when nothing should)."""

    rankings: Mapping[str, Sequence[Hit]]
    evidence: Mapping[str, ChannelEvidence]
    japanese: bool
    relevant: frozenset[str]


def _columns(cases: Sequence[Case]) -> list[str]:
    scales = sorted(
        {
            kind.scale
            for case in cases
            for name, kind in case.evidence.items()
            if kind.kind == "meaning" and kind.scale and case.rankings.get(name)
        }
    )
    return ["coverage", "standout"] + [f"{s}\t{part}" for s in scales for part in ("sim", "sim_ja", "ja")]


def _rows(case: Case, columns: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The photos the case's channels found, their evidence (one row each), and which are exact."""
    ids = list(dict.fromkeys(hit.photo_id for hits in case.rankings.values() for hit in hits))
    where = {photo_id: n for n, photo_id in enumerate(ids)}
    column = {name: n for n, name in enumerate(columns)}
    matrix = np.zeros((len(ids), len(columns)))
    exact = np.zeros(len(ids), bool)
    for name, hits in case.rankings.items():
        kind = case.evidence.get(name, ChannelEvidence("meaning"))
        if not hits or kind.kind == "support":
            continue
        rows = [where[hit.photo_id] for hit in hits]
        if kind.kind == "words":
            for row, hit in zip(rows, hits):
                matrix[row, column["coverage"]] += max(hit.quality, 0.0)
                exact[row] |= hit.exact
        elif kind.scale and f"{kind.scale}\tsim" in column:
            for row, hit in zip(rows, hits):
                matrix[row, column[f"{kind.scale}\tsim"]] += hit.score
                if case.japanese:
                    matrix[row, column[f"{kind.scale}\tsim_ja"]] += hit.score
                    matrix[row, column[f"{kind.scale}\tja"]] += 1.0
        else:
            for row, value in zip(rows, standouts(hits)):
                matrix[row, column["standout"]] += value
    return ids, matrix, exact


def _logistic(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    """Intercept and coefficients (on x's own units) of an L2-regularized logistic regression."""
    mean, spread = x.mean(axis=0), x.std(axis=0)
    spread[spread == 0] = 1.0
    z = np.c_[np.ones(len(x)), (x - mean) / spread]
    beta = np.zeros(z.shape[1])
    penalty = l2 * np.eye(len(beta))
    penalty[0, 0] = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(z @ beta, -40, 40)))
        gradient = z.T @ (p - y) + penalty @ beta
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(beta)), gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    coefficients = beta[1:] / spread
    return float(beta[0] - (coefficients * mean).sum()), coefficients


def fit_calibration(
    cases: Sequence[Case],
    *,
    keep: float = 0.95,
    l2: float = 1.0,
    fitted_on: str = "",
    judged: Sequence[int] | None = None,
) -> Calibration:
    """The calibration that best predicts the cases' true matches, with the cut-off that keeps
    `keep` of the true matches of the cases numbered `judged` (all by default), and its fallback
    for models it does not know: the same cases with every meaning channel read by how far a
    photo stands out (see the module docstring)."""
    chosen = [cases[n] for n in judged] if judged is not None else list(cases)
    known = _fit(cases, chosen, keep, l2, fitted_on)
    unscaled = [_unscaled(case) for case in cases]
    fallback = _fit(unscaled, [_unscaled(case) for case in chosen], keep, l2, fitted_on + "; similarities as standouts")
    return dataclasses.replace(known, fallback=fallback)


def _unscaled(case: Case) -> Case:
    """The case as a calibration that knows no model's scale reads it."""
    return dataclasses.replace(case, evidence={n: ChannelEvidence(e.kind) for n, e in case.evidence.items()})


def _fit(cases: Sequence[Case], judged: Sequence[Case], keep: float, l2: float, fitted_on: str) -> Calibration:
    columns = _columns(cases)
    blocks = [(_rows(case, columns), case.relevant) for case in cases]
    x = np.vstack([matrix for (_, matrix, _), _ in blocks]) if blocks else np.zeros((0, len(columns)))
    y = np.concatenate([[photo_id in relevant for photo_id in ids] for (ids, _, _), relevant in blocks]).astype(float)
    if not len(y) or y.min() == y.max():
        raise ValueError("calibration needs queries with true matches among the photos found, and photos that are not")
    intercept, coefficients = _logistic(x, y, l2)
    by_name = dict(zip(columns, coefficients.tolist()))
    scales = {
        name.split("\t")[0]: Scale(
            by_name[name], by_name[name.replace("\tsim", "\tsim_ja")], by_name[name.replace("\tsim", "\tja")]
        )
        for name in columns
        if name.endswith("\tsim")
    }
    calibration = Calibration(intercept, by_name["coverage"], by_name["standout"], scales, 0.0, fitted_on=fitted_on)
    found = true_match_relevance(calibration, judged)
    cutoff = float(np.quantile(found, 1 - keep, method="lower")) if len(found) else 0.0
    return dataclasses.replace(calibration, cutoff=round(cutoff, 4))


def relevances(calibration: Calibration, case: Case) -> dict[str, float]:
    """Each photo the case's channels found, with the relevance a search would show it with
    under `calibration` (1 for all when no meaning channel answered: nothing is cut then)."""
    suited = calibration.suited(case.evidence[n] for n, hits in case.rankings.items() if hits and n in case.evidence)
    if suited is None:
        return {hit.photo_id: 1.0 for hits in case.rankings.values() for hit in hits}
    fused = fuse_rankings(case.rankings, calibration=suited, evidence=case.evidence, japanese=case.japanese)
    return {hit.photo_id: hit.relevance for hit in fused}


def true_match_relevance(calibration: Calibration, cases: Sequence[Case]) -> np.ndarray:
    """The relevance of every true match of the cases (0 for one no channel found)."""
    values: list[float] = []
    for case in cases:
        if case.relevant:
            scored = relevances(calibration, case)
            values += [scored.get(photo_id, 0.0) for photo_id in case.relevant]
    return np.array(values)


@dataclass(frozen=True)
class CutoffReport:
    """What a cut-off does on cases: the share of true matches kept, the share of queries that
    should find nothing left empty, and how many results the others show on average."""

    kept: float
    emptied: float
    shown: float
    matches: int
    no_match: int


def judge_cutoff(calibration: Calibration, cases: Sequence[Case], cutoff: float | None = None) -> CutoffReport:
    """How `cutoff` (the calibration's own by default) does on `cases`."""
    cut = calibration.cutoff if cutoff is None else cutoff
    found = true_match_relevance(calibration, cases)
    empty: list[int] = []
    shown: list[int] = []
    for case in cases:
        above = sum(value >= cut for value in relevances(calibration, case).values())
        (shown if case.relevant else empty).append(above)
    return CutoffReport(
        float(np.mean(found >= cut)) if len(found) else float("nan"),
        float(np.mean([n == 0 for n in empty])) if empty else float("nan"),
        float(np.mean(shown)) if shown else 0.0,
        len(found),
        len(empty),
    )


@dataclass(frozen=True)
class Calibrated:
    """A calibration fitted on every query of a run, and what K-fold cross-validation says its
    cut-off does on queries it was not fitted on."""

    calibration: Calibration
    held_out: CutoffReport


def calibrate_run(run: EvalRun, *, folds: int = 5, keep: float = 0.95) -> Calibrated:
    """`shashin eval --calibrate`: relevance fitted on a library's own evaluation queries."""
    cases = [
        Case(r.hits, run.fusion.evidence, r.query.lang == "ja", r.query.relevant)
        for r in run.results
        if any(r.hits.values())
    ]
    groups = folds_of([case.relevant for case in cases], folds)
    reports: list[CutoffReport] = []
    for fold in range(folds):
        train = [c for c, g in zip(cases, groups) if g != fold]
        test = [c for c, g in zip(cases, groups) if g == fold]
        if not test or not any(c.relevant for c in train):
            continue
        try:
            reports.append(judge_cutoff(fit_calibration(train, keep=keep), test))
        except ValueError:
            continue
    calibration = fit_calibration(cases, keep=keep, fitted_on=f"{len(cases)} evaluation queries (shashin eval)")
    report = CutoffReport(
        _pooled([(r.kept, r.matches) for r in reports]),
        _pooled([(r.emptied, r.no_match) for r in reports]),
        0.0,
        sum(r.matches for r in reports),
        sum(r.no_match for r in reports),
    )
    return Calibrated(calibration, report)


def _pooled(shares: Sequence[tuple[float, int]]) -> float:
    """Shares measured on several folds as one share of all their items (nan when there are none)."""
    total = sum(count for _, count in shares)
    return sum(share * count for share, count in shares if count) / total if total else float("nan")


__all__ = [
    "Calibrated",
    "Case",
    "CutoffReport",
    "calibrate_run",
    "fit_calibration",
    "judge_cutoff",
    "relevances",
    "true_match_relevance",
]
