"""Face regions written back: another app's region is never removed or doubled; only shashin's own go."""

from __future__ import annotations

from shashin.metadata.regions import REGIONS, merge_regions

LIST = REGIONS + "/mwg-rs:RegionList"
THEIRS = {
    REGIONS: 'type="Struct"',
    LIST: 'type="Bag"',
    f"{LIST}[1]": 'type="Struct"',
    f"{LIST}[1]/mwg-rs:Name": "Hanako",
    f"{LIST}[1]/mwg-rs:Type": "Face",
    f"{LIST}[1]/mwg-rs:Area": 'type="Struct"',
    f"{LIST}[1]/mwg-rs:Area/stArea:x": "0.5",
    f"{LIST}[1]/mwg-rs:Area/stArea:y": "0.5",
    f"{LIST}[1]/mwg-rs:Area/stArea:w": "0.2",
    f"{LIST}[1]/mwg-rs:Area/stArea:h": "0.2",
    f"{LIST}[1]/mwg-rs:Area/stArea:unit": "normalized",
}


def test_another_apps_region_stays_and_covers_its_face() -> None:
    same_face = ("Ken", [0.41, 0.41, 0.2, 0.2])  # shashin calls the face Hanako's region covers Ken
    other_face = ("Mia", [0.05, 0.05, 0.1, 0.1])
    change = merge_regions(THEIRS, [same_face, other_face], [], (400, 300))
    assert change.added == ["Mia"] and change.removed == []
    assert change.fields[f"{LIST}[1]/mwg-rs:Name"] == "Hanako"  # kept, first, unchanged
    assert change.fields[f"{LIST}[2]/mwg-rs:Name"] == "Mia"
    assert f"{LIST}[3]" not in change.fields


def test_only_shashins_own_region_is_taken_back() -> None:
    first = merge_regions(THEIRS, [("Mia", [0.05, 0.05, 0.1, 0.1])], [], (400, 300))
    written = {k: v for k, v in first.fields.items() if v is not None}
    renamed = merge_regions(written, [("Mia Sato", [0.05, 0.05, 0.1, 0.1])], first.written, (400, 300))
    assert renamed.removed == ["Mia"] and renamed.added == ["Mia Sato"]
    assert renamed.fields[f"{LIST}[1]/mwg-rs:Name"] == "Hanako"
    gone = merge_regions(written, [], first.written, (400, 300))
    assert gone.removed == ["Mia"] and gone.fields[f"{LIST}[1]/mwg-rs:Name"] == "Hanako"
    assert gone.fields[f"{LIST}[2]/mwg-rs:Name"] is None  # the field is removed
