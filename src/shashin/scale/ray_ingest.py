"""Index and caption on a Ray cluster: the local pipelines' decode, model and commit steps as Ray Data stages.

The driver (`shashin index --ray`) scans, hashes, plans and refreshes exactly as a local run does;
only the per-photo work moves to the cluster:

    photos ─► decode (CPU tasks) ─► CPU channels (actors: OCR, phash) ─► GPU channels (actors: image
    vectors, one per GPU, model kept loaded) ─► commit (writer actors) ─► counts back to the driver

Writer actors commit each batch with the same `write_batch` a local run uses: one atomic Lance
commit per table, upserts by key, in resumable order. Several writers commit concurrently (Lance
retries compatible commits). A killed worker's batch is retried by Ray (actors restart, tasks
retry); rows it had committed are simply written again with the same keys, and photos whose
batch never committed stay pending for the next run. Progress and per-file errors reach the
driver: counts stream back per batch, errors are rows in the library's error table.

Captioning (`shashin caption --ray`) is one more such pipeline: decode tasks, then caption actors
that hold a transformers model (one per GPU) or are clients of a pool of OpenAI-compatible servers
(vLLM replicas), each committing its batches with the local run's `caption_batch`.

We commit per batch rather than through lance-ray's `write_lance`: that writes fragments and
commits once at the end, so a run stopped after hours of GPU work would keep nothing, and a
retried task would append its rows twice.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
import socket
from dataclasses import dataclass
from typing import Any

from shashin import storage
from shashin.channels.base import IndexedChannel
from shashin.config import Settings
from shashin.errors import Unavailable
from shashin.ingest.caption_context import CaptionPrompts
from shashin.ingest.captioning import CaptionFailure, CaptionReport, caption_batch
from shashin.ingest.commit import channel_outputs, write_batch
from shashin.ingest.decode import DecodeJob, attempt
from shashin.ingest.pipeline import commit_batch_size, decode_jobs, runnable
from shashin.ingest.reports import ChannelReport, IndexReport
from shashin.ingest.work import PhotoWork
from shashin.media import MediaError
from shashin.models.vlm import caption_backend
from shashin.models.vlm.base import GenerationParams
from shashin.progress import Progress
from shashin.registry import CAPTION_BACKENDS
from shashin.store import ErrorRow, Store


class RayUnavailable(Unavailable, RuntimeError):
    """Ray is not installed or the cluster cannot be reached; the message says how to fix it."""


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide to run: `address` is "auto" (RAY_ADDRESS or a cluster started on this
    machine with `ray start`), "local" (start one for this run), or host:port / ray://host:port."""

    address: str = "auto"
    cpu_workers: int = 0  # actors per CPU channel stage; 0: one per CPU the cluster has, less one
    gpu_workers: int = 0  # actors per GPU channel stage; 0: one per GPU the cluster has
    writers: int = 2  # concurrent committing actors


@dataclass(frozen=True)
class RayRunner:
    """The ingest Runner (shashin.ingest.runner) that sends per-photo work to a Ray cluster."""

    options: RayOptions

    def index(
        self,
        store: Store,
        work: list[PhotoWork],
        channels: list[IndexedChannel],
        settings: Settings,
        report: IndexReport,
        progress: Progress,
    ) -> None:
        """pipeline._process on a cluster: decode, run channels and commit every pending photo."""
        work = runnable(work, channels)
        progress.phase("indexing photos on the Ray cluster", len(work))
        if not work:
            return
        batch_size = commit_batch_size(settings, channels)
        items = [
            {"work": pickle.dumps(item), "job": pickle.dumps(job)}
            for item, job in zip(work, decode_jobs(work, channels, settings))
        ]
        dataset, cpus, gpus = _decoded(self.options, items, batch_size)
        from ray.data import ActorPoolStrategy

        # By what the model is, not where the driver loaded it: a CPU-only driver still feeds GPU workers.
        on_gpu = [c for c in channels if c.gpu_model and gpus > 0]
        on_cpu = [c for c in channels if c not in on_gpu]

        def stage(dataset: Any, names: list[str], size: int, **resources: int) -> Any:
            """The channels `names` as a pool of `size` Ray actors, each holding `resources`."""
            return dataset.map_batches(
                _ChannelStage,
                fn_constructor_args=(settings, names),
                batch_size=batch_size,
                batch_format="pyarrow",
                compute=ActorPoolStrategy(size=size),
                **resources,
            )

        if on_cpu:
            dataset = stage(dataset, [c.name for c in on_cpu], self.options.cpu_workers or max(1, cpus - 1), num_cpus=1)
        if on_gpu:
            dataset = stage(dataset, [c.name for c in on_gpu], self.options.gpu_workers or gpus, num_gpus=1, num_cpus=0)
        versions = {channel.name: channel.version() for channel in channels}
        dataset = dataset.map_batches(
            _Commit,
            fn_constructor_args=(store.root, versions),
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(size=max(1, self.options.writers)),
            num_cpus=0.5,
            udf_modifying_row_count=True,
        )
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            for counts in batch.column("counts").to_pylist():
                done = _merge(report, json.loads(counts))
                progress.advance(done)

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
        """captioning.caption_photos' loop on a cluster: decode tasks, then caption actors that keep the
        model loaded (one per GPU) or share the pool of caption servers, each committing its batches."""
        progress.phase("captioning photos on the Ray cluster", len(jobs))
        if not jobs:
            return
        captions = dataclasses.replace(settings.captions, model=report.model)  # "auto" resolved by the driver
        settings = dataclasses.replace(settings, captions=captions)
        kind = CAPTION_BACKENDS[captions.backend]
        batch_size = max(1, captions.batch_size or (16 if kind.remote else 8))
        items: list[dict[str, Any]] = [
            {"job": pickle.dumps(job), "path": job.path, "langs": json.dumps(todo[job.photo_id])} for job in jobs
        ]
        dataset, cpus, gpus = _decoded(self.options, items, batch_size)
        from ray.data import ActorPoolStrategy

        on_gpu = kind.gpu and gpus > 0
        if on_gpu:
            resources_per_actor: dict[str, float] = {"num_gpus": 1, "num_cpus": 0}
            size = self.options.gpu_workers or gpus
        else:  # CPU transformers, or clients of caption servers (waiting on the network, not the CPU)
            local_model = not kind.remote
            resources_per_actor = {"num_cpus": 1 if local_model else 0.25}
            # Server clients each keep `concurrency` requests per server in flight; two of them keep a pool busy.
            size = self.options.cpu_workers or (max(1, cpus - 1) if local_model else 2)
        dataset = dataset.map_batches(
            _CaptionStage,
            fn_constructor_args=(store.root, settings, prompts, params, report.prompt_set),
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=ActorPoolStrategy(size=size),
            udf_modifying_row_count=True,
            **resources_per_actor,
        )
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            for counts in map(json.loads, batch.column("counts").to_pylist()):
                report.written += counts["written"]
                report.failed += counts["failed"]
                report.retried += counts["retried"]
                report.failures.extend(CaptionFailure(*failure) for failure in counts["failures"])
                report.errors.extend(ErrorRow(*error) for error in counts["errors"])
                progress.advance(counts["photos"])


def connect(options: RayOptions) -> Any:
    """Initialize Ray for this process (once) and return the module."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable("distributed indexing needs Ray: pip install 'shashin[ray]'") from None
    import warnings

    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False  # progress is ours (the driver's bar counts committed photos)
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="The minimum number of concurrent actors", category=UserWarning)
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        _probe(options.address)
        try:
            if options.address == "local":
                ray.init(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
            else:
                ray.init(address=options.address, logging_level=logging.ERROR, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(
                f"cannot reach the Ray cluster at {options.address!r}: {exc} "
                "(start one with `ray start --head`, or pass --ray local)"
            ) from exc
    return ray


def _probe(address: str) -> None:
    """Fail at once for a HOST:PORT nobody listens on (Ray itself would retry for minutes)."""
    if address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"--ray {address!r}: give auto, local or HOST:PORT of the cluster's head node")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise RayUnavailable(
            f"cannot reach the Ray cluster at {address!r}: {exc.strerror or exc} "
            "(start one with `ray start --head`, or pass --ray local)"
        ) from None


class _CaptionStage:
    """An actor with the caption backend loaded once; captions and commits each batch it is given."""

    def __init__(
        self,
        root: str,
        settings: Settings,
        prompts: CaptionPrompts,
        params: GenerationParams,
        prompt_set: str,
    ) -> None:
        self.store = Store(root, create=False)
        self.settings, self.prompts, self.params = settings, prompts, params
        self.prompt_set = prompt_set
        self.backend = caption_backend(settings.captions)
        self.backend.load()

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        results = [pickle.loads(data) for data in batch.column("decoded").to_pylist()]
        photos = [result for result in results if not isinstance(result, MediaError)]
        todo = {
            photo.photo_id: json.loads(langs)
            for photo, langs in zip(results, batch.column("langs").to_pylist())
            if not isinstance(photo, MediaError)
        }
        part = CaptionReport(backend=self.backend.name, prompt_set=self.prompt_set, langs=self.prompts.langs)
        part.model = self.backend.identity()
        if photos:
            caption_batch(self.store, self.backend, photos, todo, self.prompts, self.params, self.settings, part)
        errors = [
            [path, storage.parent(path), "decode", str(error)]
            for error, path in zip(results, batch.column("path").to_pylist())
            if isinstance(error, MediaError)
        ]
        counts = {
            "photos": len(results),
            "written": part.written,
            "failed": part.failed,
            "retried": part.retried,
            "failures": [[f.path, f.lang, f.reason] for f in part.failures],
            "errors": errors,
        }
        return pa.table({"counts": [json.dumps(counts)]})


def _decoded(options: RayOptions, items: list[dict[str, Any]], batch_size: int) -> tuple[Any, int, int]:
    """The first stage of every pipeline: rows with a pickled DecodeJob, decoded by CPU tasks.
    Returns the dataset and the cluster's CPUs and GPUs."""
    ray = connect(options)
    resources = ray.cluster_resources()
    cpus, gpus = int(resources.get("CPU", 1)), int(resources.get("GPU", 0))
    blocks = max(1, min(len(items) // batch_size + 1, 4 * cpus))  # enough blocks to keep every actor busy
    dataset = ray.data.from_items(items, override_num_blocks=blocks)
    return dataset.map_batches(_decode, batch_size=batch_size, num_cpus=1, batch_format="pyarrow"), cpus, gpus


def _decode(batch: Any) -> Any:
    """CPU stage: decode each photo (a file that cannot be decoded becomes its MediaError)."""
    import pyarrow as pa

    decoded = [pickle.dumps(attempt(pickle.loads(job))) for job in batch.column("job").to_pylist()]
    return batch.append_column("decoded", pa.array(decoded, pa.binary())).drop_columns(["job"])


class _ChannelStage:
    """An actor running some channels with their models loaded once; adds one output column each."""

    def __init__(self, settings: Settings, names: list[str]) -> None:
        from shashin.channels import build_channels, indexed_channels

        self.channels = indexed_channels(build_channels(settings), names)
        for channel in self.channels:
            channel.load()  # the driver loaded it first, so it is available; a failure here is the node's

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        by_id = {item.photo_id: item for item in map(pickle.loads, batch.column("work").to_pylist())}
        results = [pickle.loads(data) for data in batch.column("decoded").to_pylist()]
        decoded = [result for result in results if not isinstance(result, MediaError)]
        for channel in self.channels:
            outputs = channel_outputs(channel, decoded, by_id)
            column = [pickle.dumps(outputs.get(item_id)) for item_id in by_id]
            batch = batch.append_column(f"out_{channel.name}", pa.array(column, pa.binary()))
        done = {channel.name for channel in self.channels}
        shipped = [  # renditions these channels used are not shipped on to later stages
            r
            if isinstance(r, MediaError)
            else dataclasses.replace(r, renditions={k: v for k, v in r.renditions.items() if k not in done})
            for r in results
        ]
        return batch.set_column(
            batch.schema.get_field_index("decoded"),
            "decoded",
            pa.array([pickle.dumps(r) for r in shipped], pa.binary()),
        )


class _Commit:
    """A writer actor: commits batches into the shared library exactly as a local run does."""

    def __init__(self, root: str, versions: dict[str, str]) -> None:
        self.store = Store(root, create=False)
        self.versions = versions

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        items = [pickle.loads(data) for data in batch.column("work").to_pylist()]
        results = [pickle.loads(data) for data in batch.column("decoded").to_pylist()]
        by_id = {item.photo_id: item for item in items}
        jobs: list[Any] = [_JobRef(item.photo_id) for item in items]  # write_batch reads only photo_id
        outputs: dict[str, dict[str, Any]] = {}
        for name in self.versions:
            column = f"out_{name}"
            if column in batch.column_names:
                outputs[name] = {
                    item.photo_id: output
                    for item, output in zip(items, map(pickle.loads, batch.column(column).to_pylist()))
                    if output is not None
                }
        part = IndexReport(channels={name: ChannelReport() for name in self.versions})
        write_batch(self.store, list(zip(jobs, results)), by_id, outputs, self.versions, part)
        counts = {
            "photos": len(items),
            "new_photos": part.new_photos,
            "refreshed_photos": part.refreshed_photos,
            "reattached": part.reattached,
            "photos_processed": part.photos_processed,
            "channels": {name: [c.processed, c.failed] for name, c in part.channels.items()},
        }
        return pa.table({"counts": [json.dumps(counts)]})  # one row per batch (udf_modifying_row_count)


@dataclass(frozen=True)
class _JobRef:
    """What write_batch needs of a decode job: the photo it was for."""

    photo_id: str


def _merge(report: IndexReport, counts: dict[str, Any]) -> int:
    report.new_photos += counts["new_photos"]
    report.refreshed_photos += counts["refreshed_photos"]
    report.reattached += counts["reattached"]
    report.photos_processed += counts["photos_processed"]
    for name, (processed, failed) in counts["channels"].items():
        report.channels[name].processed += processed
        report.channels[name].failed += failed
    return int(counts["photos"])
