"""Lead history for replays: CSV, JSON Lines or a SQLite table, read as a stream.

A mapping file (TOML) says how a source row becomes a lead of the policy's schema
and what the row tells about history: arrival time, who got it, how it ended. A row
that cannot be mapped becomes a `Reject` (row, field, reason) instead of a lead:
counted, reported, written out by `--rejects`, never dropped silently. The mapping
only rewrites what it is told to (value maps, thresholds, defaults, joins); the
policy's own schema still validates every lead in the replay.

Rows are read one at a time; only the lookup tables (small, joined by a key) are
held in memory.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sqlite3
import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..engine.schema import LeadSchema

FORMATS = ("csv", "jsonl", "sqlite")
TRANSFORMS = ("identifier", "lower", "upper")


class MappingError(ValueError):
    """A mapping file (or a lookup it names) that cannot be used: says file, key and what was expected."""


class HistoryError(ValueError):
    """A history source that cannot be read at all (missing file, unknown table)."""


@dataclass(slots=True)
class HistoryRow:
    """One past lead, mapped: the lead for the policy plus what history says about it."""

    row: int  # 1-based record number in the source
    where: str  # "line 17" / "rowid 17": where to look in the source
    lead: dict[str, Any]
    lead_id: str
    arrival: float | None  # seconds since the epoch, UTC; None only when the source has no arrival column (`arrival_optional`)
    assignee: str | None = None  # the rep it historically went to (mapped to a rep name)
    outcome: str | None = None  # "won", "lost" or None (still open / unknown)
    value: float | None = None
    closed_at: float | None = None
    source: Mapping[str, Any] | None = None


@dataclass(slots=True)
class Reject:
    """A row that was not replayed, and why."""

    row: int
    where: str
    field: str
    reason: str
    source: Mapping[str, Any] | None = None

    def message(self, file: str) -> str:
        """`file:LINE: field: reason` (gcc style), or `file: rowid N: ...` for SQLite."""
        at = f"{file}:{self.where[5:]}:" if self.where.startswith("line ") else f"{file}: {self.where}:"
        return f"{at} {self.field}: {self.reason}" if self.field else f"{at} {self.reason}"


class RowError(ValueError):
    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


# ---------------------------------------------------------------- the mapping file


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


@dataclass(frozen=True)
class MappingSpec:
    """A parsed mapping file. Build with `load_mapping` or `mapping_from_dict`."""

    file: str
    format: str | None = None
    table: str | None = None
    id: str | None = None
    arrival: str = "arrival"
    arrival_format: str | None = None
    assignee: str | None = None
    assignee_transform: str | None = None
    assignee_values: Mapping[str, str] = field(default_factory=dict)
    outcome: str | None = None
    won: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    value: str | None = None
    closed_at: str | None = None
    closed_at_format: str | None = None
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    fields: Mapping[str, FieldSpec] = field(default_factory=dict)
    by_name: bool = False  # no mapping file: every lead field is read from the column of its name


_TOP = {"source", "history", "lookups", "fields"}
_SOURCE = {"format", "table"}
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
    "value",
    "closed_at",
    "closed_at_format",
}
_LOOKUP = {"file", "key", "on", "values"}
_FIELD = {"column", "values", "transform", "thresholds", "default"}


def load_mapping(path: str | Path) -> MappingSpec:
    """Read a mapping file; raises MappingError naming the file, the key and what was expected."""
    file = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as err:
        raise MappingError(f"{file}: cannot read the mapping file: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise MappingError(f"{file}: not valid TOML: {err}") from None
    return mapping_from_dict(data, file)


def default_mapping(file: str = "(no --map)") -> MappingSpec:
    """Without a mapping file: columns named as the lead fields, `arrival` for the arrival time."""
    return MappingSpec(file=file, id="id", arrival="arrival", by_name=True)


def _err(file: str, key: str, expected: str, got: Any = None, *, show: bool = True) -> MappingError:
    tail = f", got {json.dumps(got, default=str)}" if show else ""
    return MappingError(f"{file}: {key}: expected {expected}{tail}")


def _table(file: str, key: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise _err(file, key, "a table", value)
    return value


def _unknown(file: str, where: str, data: dict, known: set[str]) -> None:
    for k in data:
        if k not in known:
            prefix = f"{where}.{k}" if where else k
            raise MappingError(f"{file}: {prefix}: unknown key; expected one of {', '.join(sorted(known))}")


def _text(file: str, key: str, value: Any, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _err(file, key, "a text (a column name)", value)
    return value


def _words(file: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(file, key, "a list of texts", value)
    return tuple(value)


def _value_map(file: str, key: str, value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _err(file, key, 'a table of source value = lead value (e.g. { technolgy = "it" })', value)
    return dict(value)


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
    hist = _table(file, "history", data.get("history", {}))
    _unknown(file, "history", hist, _HISTORY)
    if "arrival" not in hist:
        raise MappingError(f"{file}: history.arrival: missing; expected the name of the column with each lead's arrival time")
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
            {str(k): str(v) for k, v in _value_map(file, f"{where}.values", spec.get("values")).items()},
        )
    fields: dict[str, FieldSpec] = {}
    for name, spec in _table(file, "fields", data.get("fields", {})).items():
        where = f"fields.{name}"
        if isinstance(spec, str):
            spec = {"column": spec}
        spec = _table(file, where, spec)
        _unknown(file, where, spec, _FIELD)
        column = _text(file, f"{where}.column", spec.get("column"))
        if column is not None and "." in column:
            lk = column.split(".", 1)[0]
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
        )
    return MappingSpec(
        file=file,
        format=fmt,
        table=_text(file, "source.table", src.get("table")),
        id=_text(file, "history.id", hist.get("id")),
        arrival=_text(file, "history.arrival", hist.get("arrival"), optional=False),
        arrival_format=_text(file, "history.arrival_format", hist.get("arrival_format")),
        assignee=_text(file, "history.assignee", hist.get("assignee")),
        assignee_transform=_transform(file, "history.assignee_transform", hist.get("assignee_transform")),
        assignee_values={str(k): str(v) for k, v in _value_map(file, "history.assignee_values", hist.get("assignee_values")).items()},
        outcome=_text(file, "history.outcome", hist.get("outcome")),
        won=_words(file, "history.won", hist.get("won")),
        lost=_words(file, "history.lost", hist.get("lost")),
        value=_text(file, "history.value", hist.get("value")),
        closed_at=_text(file, "history.closed_at", hist.get("closed_at")),
        closed_at_format=_text(file, "history.closed_at_format", hist.get("closed_at_format")),
        lookups=lookups,
        fields=fields,
    )


# ---------------------------------------------------------------- values


def identifier(text: str) -> str:
    """`Moses Frase` -> `moses_frase`: a name the policy language accepts."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _apply_transform(kind: str | None, v: Any) -> Any:
    if kind is None or not isinstance(v, str):
        return v
    if kind == "identifier":
        return identifier(v)
    if kind == "lower":
        return v.lower()
    return v.upper()


@lru_cache(maxsize=8192)
def _parse_time_text(text: str, fmt: str | None) -> float:
    if fmt:
        dt = datetime.strptime(text, fmt)
    else:
        try:
            return float(text)
        except ValueError:
            pass
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_time(value: Any, fmt: str | None = None) -> float:
    """Seconds since the epoch (UTC) from a number, an ISO 8601 date/datetime or `fmt`. ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return float(value)
    return _parse_time_text(str(value), fmt)


def _blank(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


_INT = re.compile(r"-?\d+")


def _convert(kind: str, v: Any, field_name: str, origin: str) -> Any:
    """A source value as the schema type of its field (CSV gives text); RowError when it cannot be."""
    if kind == "int":
        if isinstance(v, int) and not isinstance(v, bool):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str):
            if _INT.fullmatch(v):
                return int(v)
            try:
                f = float(v)
            except ValueError:
                f = math.nan
            if f.is_integer():
                return int(f)
        raise RowError(field_name, f"{json.dumps(v)} from {origin} is not a whole number")
    if kind == "number":
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
        if isinstance(v, str):
            try:
                f = float(v)
                if math.isfinite(f):
                    return int(f) if _INT.fullmatch(v) else f
            except ValueError:
                pass
        raise RowError(field_name, f"{json.dumps(v)} from {origin} is not a number")
    if kind == "bool":
        if isinstance(v, bool):
            return v
        word = str(v).strip().lower()
        if word in ("true", "yes", "1", "y", "t"):
            return True
        if word in ("false", "no", "0", "n", "f"):
            return False
        raise RowError(field_name, f"{json.dumps(v)} from {origin} is not true or false")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return v if isinstance(v, str) else str(v)


# ---------------------------------------------------------------- sources


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    if fmt:
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".db", ".sqlite", ".sqlite3"):
        return "sqlite"
    return "csv"


def _not_utf8(path: str | Path, err: UnicodeDecodeError) -> str:
    return f"{path}: not UTF-8 text ({err.reason} at byte {err.start}); export the file as UTF-8"


def _open_text(path: str | Path):
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as err:
        raise HistoryError(f"cannot read lead history {path}: {err.strerror}") from None


class _Source:
    """Raw rows as (row number, where, dict or an error text) from one source file."""

    def __init__(self, path: str | Path, fmt: str, table: str | None, order_by: str | None):
        self.path = str(path)
        self.fmt = fmt
        self.table = table
        self.order_by = order_by
        self.columns: list[str] | None = None
        if fmt == "csv":
            with _open_text(path) as fh:
                try:
                    header = next(csv.reader(fh), None)
                except UnicodeDecodeError as err:
                    raise HistoryError(_not_utf8(path, err)) from None
            if header is None:
                raise HistoryError(f"{path}: empty file; expected a header line of column names")
            self.columns = header
        elif fmt == "sqlite":
            self._check_sqlite()

    def _connect(self) -> sqlite3.Connection:
        p = Path(self.path)
        if not p.is_file():
            raise HistoryError(f"cannot read lead history {self.path}: No such file or directory")
        return sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)

    def _check_sqlite(self) -> None:
        if not self.table:
            raise HistoryError(f"{self.path}: a SQLite history needs a table: set [source] table in the mapping or pass --table")
        con = self._connect()
        try:
            tables = [r[0] for r in con.execute("select name from sqlite_master where type in ('table', 'view') order by name")]
        except sqlite3.DatabaseError as err:
            raise HistoryError(f"{self.path}: not a SQLite database ({err})") from None
        finally:
            con.close()
        if self.table not in tables:
            raise HistoryError(f"{self.path}: no table {self.table!r}; the tables are: {', '.join(tables) or 'none'}")
        con = self._connect()
        try:
            self.columns = [r[1] for r in con.execute(f'pragma table_info("{self.table}")')]
        finally:
            con.close()

    def size_hint(self) -> int | None:
        """Rows to expect (for a progress bar): counted without parsing."""
        if self.fmt == "sqlite":
            con = self._connect()
            try:
                return con.execute(f'select count(*) from "{self.table}"').fetchone()[0]
            finally:
                con.close()
        n = 0
        with open(self.path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                n += chunk.count(b"\n")
        return max(n - (1 if self.fmt == "csv" else 0), 0)

    def __iter__(self) -> Iterator[tuple[int, str, Any]]:
        if self.fmt == "csv":
            yield from self._csv()
        elif self.fmt == "jsonl":
            yield from self._jsonl()
        else:
            yield from self._sqlite()

    def _csv(self):
        with _open_text(self.path) as fh:
            reader = csv.reader(fh)
            header = next(reader, None) or []
            width = len(header)
            n = 0
            line = reader.line_num
            try:
                for values in reader:
                    start, line = line + 1, reader.line_num
                    if not values:
                        continue  # a blank line is not a row
                    n += 1
                    if len(values) != width:
                        yield n, f"line {start}", f"has {len(values)} values; the header has {width} columns"
                        continue
                    yield n, f"line {start}", dict(zip(header, values))
            except csv.Error as err:
                yield n + 1, f"line {reader.line_num}", f"unreadable CSV: {err}; the rest of the file was not read"
            except UnicodeDecodeError as err:  # the file as a whole is unusable: stop, naming it
                raise HistoryError(_not_utf8(self.path, err)) from None

    def _jsonl(self):
        with _open_text(self.path) as fh:
            n = 0
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                n += 1
                try:
                    obj = json.loads(line.rstrip("\r\n"))
                except json.JSONDecodeError as err:
                    yield n, f"line {lineno}", f"not valid JSON: {err.msg} (column {err.colno})"
                    continue
                if not isinstance(obj, dict):
                    yield n, f"line {lineno}", "expected a JSON object per line"
                    continue
                yield n, f"line {lineno}", obj

    def _sqlite(self):
        con = self._connect()
        con.row_factory = sqlite3.Row
        try:
            order = f' order by "{self.order_by}", rowid' if self.order_by else " order by rowid"
            cur = con.execute(f'select rowid as "__rowid__", * from "{self.table}"{order}')
            for n, r in enumerate(cur, 1):
                d = dict(r)
                yield n, f"rowid {d.pop('__rowid__')}", d
        finally:
            con.close()


def _load_lookup(lk: Lookup, base: Path, file: str) -> dict[str, dict]:
    path = Path(lk.file) if Path(lk.file).is_absolute() else base / lk.file
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as err:
        raise MappingError(f"{file}: lookups.{lk.name}.file: cannot read {path}: {err.strerror}") from None
    with fh:
        reader = csv.DictReader(fh)
        if lk.key not in (reader.fieldnames or []):
            raise MappingError(
                f"{file}: lookups.{lk.name}.key: {lk.key!r} is not a column of {path.name}; expected one of {', '.join(reader.fieldnames or [])}"
            )
        return {row[lk.key].strip(): row for row in reader}


# ---------------------------------------------------------------- the history


class History:
    """Mapped rows of one source, in source order: HistoryRow or Reject, one at a time.

    `read` counts source rows, `rejected` the rows refused while mapping; `notes`
    counts what the mapping did (value maps applied, defaults used, lookups missed),
    so a replay can report every quirk it smoothed over.
    """

    def __init__(
        self,
        path: str | Path,
        mapping: MappingSpec,
        schema: LeadSchema,
        *,
        fmt: str | None = None,
        table: str | None = None,
        arrival_optional: bool = False,
    ):
        """`arrival_optional`: a source without the arrival column gives rows with arrival None
        (a meeting's batch of leads needs no times; a replay always does)."""
        self.path = str(path)
        self.name = Path(path).name
        self.mapping = mapping
        self.schema = schema
        self.fmt = detect_format(path, fmt or mapping.format)
        order_by = mapping.arrival if self.fmt == "sqlite" else None
        self.source = _Source(path, self.fmt, table or mapping.table, order_by)
        self.read = 0
        self.rejected = 0
        self.notes: Counter[str] = Counter()
        cols = self.source.columns
        self.has_arrival = not (arrival_optional and cols is not None and mapping.arrival not in cols)
        self._check_fields()
        self._check_columns()
        base = Path(path).parent
        self.tables = {name: _load_lookup(lk, base, mapping.file) for name, lk in mapping.lookups.items()}

    @property
    def columns(self) -> list[str] | None:
        return self.source.columns

    def size_hint(self) -> int | None:
        return self.source.size_hint()

    def _check_fields(self) -> None:
        """Every mapped field is in the schema; every required field is mapped (else nothing could replay)."""
        m, schema = self.mapping, self.schema
        for name in m.fields:
            if name not in schema.names:
                raise MappingError(
                    f"{m.file}: fields.{name}: not a field of the policy's lead schema; expected one of {', '.join(schema.names)}"
                )
        for f in schema.fields:
            if f.name in m.fields or f.optional or f.has_default or (f.name == "id" and m.id):
                continue  # `id` is filled from [history] id
            if m.by_name:
                continue  # no mapping: columns named as the fields, checked row by row
            raise MappingError(
                f"{m.file}: fields.{f.name}: missing; the policy requires field {f.name} ({schema.expected(f)}): map a column or give a default"
            )

    def _check_columns(self) -> None:
        cols = self.source.columns
        if cols is None:
            return  # JSON Lines: no header; a missing key reads as empty
        m = self.mapping
        wanted = [("history.arrival", m.arrival)] if self.has_arrival else []
        for key in ("id", "assignee", "outcome", "value", "closed_at"):
            if getattr(m, key):
                wanted.append((f"history.{key}", getattr(m, key)))
        wanted += [(f"lookups.{lk.name}.on", lk.on) for lk in m.lookups.values()]
        wanted += [(f"fields.{f.name}.column", f.column) for f in m.fields.values() if f.column and "." not in f.column]
        for key, col in wanted:
            if col not in cols:
                raise MappingError(f"{m.file}: {key}: {col!r} is not a column of {self.name}; expected one of {', '.join(cols)}")

    def __iter__(self) -> Iterator[HistoryRow | Reject]:
        self.read = 0
        self.rejected = 0
        self.notes.clear()
        m = self.mapping
        kinds = {f.name: f.type.kind for f in self.schema.fields}
        specs = list(m.fields.values())
        if m.by_name:
            specs = [FieldSpec(n, n) for n in self.schema.names]
        for n, where, raw in self.source:
            self.read += 1
            if isinstance(raw, str):
                self.rejected += 1
                yield Reject(n, where, "", raw, None)
                continue
            try:
                yield self._map(n, where, raw, specs, kinds)
            except RowError as err:
                self.rejected += 1
                yield Reject(n, where, err.field, err.reason, raw)

    def _lookup(self, name: str, raw: dict, cache: dict) -> dict | None:
        if name in cache:
            return cache[name]
        lk = self.mapping.lookups[name]
        key = _blank(raw.get(lk.on))
        hit = None
        if key is None:
            self.notes[f"lookup {name}: {lk.on} is empty, so no {name} fields (defaults used)"] += 1
        else:
            key = str(key)
            if key in lk.values:
                self.notes[f"lookup {name}: {lk.on} {key!r} read as {lk.values[key]!r}"] += 1
                key = lk.values[key]
            hit = self.tables[name].get(key)
            if hit is None:
                self.notes[f"lookup {name}: {lk.on} {key!r} not found (defaults used)"] += 1
        cache[name] = hit
        return hit

    def _map(self, n: int, where: str, raw: dict, specs: list[FieldSpec], kinds: dict[str, str]) -> HistoryRow:
        m = self.mapping
        arrival_raw = _blank(raw.get(m.arrival)) if self.has_arrival else None
        if not self.has_arrival:
            arrival = None
        elif arrival_raw is None:
            raise RowError(m.arrival, "no arrival time (empty), so the lead cannot be placed in time")
        else:
            try:
                arrival = parse_time(arrival_raw, m.arrival_format)
            except ValueError:
                raise RowError(
                    m.arrival,
                    f"{json.dumps(arrival_raw, default=str)} is not a time; expected {m.arrival_format or 'an ISO 8601 date or time, or seconds since 1970'}",
                ) from None
        closed_at = None
        if m.closed_at:
            c = _blank(raw.get(m.closed_at))
            if c is not None:
                try:
                    closed_at = parse_time(c, m.closed_at_format)
                except ValueError:
                    raise RowError(m.closed_at, f"{json.dumps(c, default=str)} is not a time") from None
                if arrival is not None and closed_at < arrival:
                    raise RowError(m.closed_at, f"closed at {c}, before it arrived ({arrival_raw})")
        lead: dict[str, Any] = {}
        cache: dict = {}
        notes = self.notes
        for spec in specs:
            v = None
            col = spec.column
            if col is not None:
                if "." in col:
                    lk, sub = col.split(".", 1)
                    hit = self._lookup(lk, raw, cache)
                    v = _blank(hit.get(sub)) if hit is not None else None
                else:
                    v = _blank(raw.get(col))
            if v is not None:
                if spec.values:
                    key = str(v) if not isinstance(v, str) else v
                    if key in spec.values:
                        new = spec.values[key]
                        notes[f"{spec.name}: {key!r} read as {new!r}"] += 1
                        v = new
                v = _apply_transform(spec.transform, v)
                if spec.thresholds:
                    try:
                        x = float(v)
                    except (TypeError, ValueError):
                        raise RowError(
                            spec.name, f"{json.dumps(v, default=str)} from {col} is not a number, so no threshold applies"
                        ) from None
                    for limit, word in spec.thresholds:
                        if x >= limit:
                            v = word
                            break
                    else:
                        raise RowError(spec.name, f"{x:g} from {col} is below every threshold (lowest {spec.thresholds[-1][0]:g})")
            if v is None:
                if not spec.has_default:
                    continue  # left out: the schema's default or `missing` applies, or it refuses the lead
                v = spec.default
                notes[f"{spec.name}: empty, default {v!r} used"] += 1
            kind = kinds.get(spec.name)
            if kind is not None:
                v = _convert(kind, v, spec.name, col or "the default")
            lead[spec.name] = v
        lead_id = None
        if m.id:
            lead_id = _blank(raw.get(m.id))
        lead_id = str(lead_id) if lead_id is not None else f"row-{n}"
        if "id" in kinds and "id" not in lead:
            lead["id"] = lead_id
        assignee = None
        if m.assignee:
            a = _blank(raw.get(m.assignee))
            if a is not None:
                a = str(a)
                a = m.assignee_values.get(a, a)
                assignee = _apply_transform(m.assignee_transform, a)
        outcome = None
        if m.outcome:
            o = _blank(raw.get(m.outcome))
            if o is not None:
                o = str(o)
                outcome = "won" if o in m.won else "lost" if o in m.lost else None
        value = None
        if m.value:
            val = _blank(raw.get(m.value))
            if val is not None:
                try:
                    value = float(val)
                except (TypeError, ValueError):
                    raise RowError(m.value, f"{json.dumps(val, default=str)} is not a number") from None
        return HistoryRow(n, where, lead, lead_id, arrival, assignee, outcome, value, closed_at, raw)


# ---------------------------------------------------------------- rejects out


class RejectWriter:
    """Rejected rows to a file, with their reasons: CSV (the source's columns kept) or JSON Lines (.jsonl)."""

    def __init__(self, path: str | Path, columns: list[str] | None):
        self.path = str(path)
        self.jsonl = Path(path).suffix.lower() in (".jsonl", ".ndjson", ".json")
        self.columns = columns
        self.count = 0
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(path, "w", encoding="utf-8", newline="")
        except OSError as err:
            raise HistoryError(f"cannot write rejects to {path}: {err.strerror}") from None
        self.writer = None
        if not self.jsonl:
            cols = ["row", "where", "field", "reason"] + (list(columns) if columns else ["source"])
            self.writer = csv.writer(self.fh)
            self.writer.writerow(cols)

    def write(self, r: Reject) -> None:
        self.count += 1
        src = dict(r.source) if r.source is not None else None
        if self.jsonl:
            self.fh.write(
                json.dumps({"row": r.row, "where": r.where, "field": r.field, "reason": r.reason, "source": src}, default=str) + "\n"
            )
            return
        meta = [r.row, r.where, r.field, r.reason]
        if self.columns:
            self.writer.writerow(meta + [("" if src is None else src.get(c, "")) for c in self.columns])
        else:
            self.writer.writerow(meta + [json.dumps(src, default=str) if src is not None else ""])

    def close(self) -> None:
        self.fh.close()
