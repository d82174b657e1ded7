"""How long an index run will take: said before it starts (from what each channel cost per photo
in earlier runs on this machine, else from typical figures), measured on its first photos, and
kept up to date while it runs so that `status` and the web can show how far it is."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shashin.store import Store

# Seconds per photo of each default channel on this project's 2-core machine, used only until this
# machine has measured its own (docs/benchmarks.md, "What indexing costs"): 34 photos of 1.7 MP
# (faces-pd) for OCR, faces, labels and the perceptual hash; SigLIP2 base in bfloat16 for image.
TYPICAL_SECONDS: dict[str, float] = {
    "ocr": 0.85,
    "faces": 0.45,
    "image": 0.1,
    "labels": 0.012,
    "phash": 0.001,
}
MEASURE_AFTER = 8  # photos worked on before the run's own figures replace the earlier ones
UPDATE_EVERY = 5.0  # seconds between progress records for `status` and the web
PROGRESS_KEY = "index.progress"
_COST_KEY = "channel.{}.seconds_per_photo"


def duration(seconds: float) -> str:
    """ "40 s", "12 min", "3 h 10 min": how long, as a person says it."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass
class RunEstimate:
    """Per-channel seconds per photo (measured in this run, or remembered), and the run's pace."""

    total: int
    channels: dict[str, int]  # channel → photos it has work for in this run
    known: dict[str, float]  # channel → seconds per photo before this run measured its own
    spent: dict[str, float] = field(default_factory=dict)  # channel → seconds in this run
    worked: dict[str, int] = field(default_factory=dict)  # channel → photos it worked on in this run
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    _recorded: float = 0.0

    @classmethod
    def before(cls, store: Store, work: Mapping[str, int], total: int) -> RunEstimate:
        """The estimate for `total` photos, `work` of which each channel has to do."""
        meta = store.meta_values()
        known = {}
        for name in work:
            remembered = meta.get(_COST_KEY.format(name))
            known[name] = float(remembered) if remembered else TYPICAL_SECONDS.get(name, 0.0)
        return cls(total, dict(work), known)

    def per_photo(self, channel: str) -> float:
        """Seconds one photo costs this channel: measured in this run once it has seen a few."""
        if self.worked.get(channel, 0) >= MEASURE_AFTER:
            return self.spent[channel] / self.worked[channel]
        return self.known.get(channel, 0.0)

    def remaining_seconds(self) -> float:
        """What is left: by the run's own pace once measured, else by the channels' costs."""
        if self.done >= MEASURE_AFTER:
            pace = (time.monotonic() - self.started) / self.done
            return pace * (self.total - self.done)
        share = 1 - self.done / self.total if self.total else 0.0
        return sum(self.per_photo(name) * photos * share for name, photos in self.channels.items())

    def plan(self) -> str:
        """What the run will do and roughly how long, before it starts."""
        costs = ", ".join(f"{name} {self.per_photo(name):.2g} s" for name, photos in self.channels.items() if photos)
        return (
            f"{self.total} photos to index ({costs} a photo); about {duration(self.remaining_seconds())}. "
            "Channels are chosen with --channels (see `shashin index --help`)"
        )

    def measured(self) -> str:
        """The estimate again, from this run's first photos."""
        return f"measured on the first {self.done} photos: about {duration(self.remaining_seconds())} left"

    def record(self, channel_seconds: Mapping[str, float], channel_photos: Mapping[str, int], photos: int) -> bool:
        """One more batch: each channel's seconds and photos, and the photos finished. True when
        this batch is the one after which the estimate is the run's own (time to say it)."""
        for name, seconds in channel_seconds.items():
            self.spent[name] = self.spent.get(name, 0.0) + seconds
            self.worked[name] = self.worked.get(name, 0) + channel_photos.get(name, 0)
        before = self.done
        self.done += photos
        return before < MEASURE_AFTER <= self.done

    def progress(self) -> dict[str, Any]:
        """What `status` and the web show of a run under way."""
        return {
            "done": self.done,
            "total": self.total,
            "remaining_seconds": round(self.remaining_seconds(), 1),
            "updated": time.time(),
            "per_photo": {name: round(self.per_photo(name), 4) for name in self.channels},
        }

    def publish(self, store: Store, *, force: bool = False) -> None:
        """Record the progress for other processes, at most every UPDATE_EVERY seconds."""
        now = time.monotonic()
        if force or now - self._recorded >= UPDATE_EVERY:
            store.set_meta(PROGRESS_KEY, json.dumps(self.progress()))
            self._recorded = now

    def finish(self, store: Store) -> None:
        """Remember what each channel cost per photo here, for the next run's first estimate."""
        for name, photos in self.worked.items():
            if photos >= MEASURE_AFTER:
                store.set_meta(_COST_KEY.format(name), f"{self.spent[name] / photos:.4f}")
        store.delete_meta(PROGRESS_KEY)


def run_in_progress(meta: Mapping[str, str]) -> dict[str, Any] | None:
    """The index run under way (or stopped mid-way: `updated` says when it last reported)."""
    recorded = meta.get(PROGRESS_KEY)
    if not recorded:
        return None
    try:
        progress = json.loads(recorded)
    except json.JSONDecodeError:
        return None
    progress["age_seconds"] = round(time.time() - float(progress.get("updated", 0)), 1)
    return dict(progress)


def describe_run(progress: Mapping[str, Any]) -> str:
    """ "indexing: 120 of 1,234 photos, about 35 min left" (and how old the news is when stale)."""
    text = f"indexing: {progress['done']:,} of {progress['total']:,} photos, about {duration(progress['remaining_seconds'])} left"
    if progress.get("age_seconds", 0) > 10 * UPDATE_EVERY:
        text += f" (last heard of {duration(progress['age_seconds'])} ago: the run may have stopped)"
    return text


def channel_work(work: Sequence[Any], channels: Sequence[Any]) -> dict[str, int]:
    """How many photos of `work` (PhotoWork) each loaded channel has to do."""
    return {channel.name: sum(1 for item in work if channel.name in item.channels) for channel in channels}
