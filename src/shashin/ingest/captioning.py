"""A caption run: write captions for the library's photos with a backend, guarded and resumable.

Photos that already have a caption of this kind (prompt set, language) from the same backend,
model, prompt and parameters are skipped; captions edited by a person are never replaced. Each
batch is committed, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shashin import storage
from shashin.config import DEFAULT_PROMPTS, Settings
from shashin.ingest.caption_context import CaptionPrompts, photo_contexts
from shashin.ingest.decode import DecodeJob, DecodePool
from shashin.ingest.pipeline import decode_workers
from shashin.media import DecodedPhoto, MediaError, RenditionError
from shashin.models.base import ModelUnavailable
from shashin.models.vlm.base import CaptionBackend, GenerationParams
from shashin.progress import Progress, SilentProgress
from shashin.store import ErrorRow, Store
from shashin.store.rows import caption_id, caption_row
from shashin.text.guard import check_caption

if TYPE_CHECKING:
    from shashin.ingest.runner import Runner

MAX_RAW_CHARS = 8_000  # what a backend returned is kept for review up to this length
LANGUAGE_NAMES = {
    "en": "English",
    "ja": "Japanese",
    "zh": "Chinese",
    "ko": "Korean",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
}


@dataclass
class CaptionFailure:
    """A photo that got no caption of one language, and why."""

    path: str
    lang: str
    reason: str


@dataclass
class CaptionReport:
    """What a caption run (or an import) did."""

    backend: str
    model: str = ""
    prompt_set: str = "brief"
    langs: list[str] = field(default_factory=list)
    written: int = 0  # captions stored as done
    failed: int = 0  # captions stored as failed (never indexed)
    retried: int = 0  # captions that looped or were empty and got a second try
    skipped: int = 0  # already done with this backend, model and prompt
    kept_human: int = 0  # edited by a person: never replaced
    not_found: int = 0  # import: entries that match no photo of the library
    embedded: int = 0  # captions given vectors for meaning search
    unavailable: str | None = None
    failures: list[CaptionFailure] = field(default_factory=list)
    errors: list[ErrorRow] = field(default_factory=list)  # photos that could not be read
    seconds: float = 0.0

    @property
    def captions_per_second(self) -> float:
        return (self.written + self.failed) / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The run as one JSON document (`shashin caption --json`)."""
        return {
            **{k: v for k, v in self.__dict__.items() if k not in ("failures", "errors")},
            "captions_per_second": round(self.captions_per_second, 3),
            "failures": [f.__dict__ for f in self.failures],
            "errors": [{"path": e.path, "message": e.message} for e in self.errors],
        }


def caption_prompt(settings: Settings, prompt_set: str, lang: str) -> str:
    """The prompt for one kind of caption: configured, default, or a generic one naming the language."""
    key = f"{prompt_set}.{lang}"
    if key in settings.captions.prompts:
        return settings.captions.prompts[key]
    if key in DEFAULT_PROMPTS:
        return DEFAULT_PROMPTS[key]
    language = LANGUAGE_NAMES.get(lang, lang)
    length = "in one sentence" if prompt_set == "brief" else "in detail"
    return f"Describe this image {length}, in {language}."


def caption_photos(
    store: Store,
    backend: CaptionBackend,
    settings: Settings,
    progress: Progress | None = None,
    *,
    retry_failed: bool = False,
    limit: int | None = None,
    runner: Runner | None = None,
) -> CaptionReport:
    """Caption every photo that lacks a current caption of the configured kinds.

    With a `runner` (shashin.scale.RayRunner), decoding and captioning run on a Ray cluster (actors keep the model loaded,
    or share a pool of servers); the model is then loaded there, not here."""
    progress = progress or SilentProgress()
    started = time.monotonic()
    options = settings.captions
    report = CaptionReport(backend=backend.name, prompt_set=options.prompt_set, langs=list(options.langs))
    progress.phase("loading caption model", 0)
    try:
        if runner is None or backend.identity() == "auto":
            backend.load()  # on a cluster a named model is loaded by the workers only
    except ModelUnavailable as exc:
        report.unavailable = str(exc)
        return report
    report.model = backend.identity()
    params = GenerationParams(
        options.max_new_tokens or (64 if options.prompt_set == "brief" else 256), options.temperature
    )
    prompts = CaptionPrompts(
        {lang: caption_prompt(settings, options.prompt_set, lang) for lang in options.langs},
        backend.name,
        report.model,
        params.as_dict(),
    )
    if options.context:  # what the library knows about each photo goes into its prompt
        progress.phase("reading what the library knows about each photo", 0)
        told = photo_contexts(store, store.photo_ids())
        prompts = dataclasses.replace(
            prompts,
            context={pid: {lang: c.text(lang) for lang in options.langs} for pid, c in told.items() if c.text("en")},
        )

    todo = _todo(store, options.prompt_set, prompts, retry_failed, report)
    if limit is not None:
        todo = dict(list(todo.items())[:limit])
    files = store.file_rows_for(list(todo))
    jobs = []
    for photo_id in todo:
        rows = [row for row in files.get(photo_id, []) if storage.reachable(row.path)]
        if rows:
            jobs.append(DecodeJob(rows[0].path, photo_id, settings.max_image_pixels, {"caption": backend.rendition()}))
    if runner is not None:
        runner.caption(store, settings, jobs, todo, prompts, params, report, progress)
        report.seconds = time.monotonic() - started
        return report
    progress.phase("captioning photos", len(jobs))
    batch_size = max(1, backend.batch_size())
    with DecodePool(decode_workers(settings, backend.uses_accelerator()), ahead=2 * batch_size) as pool:
        batch: list[DecodedPhoto] = []
        for job, result in pool.decode(jobs):
            if isinstance(result, MediaError):
                report.errors.append(ErrorRow(job.path, storage.parent(job.path), "decode", str(result)))
                progress.advance()
                continue
            batch.append(result)
            if len(batch) >= batch_size:
                caption_batch(store, backend, batch, todo, prompts, params, settings, report)
                progress.advance(len(batch))
                batch = []
        if batch:
            caption_batch(store, backend, batch, todo, prompts, params, settings, report)
            progress.advance(len(batch))
    report.seconds = time.monotonic() - started
    return report


def _todo(
    store: Store, prompt_set: str, prompts: CaptionPrompts, retry_failed: bool, report: CaptionReport
) -> dict[str, list[str]]:
    """photo id -> the languages it needs a caption in (none yet, or asked with another prompt)."""
    existing = {
        row["caption_id"]: row
        for row in store.captions(["caption_id", "status", "source", "version"], prompt_set=prompt_set)
    }
    todo: dict[str, list[str]] = {}
    for photo_id in sorted(store.photo_ids()):
        for lang in prompts.langs:
            row = existing.get(caption_id(photo_id, prompt_set, lang))
            if row is not None and row["source"] == "human":
                report.kept_human += 1
            elif (
                row is not None
                and row["version"] == prompts.version(photo_id, lang)
                and (row["status"] == "done" or not retry_failed)
            ):
                report.skipped += 1
            else:
                todo.setdefault(photo_id, []).append(lang)
    return todo


def caption_batch(
    store: Store,
    backend: CaptionBackend,
    photos: Sequence[DecodedPhoto],
    todo: dict[str, list[str]],
    prompts: CaptionPrompts,
    params: GenerationParams,
    settings: Settings,
    report: CaptionReport,
) -> None:
    rows: list[dict[str, Any]] = []
    for lang in prompts.langs:
        wanted = [p for p in photos if lang in todo[p.photo_id]]
        ready = [p for p in wanted if not isinstance(p.renditions.get("caption"), RenditionError)]

        def row(photo: DecodedPhoto, used: GenerationParams, **outcome: Any) -> dict[str, Any]:
            asked = prompts.prompt(photo.photo_id, lang)  # noqa: B023 (used at once)
            version = prompts.version(photo.photo_id, lang)  # noqa: B023
            return _row(photo, lang, asked, version, used, backend, report, **outcome)  # noqa: B023

        for photo in wanted:
            if photo not in ready:
                rows.append(row(photo, params, raw="", problem=str(photo.renditions["caption"].message)))
        if not ready:
            continue
        asked = [prompts.prompt(p.photo_id, lang) for p in ready]
        outputs = backend.caption([p.renditions["caption"] for p in ready], asked, params)
        results = {p.photo_id: (out, params) for p, out in zip(ready, outputs)}
        # A looping or empty caption gets one more try, with a repetition penalty.
        again = [p for p, out in zip(ready, outputs) if isinstance(out, str) and not check_caption(out).ok]
        if again:
            retry = GenerationParams(
                params.max_new_tokens, params.temperature, settings.captions.retry_repetition_penalty
            )
            report.retried += len(again)
            repeated = backend.caption(
                [p.renditions["caption"] for p in again], [prompts.prompt(p.photo_id, lang) for p in again], retry
            )
            for photo, out in zip(again, repeated):
                results[photo.photo_id] = (out, retry)
        for photo in ready:
            out, used = results[photo.photo_id]
            problem: str | None
            if isinstance(out, Exception) or not isinstance(out, str):
                problem = (
                    f"{type(out).__name__}: {out}"
                    if isinstance(out, Exception)
                    else f"the backend returned a {type(out).__name__}, not text"
                )
                rows.append(row(photo, used, raw="", problem=problem))
                continue
            verdict = check_caption(out)
            problem = (
                None
                if verdict.ok
                else (verdict.problem or "")
                + (" (also after a retry with a repetition penalty)" if used is not params else "")
            )
            if problem is None and len(verdict.text) > _longest(used):
                problem = f"the caption is {len(verdict.text):,} characters, far more than the {used.max_new_tokens} tokens asked for"
            rows.append(row(photo, used, raw=out, text=verdict.text, problem=problem))
    store.put_captions(rows)


def _longest(params: GenerationParams) -> int:
    """The longest caption believable for `params`: a token is rarely more than a word of 12 letters."""
    return max(1_000, 16 * params.max_new_tokens)


def _row(
    photo: DecodedPhoto,
    lang: str,
    prompt: str,
    version: str,
    params: GenerationParams,
    backend: CaptionBackend,
    report: CaptionReport,
    *,
    raw: str,
    text: str = "",
    problem: str | None = None,
) -> dict[str, Any]:
    if problem:
        report.failed += 1
        report.failures.append(CaptionFailure(photo.path, lang, problem))
    else:
        report.written += 1
    return caption_row(
        photo.photo_id,
        report.prompt_set,
        lang,
        text=text,
        raw=raw[:MAX_RAW_CHARS],
        source="generated",
        backend=backend.name,
        model=report.model,
        prompt=prompt,
        params=json.dumps(params.as_dict()),
        version=version,
        problem=problem,
    )
