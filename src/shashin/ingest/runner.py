"""Where per-photo work runs. `index_folders` and `caption_photos` run it here unless given a
Runner; shashin.scale.RayRunner runs it on a cluster. Ingest never imports scale: the Library picks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shashin.channels.base import IndexedChannel
    from shashin.config import Settings
    from shashin.ingest.caption_context import CaptionPrompts
    from shashin.ingest.captioning import CaptionReport
    from shashin.ingest.decode import DecodeJob
    from shashin.ingest.reports import IndexReport
    from shashin.ingest.work import PhotoWork
    from shashin.models.vlm.base import GenerationParams
    from shashin.progress import Progress
    from shashin.store import Store


class Runner(Protocol):
    """Runs the decode → channels → commit loop of an index run, and the caption loop, elsewhere."""

    def index(
        self,
        store: Store,
        work: list[PhotoWork],
        channels: list[IndexedChannel],
        settings: Settings,
        report: IndexReport,
        progress: Progress,
    ) -> None:
        """Decode, run `channels` and commit every pending photo of `work`."""
        ...

    def caption(
        self,
        store: Store,
        settings: Settings,
        jobs: list[DecodeJob],
        todo: dict[str, list[str]],
        prompts: CaptionPrompts,
        params: GenerationParams,
        report: CaptionReport,
        progress: Progress,
    ) -> None:
        """Decode and caption `jobs`, committing each batch; models are loaded where the work runs."""
        ...
