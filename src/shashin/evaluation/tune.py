"""Choosing fusion weights, how they adapt to each query, and k on a development query set,
reporting what holds on unseen queries.

Coordinate ascent on mean fused MRR (each channel's weight in turn over a small grid, then how
strongly meaning and keyword channels follow their confidence on each query (search.fuse.weigh),
then k, twice round), inside K-fold cross-validation: each fold's choice is scored on the queries
it did not see, and that held-out score is the one reported. Queries about the same photos stay
in one fold. The settings written are chosen on all queries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shashin.channels.base import Hit
from shashin.evaluation.metrics import Estimate, bootstrap, reciprocal_rank
from shashin.evaluation.run import EvalRun
from shashin.search.fuse import Adapt, FusionConfig

Asked = tuple[dict[str, list[Hit]], frozenset[str], bool]  # a query's hits, its true matches, whether Japanese
WEIGHTS = (0.0, 0.1, 0.2, 0.35, 0.5, 1.0, 2.0, 4.0)
KS = (5, 10, 20, 40, 60)
ADAPT_MEANING = (0.0, 0.5, 1.0, 2.0)
ADAPT_WORDS = (0.0, 1.0, 2.0, 4.0, 8.0)
EVIDENCE_WEIGHTS = (0.0, 0.1, 0.2, 0.4)


@dataclass(frozen=True)
class Tuning:
    """The chosen fusion, what it scores on queries it was not chosen on, and the starting point's score."""

    chosen: FusionConfig
    held_out: Estimate  # fused MRR of each fold's choice on that fold's unseen queries
    start: Estimate  # fused MRR of the starting settings on the same queries
    folds: list[dict[str, Any]]

    @property
    def helps(self) -> bool:
        """Whether tuned settings beat the starting ones on unseen queries (else keep the start)."""
        return self.held_out.mean > self.start.mean

    def to_dict(self) -> dict[str, Any]:
        return {
            "helps": self.helps,
            "chosen": {
                "fusion": self.chosen.mode,
                "rrf_k": self.chosen.k,
                "adapt_meaning": self.chosen.adapt.meaning,
                "adapt_words": self.chosen.adapt.words,
                "evidence_weight": self.chosen.evidence_weight,
                "weights": {c: self.chosen.weight(c) for c in self.chosen.channels},
            },
            "held_out_mrr": self.held_out.to_dict(),
            "start_mrr": self.start.to_dict(),
            "folds": self.folds,
        }

    def toml(self) -> str:
        """The chosen settings as a config file section (see docs/configuration.md)."""
        lines = [
            "[search]",
            f'fusion = "{self.chosen.mode}"',
            f"adapt_meaning = {self.chosen.adapt.meaning}",
            f"adapt_words = {self.chosen.adapt.words}",
            f"evidence_weight = {self.chosen.evidence_weight}",
        ] + ([f"rrf_k = {self.chosen.k}"] if self.chosen.mode == "rrf" else [])
        lines += ["", "[search.weights]"] + [f"{name} = {self.chosen.weight(name)}" for name in self.chosen.channels]
        return "\n".join(lines) + "\n"


def tune(run: EvalRun, *, folds: int = 5, depth: int = 50, seed: int = 0) -> Tuning:
    """Cross-validated choice of weights and k for `run`'s queries (see the module docstring)."""
    cases = [({n: h[:depth] for n, h in r.hits.items()}, r.query.relevant, r.query.lang == "ja") for r in run.results]
    groups = folds_of([r.query.relevant for r in run.results], folds, seed)
    held_out = np.zeros(len(cases))
    start = np.array([_rr(run.fusion, *case) for case in cases])
    fold_notes = []
    for fold in range(folds):
        train = [c for c, g in zip(cases, groups) if g != fold]
        test = [i for i, g in enumerate(groups) if g == fold]
        if not train or not test:
            continue
        choice = _ascend(run.fusion, train)
        for i in test:
            held_out[i] = _rr(choice, *cases[i])
        fold_notes.append(
            {
                "fold": fold,
                "queries": len(test),
                "rrf_k": choice.k,
                "weights": {c: choice.weight(c) for c in choice.channels},
                "held_out_mrr": round(float(np.mean([held_out[i] for i in test])), 4),
            }
        )
    return Tuning(_ascend(run.fusion, cases), bootstrap(held_out), bootstrap(start), fold_notes)


def _ascend(start: FusionConfig, cases: Sequence[Asked], rounds: int = 2) -> FusionConfig:
    best, best_score = start, _mean_rr(start, cases)
    for _ in range(rounds):
        improved = False
        for channel in start.channels:
            for weight in WEIGHTS:
                trial = dataclasses.replace(best, weights={**best.weights, channel: weight})
                score = _mean_rr(trial, cases)
                if score > best_score + 1e-9:
                    best, best_score, improved = trial, score, True
        for meaning in ADAPT_MEANING:
            trial = dataclasses.replace(best, adapt=Adapt(meaning, best.adapt.words))
            score = _mean_rr(trial, cases)
            if score > best_score + 1e-9:
                best, best_score, improved = trial, score, True
        for words in ADAPT_WORDS:
            trial = dataclasses.replace(best, adapt=Adapt(best.adapt.meaning, words))
            score = _mean_rr(trial, cases)
            if score > best_score + 1e-9:
                best, best_score, improved = trial, score, True
        for weight in EVIDENCE_WEIGHTS if start.calibration is not None else ():
            trial = dataclasses.replace(best, evidence_weight=weight)
            score = _mean_rr(trial, cases)
            if score > best_score + 1e-9:
                best, best_score, improved = trial, score, True
        for k in KS if start.mode == "rrf" else ():  # k shapes rank fusion only
            trial = dataclasses.replace(best, k=k)
            score = _mean_rr(trial, cases)
            if score > best_score + 1e-9:
                best, best_score, improved = trial, score, True
        if not improved:
            break
    return best


def _mean_rr(fusion: FusionConfig, cases: Sequence[Asked]) -> float:
    return float(np.mean([_rr(fusion, *case) for case in cases])) if cases else 0.0


def _rr(fusion: FusionConfig, hits: dict[str, list[Hit]], relevant: frozenset[str], japanese: bool = False) -> float:
    return reciprocal_rank(fusion.ranking(hits, japanese), relevant)


def folds_of(relevant: Sequence[frozenset[str]], folds: int, seed: int = 0) -> list[int]:
    """A fold number per query; queries with the same relevant photos share a fold."""
    keys = sorted(set(relevant), key=sorted)
    order = np.random.default_rng(seed).permutation(len(keys))
    fold_of = {keys[i]: position % folds for position, i in enumerate(order)}
    return [fold_of[r] for r in relevant]
