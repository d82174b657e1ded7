"""Relevance, the cut-off and query-adaptive fusion, fitted on one split and measured on another.

Known-caption protocol (bench/search_quality.py): each photo gets its first COCO caption
imported; its other four captions are English queries with that photo the one true match, and one
of them is also asked in Japanese (bench/data/<set>-ja.jsonl). Queries that should find nothing
are bench/data/no-match.jsonl: 55 things none of the development photos show (a xylophone, a
torii gate, 花火), in English and Japanese.

Split: the calibration is fitted on the first set (coco-cc76) and on half of the no-match
queries; every figure below the "held out" line is measured on the second set (coco-mini, made by
`python bench/search_quality.py --export-coco-mini`) and the other half, which the fit never saw.
`--write` stores the fitted calibration as the one shashin ships (src/shashin/search/calibration.json).

    python bench/relevance.py [--write]
    python bench/relevance.py --tune coco-cc76=DIR --test coco-mini=DIR
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shashin.channels.base import ChannelEvidence
from shashin.evaluation.calibrate import Case, fit_calibration, judge_cutoff
from shashin.evaluation.metrics import bootstrap, paired_difference, reciprocal_rank
from shashin.search.fuse import Adapt, FusionConfig
from shashin.search.relevance import Calibration

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
from bench.bench_logic import CONCEPTS, shows  # noqa: E402
from bench.coco_fusion import known_caption_set  # noqa: E402

# The concepts of bench/bench_logic.py asked as one word, as people type them; a photo shows one
# when two of its four held-out captions name it.
JAPANESE = dict(zip(CONCEPTS, ["男性", "女性", "人々", "犬", "猫", "テーブル", "通り", "車", "電車", "バス", "皿", "ピザ", "食べ物", "水", "木", "建物", "標識", "ベッド", "台所", "男の子", "女の子", "子供", "馬", "野原", "草", "道路", "オートバイ", "自転車", "トラック", "部屋", "窓", "電話", "雪", "浜辺", "空", "都市", "傘", "鳥", "サンドイッチ", "ケーキ", "象", "キリン"]))  # fmt: skip

SHIPPED = REPO / "src" / "shashin" / "search" / "calibration.json"


@dataclass
class Asked:
    """One query as the library answered it (every result, none cut)."""

    case: Case
    group: str  # all (English, every other caption) | pair (the sentence in both languages) | none
    lang: str
    fusion: FusionConfig


def ask_set(name: str, data: Path, cache: Path, no_match: list[dict[str, str]]) -> list[Asked]:
    """Index the set once (kept in `cache`) and ask every query, keeping each channel's hits."""
    library, rows, photo_of = known_caption_set(data, cache)
    queries = [(q, "en", photo_of[str(data / r["image"])], "all") for r in rows for q in r["captions_en"][1:]]
    pairs = HERE / "data" / f"{name}-ja.jsonl"
    by_image = {r["image"]: r for r in rows}
    for line in pairs.read_text(encoding="utf-8").splitlines() if pairs.exists() else []:
        pair = json.loads(line)
        relevant = photo_of[str(data / pair["image"])]
        queries += [
            (by_image[pair["image"]]["captions_en"][1], "en", relevant, "pair"),
            (pair["ja"], "ja", relevant, "pair"),
        ]
    queries += [(q[lang], lang, "", "none") for q in no_match for lang in ("en", "ja")]
    showing = {
        concept: frozenset(photo_of[str(data / r["image"])] for r in rows if shows(r["captions_en"][1:], concept))
        for concept in CONCEPTS
    }
    concepts = [(c, lang, showing[c], "concept") for c in CONCEPTS if showing[c] for lang in ("en", "ja")]
    asked = []
    for text, lang, relevant, group in [*queries, *concepts]:
        if group == "concept" and lang == "ja":
            text = JAPANESE[text]
        response = library.search(text, limit=1, parse=False, everything=True)
        assert response.fusion is not None
        hits = {name: list(found) for name, found in response.hits.items() if found}
        truth = relevant if isinstance(relevant, frozenset) else frozenset({relevant} - {""})
        asked.append(Asked(Case(hits, response.fusion.evidence, lang == "ja", truth), group, lang, response.fusion))
    return asked


FUSIONS = {  # how the fused ranking is made: each row adds one lever
    "fused, fixed weights": lambda f: dataclasses.replace(f, adapt=Adapt(), evidence_weight=0.0),
    "fused, adaptive": lambda f: dataclasses.replace(f, evidence_weight=0.0),
    "fused, adaptive + evidence (shipped)": lambda f: f,
}
SHIPPED_FUSION = "fused, adaptive + evidence (shipped)"


def mrr_table(label: str, asked: list[Asked], calibration: Calibration) -> None:
    """MRR of each channel and of each way of fusing (FUSIONS), per query group."""
    print(f"\n{label}")
    groups = [
        ("English, all", "all", "en"),
        ("English, pairs", "pair", "en"),
        ("Japanese, pairs", "pair", "ja"),
        ("one-word concepts, English", "concept", "en"),
        ("one-word concepts, Japanese", "concept", "ja"),
    ]
    means: dict[tuple[str, str], float] = {}
    for title, group, lang in groups:
        chosen = [a for a in asked if a.group == group and a.lang == lang]
        if not chosen:
            continue
        channels = sorted({n for a in chosen for n in a.case.rankings})
        per: dict[str, list[float]] = {}
        for a in chosen:
            for name in channels:
                ranking = [h.photo_id for h in a.case.rankings.get(name, [])]
                per.setdefault(name, []).append(reciprocal_rank(ranking, a.case.relevant))
            for name, make in FUSIONS.items():
                fusion = make(dataclasses.replace(a.fusion, calibration=calibration))
                per.setdefault(name, []).append(
                    reciprocal_rank(fusion.ranking(a.case.rankings, a.case.japanese), a.case.relevant)
                )
        best = max(channels, key=lambda n: np.mean(per[n]))
        print(f"  {title} ({len(chosen)} queries)")
        for name, values in per.items():
            if np.mean(values) > 0:
                print(f"    {name:<38} MRR {bootstrap(values)}")
        for name in FUSIONS:
            print(f"    {name} − {best}: {paired_difference(per[best], per[name])}")
        print(f"    shipped − fixed weights: {paired_difference(per['fused, fixed weights'], per[SHIPPED_FUSION])}")
        means[(group, lang)] = float(np.mean(per[SHIPPED_FUSION]))
    if ("pair", "en") in means and ("pair", "ja") in means:
        print(f"  Japanese / English, like for like (fused): {means[('pair', 'ja')] / means[('pair', 'en')]:.2f}")


def cutoff_table(label: str, calibration: Calibration, cases: list[Case]) -> None:
    report = judge_cutoff(calibration, cases)
    english = judge_cutoff(calibration, [c for c in cases if not c.japanese])
    japanese = judge_cutoff(calibration, [c for c in cases if c.japanese])
    print(
        f"  {label}: cut-off {calibration.cutoff:.3f} keeps {report.kept:.3f} of {report.matches} true matches "
        f"(EN {english.kept:.3f}, JA {japanese.kept:.3f}) and empties {report.emptied:.3f} of {report.no_match} "
        f"no-match queries (EN {english.emptied:.3f}, JA {japanese.emptied:.3f}); "
        f"{report.shown:.1f} results shown per query that has a match"
    )
    for cut in (0.01, 0.02, 0.05, 0.1, 0.2, 0.3):
        r = judge_cutoff(calibration, cases, cut)
        print(f"    at {cut:<5}: kept {r.kept:.3f}, emptied {r.emptied:.3f}, shown {r.shown:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tune", default=f"coco-cc76={REPO.parent / 'shared/data/coco-cc76'}", metavar="NAME=DIR")
    parser.add_argument("--test", default=f"coco-mini={REPO / '.bench/quality/coco-mini-data'}", metavar="NAME=DIR")
    parser.add_argument("--cache", default=str(REPO / ".bench" / "quality"), help="where the libraries are kept")
    parser.add_argument("--write", action="store_true", help="store the fitted calibration as the shipped one")
    args = parser.parse_args()
    no_match = [
        json.loads(line) for line in (HERE / "data" / "no-match.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    halves = (no_match[0::2], no_match[1::2])
    started = time.perf_counter()
    (tune_name, tune_dir), (test_name, test_dir) = (s.split("=", 1) for s in (args.tune, args.test))
    tuned = ask_set(tune_name, Path(tune_dir), Path(args.cache) / tune_name, halves[0])
    tested = ask_set(test_name, Path(test_dir), Path(args.cache) / test_name, halves[1])
    print(f"asked {len(tuned) + len(tested)} queries in {time.perf_counter() - started:.0f} s")
    calibration = fit_calibration(
        [a.case for a in tuned],
        judged=[n for n, a in enumerate(tuned) if a.group != "concept"],
        fitted_on=f"{tune_name} (known-caption protocol) and {len(halves[0])} no-match queries; bench/relevance.py",
    )
    print(f"fitted on {tune_name} + half the no-match queries: {json.dumps(calibration.to_dict(), ensure_ascii=False)}")
    cutoff_table(f"tuned on ({tune_name})", calibration, [a.case for a in tuned if a.group != "concept"])
    print(f"\nheld out: {test_name} and the other {len(halves[1])} no-match queries")
    sentences = [a.case for a in tested if a.group != "concept"]
    cutoff_table(f"held out ({test_name}), sentences and no-match", calibration, sentences)
    cutoff_table(
        f"held out ({test_name}), one-word concepts", calibration, [a.case for a in tested if a.group == "concept"]
    )
    if calibration.fallback is not None:  # as for a model the calibration does not know (read by standouts)
        unscaled = [
            dataclasses.replace(a.case, evidence={n: ChannelEvidence(e.kind) for n, e in a.case.evidence.items()})
            for a in tested
            if a.group != "concept"
        ]
        cutoff_table(f"held out ({test_name}), meaning read as standouts", calibration.fallback, unscaled)
    mrr_table(f"fusion on {tune_name} (the adaptive strengths were chosen here)", tuned, calibration)
    mrr_table(f"fusion on {test_name} (held out)", tested, calibration)
    if args.write:
        calibration.save(SHIPPED)
        print(f"\nwritten: {SHIPPED}")


if __name__ == "__main__":
    main()
