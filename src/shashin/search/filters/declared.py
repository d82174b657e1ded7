"""Every filter a person can give, declared once: the CLI options, the REST parameters, the MCP
tool's arguments, the web page's filter panel and saved searches are all made from `FILTERS`.

To add a filter: one `Filter` here, and its channel logic (how it picks photos) in `select.py`.
tests/test_filter_interfaces.py fails when an interface lacks a declared filter.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

    from shashin.store import PhotoFacts, Store

Kind = type[str] | type[int] | type[float] | type[bool]


class FilterValueError(ValueError):
    """A value that does not fit its filter (the caller names it as its interface spells it):
    the message says what it must be, `given` is the value (one of several) that did not fit."""

    def __init__(self, wanted: str, given: Any = None) -> None:
        super().__init__(wanted)
        self.given = given


@dataclass(frozen=True)
class Filter:
    """One filter as every interface shows it.

    `argument` is its name in Python (build_filters' keyword, a saved search's key, the MCP tool's
    argument); `param` its name on the command line (--param) and the web (?param=). `select`
    names the function in select.py that picks the photos a value allows (imported when a search
    runs, so the CLI starts light); None when another filter reads this one (from and to make one
    date range, radius goes with near)."""

    argument: str
    param: str
    kind: Kind
    help: str
    label: tuple[str, str]  # the web panel's label: English, Japanese
    many: bool = False  # repeatable (a list everywhere); `select` says whether all or any must hold
    select: str | None = None
    words: Callable[[Any], list[str]] = lambda value: []  # the value in words, for explanations
    merge: Literal["join", "latest", "most"] = "join"  # a query's own filter with an option's: lists join
    flags: tuple[str, ...] = ()  # the CLI's option names when not just --param
    choices: tuple[tuple[str, str], ...] = ()  # (value, as shown), when only these may be given
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False  # a number above zero
    placeholder: str = ""  # an example the web panel shows in the empty field
    example: Any = None  # a value that selects something, for docs and tests
    wanted: str = ""  # what a value must be, for error messages ("a whole number from 1 to 5")
    reads: tuple[str, ...] = ()  # other filters' arguments its select function is given (how to combine values)

    def picks(self, store: Store, facts: PhotoFacts, value: Any, given: Mapping[str, Any] | None = None) -> np.ndarray:
        """The photos (a mask over facts.ids) this filter's value allows; `given` holds the
        values of the filters it reads."""
        from shashin.search.filters import select

        assert self.select is not None, f"{self.argument} is read with another filter"
        chooser: Callable[..., np.ndarray] = getattr(select, self.select)
        options = {name: value for name, value in (given or {}).items() if name in self.reads and value is not None}
        return chooser(store, facts, value, **options)

    @property
    def empty(self) -> Any:
        return () if self.many else None

    def clean(self, value: Any) -> Any:
        """The value as Filters keeps it (a tuple of trimmed words when many), or FilterValueError."""
        if self.many:
            values = [value] if isinstance(value, str) else list(value or ())
            return tuple(self._chosen(text) for text in (str(v).strip() for v in values) if text)
        if value is None or value == "":
            return None
        if self.kind is bool:
            return _truth(value, self)
        if self.kind in (int, float):
            return self._number(value)
        return self._chosen(str(value).strip()) or None

    def _chosen(self, text: str) -> str:
        """The text, when it is one of the choices (if the filter has any)."""
        if self.choices and text not in {choice for choice, _ in self.choices}:
            raise FilterValueError(self.wanted or "one of " + ", ".join(c for c, _ in self.choices), text)
        return text

    def _number(self, value: Any) -> int | float:
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        whole = self.kind is not int or number.is_integer()
        if (
            not math.isfinite(number)
            or not whole
            or (self.minimum is not None and number < self.minimum)
            or (self.maximum is not None and number > self.maximum)
            or (self.positive and number <= 0)
        ):
            raise FilterValueError(self.wanted or f"a {self.kind.__name__}", value)
        return int(number) if self.kind is int else number

    def merged(self, mine: Any, other: Any) -> Any:
        """This filter's value when a query's own filters meet the options given with it."""
        if self.many:
            return tuple(mine) + tuple(other)
        if self.merge == "most":
            return max(mine or 0, other or 0) or None
        return mine if other is None else other


def _truth(value: Any, declared: Filter) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "on", "yes"):
        return True
    if text in ("false", "0", "off", "no"):
        return False
    raise FilterValueError(declared.wanted or "true or false", value)


def _stars(value: int) -> list[str]:
    return [f"rated {'★' * value} or more"] if value else []


FILTERS: tuple[Filter, ...] = (
    Filter(
        "taken_from",
        "from",
        str,
        "Taken on or after: 2023, 2023-07, 2023-07-14, 'July 2023', 2025年9月.",
        ("Taken from", "撮影日"),
        placeholder="2023-07",
        example="2023-07",
    ),
    Filter(
        "taken_to",
        "to",
        str,
        "Taken on or before (the whole period named): 2023, 2023-07, ...",
        ("to", "〜"),
        placeholder="2024",
        example="2024",
    ),
    Filter(
        "near",
        "near",
        str,
        "Only photos taken near a place: a town or country (Kyoto, 京都, Japan) or 'lat,lon' (repeat: any of them).",
        ("Near", "場所"),
        many=True,
        placeholder="Kyoto / 京都",
        example="Kyoto",
    ),
    Filter(
        "radius_km",
        "radius",
        float,
        "Kilometres around near (default: by the town's size).",
        ("Radius (km)", "半径 (km)"),
        positive=True,
        wanted="a positive number of kilometres",
        example=5.0,
    ),
    Filter(
        "folders",
        "folder",
        str,
        "Only photos under this folder (repeat for several).",
        ("Folder", "フォルダ"),
        many=True,
        select="in_folders",
        words=lambda folders: [f"in folder {folder}" for folder in folders],
        example="~/Pictures/2023",
    ),
    Filter(
        "cameras",
        "camera",
        str,
        "Only photos whose camera make/model/lens contains this (repeat for several).",
        ("Camera", "カメラ"),
        many=True,
        select="by_camera",
        words=lambda cameras: [f"camera {camera}" for camera in cameras],
        example="ricoh",
    ),
    Filter(
        "keywords",
        "keyword",
        str,
        "Only photos with this keyword from Lightroom, digiKam & co. or `shashin tag` (repeat: all of them); "
        "'Places|Japan' also matches Places|Japan|Kyoto.",
        ("Keyword", "キーワード"),
        many=True,
        select="with_keywords",
        words=lambda keywords: [f"keyword {keyword}" for keyword in keywords],
        flags=("--keyword", "-k"),
        placeholder="Places|Japan",
        example="Places|Japan",
    ),
    Filter(
        "shows",
        "shows",
        str,
        "Only photos the built-in labels model says show this: dog, 犬, pizza, car, flower … (repeat: all of them).",
        ("Shows", "写っているもの"),
        many=True,
        select="showing",
        words=lambda things: [f"shows {thing}" for thing in things],
        placeholder="dog",
        example="dog",
    ),
    Filter(
        "people",
        "person",
        str,
        "Only photos naming this person (faces named in shashin; face regions from Lightroom, digiKam, "
        "Picasa; Takeout's people) (repeat: all of them, or any with --any-person).",
        ("Person", "人物"),
        many=True,
        select="with_people",
        words=lambda people: [f"with {person}" for person in people],
        example="Ken",
        reads=("any_people", "only_people"),
    ),
    Filter(
        "any_people",
        "any_person",
        bool,
        "With several --person: photos naming any of them (without it: all of them).",
        ("Any of these people", "いずれかの人物"),
        words=lambda any_people: ["any of the people named"] if any_people else [],
        merge="latest",
        flags=("--any-person",),
        wanted="true or false",
        example=True,
    ),
    Filter(
        "only_people",
        "only_people",
        bool,
        "With --person: only photos in which nobody else is named (no other named face or name kept by a photo app).",
        ("Only these people", "この人物だけ"),
        words=lambda only: ["nobody else named"] if only else [],
        merge="latest",
        flags=("--only-people",),
        wanted="true or false",
        example=True,
    ),
    Filter(
        "rating",
        "rating",
        int,
        "Only photos rated at least this many stars (1-5).",
        ("Rating", "評価"),
        select="rated",
        words=_stars,
        merge="most",
        choices=tuple((str(n), "★" * n + "+") for n in range(1, 6)),
        minimum=1,
        maximum=5,
        wanted="a whole number of stars from 1 to 5",
        example=4,
    ),
    Filter(
        "labels",
        "label",
        str,
        "Only photos with this colour label, e.g. Red (repeat: any of them).",
        ("Label", "ラベル"),
        many=True,
        select="labelled",
        words=lambda labels: ["label " + " or ".join(labels)] if labels else [],
        placeholder="Red",
        example="Red",
    ),
    Filter(
        "orientations",
        "orientation",
        str,
        "Only photos in this orientation as shown: landscape, portrait or square (repeat: any of them).",
        ("Orientation", "向き"),
        many=True,
        select="shaped",
        words=lambda shapes: ["orientation " + " or ".join(shapes)] if shapes else [],
        choices=(("landscape", "landscape"), ("portrait", "portrait"), ("square", "square")),
        wanted="landscape, portrait or square",
        example="portrait",
    ),
    Filter(
        "has_text",
        "has_text",
        bool,
        "Only photos with (or without) text found by OCR.",
        ("Only photos with text", "文字のある写真だけ"),
        select="with_text",
        words=lambda has: [] if has is None else ["with text in the photo" if has else "without text in the photo"],
        merge="latest",
        flags=("--has-text/--no-text",),
        wanted="true or false",
        example=True,
    ),
)
BY_ARGUMENT: dict[str, Filter] = {declared.argument: declared for declared in FILTERS}
BY_PARAM: dict[str, Filter] = {declared.param: declared for declared in FILTERS}
# Filters that only qualify another (how far from a place, how several people combine).
QUALIFIERS = frozenset({"radius_km", *(argument for declared in FILTERS for argument in declared.reads)})


def from_params(given: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """build_filters' arguments from a request's parameters (?camera=…&camera=…, a form, a saved
    search's address, a JSON body), read by each filter's `param`; the one place a web request's
    filters are read. Text values are converted here; a bad one is a FilterValueError naming it."""
    pairs = list(given.items()) if isinstance(given, Mapping) else list(given)
    arguments: dict[str, Any] = {}
    for name, value in pairs:
        declared = BY_PARAM.get(name)
        if declared is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        try:
            if declared.many:  # repeated: the values join; otherwise the last one counts
                arguments[declared.argument] = [*arguments.get(declared.argument, []), *declared.clean(values)]
            else:
                arguments[declared.argument] = declared.clean(values[-1] if values else None)
        except FilterValueError as exc:
            raise FilterValueError(f"{declared.param} must be {exc}, not {str(exc.given)[:40]!r}") from None
    return arguments


def restricts(arguments: Mapping[str, Any]) -> bool:
    """Whether build_filters' arguments hold a filter that restricts on its own (a radius alone
    does not, nor --any-person: they qualify another)."""
    return any(value not in (None, [], ()) for argument, value in arguments.items() if argument not in QUALIFIERS)


def to_params(arguments: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """build_filters' arguments as a request's parameters (a list repeats), for addresses."""
    pairs: list[tuple[str, Any]] = []
    for argument, value in arguments.items():
        declared = BY_ARGUMENT[argument]
        for one in value if isinstance(value, list | tuple) else [value]:
            if one is not None and one != "":
                pairs.append((declared.param, str(one).lower() if isinstance(one, bool) else one))
    return pairs


@dataclass(frozen=True)
class Parameters:
    """A function's signature with one keyword parameter per declared filter, and a wrapper that
    hands them to the function as one dict of build_filters' arguments (in its `filters`)."""

    make: Callable[[Filter], tuple[str, Any, Any]]  # a filter -> (parameter name, annotation, default)

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(function, eval_str=True)
        parameters = [p for p in signature.parameters.values() if p.name != "filters"]
        names: dict[str, str] = {}
        at = next((n for n, p in enumerate(parameters) if p.default is not inspect.Parameter.empty), len(parameters))
        added = []
        for declared in FILTERS:
            name, annotation, default = self.make(declared)
            names[name] = declared.argument
            added.append(
                inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            )
        ordered = [
            *(p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in parameters[:at]),
            *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters[at:]),
        ]
        ordered[at:at] = added

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            given = {names[name]: kwargs.pop(name) for name in list(kwargs) if name in names}
            return function(*args, filters=given, **kwargs)

        for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(wrapper, attribute, getattr(function, attribute))
        wrapper.__signature__ = signature.replace(parameters=ordered)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in ordered}
        if signature.return_annotation is not inspect.Signature.empty:
            wrapper.__annotations__["return"] = signature.return_annotation
        return wrapper


__all__ = [
    "BY_ARGUMENT",
    "BY_PARAM",
    "FILTERS",
    "QUALIFIERS",
    "Filter",
    "FilterValueError",
    "Parameters",
    "from_params",
    "restricts",
    "to_params",
]
