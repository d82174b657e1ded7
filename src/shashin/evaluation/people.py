"""The people protocol: labels of who is in which photo against what the library grouped and named.

Labels (JSONL): {"image": a path in the library (or relative to an indexed folder, or a file name
unique in it, or a photo id), "people": ["Ken", ...]}, one photo per line, as faces-pd ships them.
Labels are per photo, not per face: a face is given its photo's name only where the photo has one
labelled person and one face (that is what pairwise figures are measured on)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shashin.people.lookup import photos_of
from shashin.store import Store


@dataclass(frozen=True)
class PersonScore:
    """How the --person filter does for one labelled name the library knows."""

    name: str
    found: int
    labelled: int
    with_face: int  # labelled photos in which a face was detected at all
    precision: float
    recall: float  # over labelled photos with a detected face


@dataclass
class PeopleReport:
    """Per-person filter figures and the grouping's pairwise precision and recall."""

    people: list[PersonScore] = field(default_factory=list)
    pairwise_precision: float = 1.0
    pairwise_recall: float = 1.0
    faces_measured: int = 0
    unknown_names: list[str] = field(default_factory=list)
    unmatched_images: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "people": [score.__dict__ for score in self.people],
            "pairwise_precision": self.pairwise_precision,
            "pairwise_recall": self.pairwise_recall,
            "faces_measured": self.faces_measured,
            "unknown_names": self.unknown_names,
            "unmatched_images": self.unmatched_images,
        }


def read_labels(path: Path) -> list[dict[str, Any]]:
    """The label rows of a people file; ValueError naming the line that is not one."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc})") from exc
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("image"), str)
            or not isinstance(row.get("people"), list)
        ):
            raise ValueError(f'{path}:{number}: expected {{"image": "...", "people": [names]}}')
        rows.append(row)
    return rows


def score_people(store: Store, labels: list[dict[str, Any]], find: Callable[[str], str | None]) -> PeopleReport:
    """The people figures of a library against `labels` (`find` maps an image to its photo id)."""
    report = PeopleReport()
    truth: dict[str, set[str]] = {}
    for row in labels:
        photo_id = find(row["image"])
        if photo_id is None:
            report.unmatched_images.append(row["image"])
            continue
        truth[photo_id] = {str(name) for name in row["people"]}
    faces = [r for r in store.all_rows("faces") if r["photo_id"] in truth and r["source"] != "forgotten"]
    with_faces = {r["photo_id"] for r in faces}
    names = sorted({name for people in truth.values() for name in people})
    found = photos_of(store, names)
    for name in names:
        photos = found.get(" ".join(name.casefold().split()), set())
        labelled = {pid for pid, people in truth.items() if name in people}
        if not photos:
            report.unknown_names.append(name)
            continue
        visible = labelled & with_faces
        report.people.append(
            PersonScore(
                name,
                len(photos),
                len(labelled),
                len(visible),
                len(photos & labelled) / len(photos),
                len(photos & visible) / len(visible) if visible else 1.0,
            )
        )
    per_photo = Counter(r["photo_id"] for r in faces)
    single = [r for r in faces if per_photo[r["photo_id"]] == 1 and len(truth[r["photo_id"]]) == 1 and r["person_id"]]
    report.faces_measured = len(single)
    who = [next(iter(truth[r["photo_id"]])) for r in single]
    group = [r["person_id"] for r in single]
    same_truth = same_group = both = 0
    for a in range(len(single)):
        for b in range(a + 1, len(single)):
            t, g = who[a] == who[b], group[a] == group[b]
            same_truth += t
            same_group += g
            both += t and g
    report.pairwise_precision = both / same_group if same_group else 1.0
    report.pairwise_recall = both / same_truth if same_truth else 1.0
    return report
