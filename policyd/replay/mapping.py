"""The mapping file (TOML): how a source row becomes a lead, and what it says about history.

Read and validated in full before any row, so a mistake in the mapping stops with the
file, the key and what was expected, instead of rejecting every row for one reason.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .mapping_options import SYNTHETIC_START, _err, _formats, _order, _source, _text, _words, did_you_mean
from .records import MappingError

FORMATS = ("csv", "jsonl", "sqlite")
TRANSFORMS = ("identifier", "lower", "upper")


@dataclass(frozen=True)
class Lookup:
    """A table joined by one column of the row (`on`, after `values`) to its `key` column."""

    name: str
    file: str
    key: str
    on: str
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    column: str | None = None  # a source column, or LOOKUP.COLUMN
    values: Mapping[str, Any] = field(default_factory=dict)
    transform: str | None = None
    thresholds: tuple[tuple[float, Any], ...] = ()
    default: Any = None
    has_default: bool = False
    path: bool = False  # `column` is a dotted path into nested objects (`path = "properties.employees"`)

    @cached_property
    def lookup(self) -> tuple[str, str] | None:
        """(lookup, its column) for a field read from a joined table; None for a source column.

        Cached: the history asks for every field of every row."""
        return None if self.path else lookup_column(self.column)


def read_path(raw: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path in nested objects (`properties.employees`); a key holding the dots itself wins.

    None when any step is missing or is not an object, as a missing column reads."""
    if path in raw:
        return raw[path]
    v: Any = raw
    for part in path.split("."):
        if not isinstance(v, dict):  # JSON objects are dicts (an ABC check would cost more than the read)
            return None
        v = v.get(part)
    return v


def lookup_column(column: str | None) -> tuple[str, str] | None:
    """`LOOKUP.COLUMN` -> (LOOKUP, COLUMN); a plain source column (no dot) -> None."""
    if column is None or "." not in column:
        return None
    name, sub = column.split(".", 1)
    return name, sub


@dataclass(frozen=True)
class MappingSpec:
    """A parsed mapping file. Build with `load_mapping` or `mapping_from_dict`."""

    file: str
    format: str | None = None
    table: str | None = None
    id: str | None = None
    arrival: str | None = "arrival"  # None: no arrival column; `order` or `sequence` gives the order
    arrival_format: str | tuple[str, ...] | None = None  # several formats are tried in order
    assignee: str | None = None
    assignee_transform: str | None = None
    assignee_values: Mapping[str, str] = field(default_factory=dict)
    outcome: str | None = None
    won: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    open: tuple[str, ...] = ()  # outcome values known to be still open (no warning for them)
    value: str | None = None
    closed_at: str | None = None
    closed_at_format: str | tuple[str, ...] | None = None
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    fields: Mapping[str, FieldSpec] = field(default_factory=dict)
    by_name: bool = False  # no mapping file: every lead field is read from the column of its name
    # reading the source ([source]); defaults read a plain UTF-8 CSV with a sniffed delimiter
    delimiter: str | None = None  # None: sniffed from the header line
    encoding: str = "utf-8"
    thousands: str | None = None
    decimal: str = "."
    unknown: tuple[str, ...] = ()  # words read as an empty cell in every column ("Select", "NULL", "N/A")
    # arrival order without an arrival time ([history] order / sequence), on a synthetic clock
    order: str = "arrival"
    sequence: str | None = None
    spacing: float = 3600.0  # seconds between two synthetic arrivals
    start: str = SYNTHETIC_START

    @property
    def synthetic(self) -> bool:
        """True when arrival times come from the synthetic clock (no arrival column)."""
        return self.arrival is None

    def unknown_words(self) -> frozenset[str]:
        """The `unknown` words, case-folded: a cell equal to one of them is empty."""
        return frozenset(w.strip().casefold() for w in self.unknown)


_TOP = {"source", "history", "lookups", "fields"}
_SOURCE = {"format", "table", "delimiter", "encoding", "thousands", "decimal", "unknown"}
_HISTORY = {
    "id",
    "arrival",
    "arrival_format",
    "assignee",
    "assignee_transform",
    "assignee_values",
    "outcome",
    "won",
    "lost",
    "open",
    "value",
    "closed_at",
    "closed_at_format",
    "order",
    "sequence",
    "spacing",
    "start",
}
_LOOKUP = {"file", "key", "on", "values"}
_FIELD = {"column", "path", "values", "transform", "thresholds", "default"}


def read_toml(path: str | Path, what: str = "mapping file") -> dict:
    """A TOML file as a dict; MappingError naming the file when it cannot be read or parsed."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as err:
        raise MappingError(f"{path}: cannot read the {what}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise MappingError(f"{path}: not valid TOML: {err}") from None


def load_mapping(path: str | Path) -> MappingSpec:
    """Read a mapping file; raises MappingError naming the file, the key and what was expected."""
    return mapping_from_dict(read_toml(path), str(path))


def default_mapping(file: str = "(no --map)") -> MappingSpec:
    """Without a mapping file: columns named as the lead fields, `arrival` for the arrival time."""
    return MappingSpec(file=file, id="id", arrival="arrival", by_name=True)


def _table(file: str, key: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise _err(file, key, "a table", value)
    return value


def _unknown(file: str, where: str, data: dict, known: set[str]) -> None:
    for k in data:
        if k not in known:
            prefix = f"{where}.{k}" if where else k
            raise MappingError(f"{file}: {prefix}: unknown key{did_you_mean(k, known) or ';'} expected one of {', '.join(sorted(known))}")


def _value_map(file: str, key: str, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _err(file, key, 'a table of source value = lead value (e.g. { technolgy = "it" })', value)
    return dict(value)


def _text_map(file: str, key: str, value: Any) -> dict[str, str]:
    """A value map whose both sides are read as text (a lookup's join key, a rep's name)."""
    return {str(k): str(v) for k, v in _value_map(file, key, value).items()}


def _transform(file: str, key: str, value: Any) -> str | None:
    if value is None:
        return None
    if value not in TRANSFORMS:
        raise _err(file, key, "one of " + ", ".join(TRANSFORMS), value)
    return value


def mapping_from_dict(data: dict, file: str = "<mapping>") -> MappingSpec:
    _unknown(file, "", data, _TOP)
    src = _table(file, "source", data.get("source", {}))
    _unknown(file, "source", src, _SOURCE)
    fmt = src.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise _err(file, "source.format", "one of " + ", ".join(FORMATS), fmt)
    reading = _source(file, src)
    hist = _table(file, "history", data.get("history", {}))
    _unknown(file, "history", hist, _HISTORY)
    order = _order(file, hist)
    lookups: dict[str, Lookup] = {}
    for name, spec in _table(file, "lookups", data.get("lookups", {})).items():
        where = f"lookups.{name}"
        spec = _table(file, where, spec)
        _unknown(file, where, spec, _LOOKUP)
        for k in ("file", "key", "on"):
            if k not in spec:
                raise MappingError(f"{file}: {where}.{k}: missing; a lookup needs file, key and on")
        lookups[name] = Lookup(
            name,
            _text(file, f"{where}.file", spec["file"], optional=False),
            _text(file, f"{where}.key", spec["key"], optional=False),
            _text(file, f"{where}.on", spec["on"], optional=False),
            _text_map(file, f"{where}.values", spec.get("values")),
        )
    fields: dict[str, FieldSpec] = {}
    for name, spec in _table(file, "fields", data.get("fields", {})).items():
        where = f"fields.{name}"
        if isinstance(spec, str):
            spec = {"column": spec}
        spec = _table(file, where, spec)
        _unknown(file, where, spec, _FIELD)
        column = _text(file, f"{where}.column", spec.get("column"))
        nested = spec.get("path") is not None
        if nested:
            if column is not None:
                raise MappingError(f"{file}: {where}: expected a column or a path, not both")
            column = _text(file, f"{where}.path", spec["path"])
        ref = None if nested else lookup_column(column)
        if ref is not None:
            lk = ref[0]
            if lk not in lookups:
                known = ", ".join(sorted(lookups)) or "none are defined"
                raise MappingError(f"{file}: {where}.column: {column!r} names lookup {lk!r}; expected one of the [lookups] ({known})")
        if column is None and "default" not in spec:
            raise MappingError(f"{file}: {where}: expected a column or a default")
        thresholds = []
        raw_t = spec.get("thresholds")
        if raw_t is not None:
            ok = isinstance(raw_t, list) and raw_t
            for pair in raw_t if ok else []:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (int, float)) and not isinstance(pair[0], bool)):
                    ok = False
                    break
                thresholds.append((float(pair[0]), pair[1]))
            if not ok:
                raise _err(
                    file,
                    f"{where}.thresholds",
                    'a list of [number, value] pairs, highest first (e.g. [[1000, "enterprise"], [0, "smb"]])',
                    raw_t,
                )
            if [t for t, _ in thresholds] != sorted((t for t, _ in thresholds), reverse=True):
                raise _err(file, f"{where}.thresholds", "numbers from highest to lowest", raw_t)
        fields[name] = FieldSpec(
            name,
            column,
            _value_map(file, f"{where}.values", spec.get("values")),
            _transform(file, f"{where}.transform", spec.get("transform")),
            tuple(thresholds),
            spec.get("default"),
            "default" in spec,
            nested,
        )
    return MappingSpec(
        file=file,
        format=fmt,
        table=_text(file, "source.table", src.get("table")),
        id=_text(file, "history.id", hist.get("id")),
        arrival=_text(file, "history.arrival", hist.get("arrival"), optional="arrival" not in hist),
        arrival_format=_formats(file, "history.arrival_format", hist.get("arrival_format")),
        assignee=_text(file, "history.assignee", hist.get("assignee")),
        assignee_transform=_transform(file, "history.assignee_transform", hist.get("assignee_transform")),
        assignee_values=_text_map(file, "history.assignee_values", hist.get("assignee_values")),
        outcome=_text(file, "history.outcome", hist.get("outcome")),
        won=_words(file, "history.won", hist.get("won")),
        lost=_words(file, "history.lost", hist.get("lost")),
        open=_words(file, "history.open", hist.get("open")),
        value=_text(file, "history.value", hist.get("value")),
        closed_at=_text(file, "history.closed_at", hist.get("closed_at")),
        closed_at_format=_formats(file, "history.closed_at_format", hist.get("closed_at_format")),
        lookups=lookups,
        fields=fields,
        **reading,
        **order,
    )
