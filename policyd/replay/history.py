"""Lead history for replays: CSV, JSON Lines or a SQLite table, read as a stream.

A mapping file (TOML) says how a source row becomes a lead of the policy's schema
and what the row tells about history: arrival time, who got it, how it ended. A row
that cannot be mapped becomes a `Reject` (row, field, reason) instead of a lead:
counted, reported, written out by `--rejects`, never dropped silently. The mapping
only rewrites what it is told to (value maps, thresholds, defaults, joins); the
policy's own schema still validates every lead in the replay.

Rows are read one at a time; only the lookup tables (small, joined by a key) are
held in memory. This module maps each row; the mapping file (mapping.py), reading
the sources (sources.py), converting values (values.py) and writing rejects
(rejects.py) each have their own.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..engine.schema import LeadSchema
from .mapping import FieldSpec, MappingSpec, read_path
from .mapping_options import did_you_mean
from .records import HistoryRow, MappingError, Reject, RowError
from .sources import Source, detect_format, load_lookup
from .spill import SeenIds
from .values import DateLike, Numbers, apply_transform, blank, convert, number_text, parse_time


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
        order_by = (mapping.arrival or mapping.sequence) if self.fmt == "sqlite" and mapping.order == "arrival" else None
        self.source = Source(path, self.fmt, table or mapping.table, order_by, delimiter=mapping.delimiter, encoding=mapping.encoding)
        self._start(mapping)
        cols = self.source.columns
        self.synthetic = mapping.synthetic
        self.has_arrival = mapping.arrival is not None and not (arrival_optional and cols is not None and mapping.arrival not in cols)
        # rows out of source order (newest first, a sequence column) are sorted before the replay
        self.needs_sort = mapping.order == "reversed" or (mapping.sequence is not None and self.fmt != "sqlite")
        self.clock = (parse_time(mapping.start), mapping.spacing) if self.synthetic else None
        self._check_fields()
        self._check_columns()
        base = Path(path).parent
        self.tables = {name: load_lookup(lk, base, mapping.file) for name, lk in mapping.lookups.items()}

    @classmethod
    def for_payloads(cls, mapping: MappingSpec, schema: LeadSchema, base: str | Path = ".") -> History:
        """A history with no source, mapping JSON objects one at a time (`map_payload`): the daemon's mapped intake.

        The same checks and the same row mapping as a replay, so one mapping file serves both."""
        self = cls.__new__(cls)
        self.path, self.name, self.mapping, self.schema = mapping.file, Path(mapping.file).name, mapping, schema
        self.fmt, self.source = "json", None
        self._start(mapping)
        self.has_arrival, self.synthetic, self.needs_sort, self.clock = False, False, False, None
        self._check_fields()
        self.tables = {name: load_lookup(lk, Path(base), mapping.file) for name, lk in mapping.lookups.items()}
        self._kinds = {f.name: f.type.kind for f in schema.fields}
        self._specs = [FieldSpec(n, n) for n in schema.names] if mapping.by_name else list(mapping.fields.values())
        return self

    def _start(self, mapping: MappingSpec) -> None:
        """What a file history and a payload history both keep: counters, and the mapping's reading options."""
        self.read = 0
        self.rejected = 0
        self.notes: Counter[str] = Counter()
        self._pending: list[str] = []  # the notes of the row being mapped, counted if it is replayed
        self.duplicates: list[str] = []  # the first repeated ids, as `line N: id 'X'`
        self.duplicate_count = 0
        self.outcomes_other: Counter[str] = Counter()  # outcome values matching neither won nor lost
        self.numbers = Numbers(mapping.thousands, mapping.decimal)
        self.unknown = mapping.unknown_words()

    def map_payload(self, raw: dict) -> tuple[dict[str, Any], list[str]]:
        """One JSON object as a lead, with the notes of what the mapping did to it; RowError names the field it cannot map."""
        kinds = self._kinds
        self.notes = Counter()
        self._pending = []  # what the mapping did to this payload
        lead = self._map(1, "payload", raw, self._specs, kinds).lead
        m = self.mapping
        if "id" in kinds and "id" not in m.fields:  # [history] id may be a path too; never a made-up row number
            v = blank(read_path(raw, m.id)) if m.id else None
            if v is None:
                raise RowError(m.id or "id", "no lead id in the payload (the daemon needs one: it makes a retry safe)")
            lead["id"] = str(v)
        return lead, list(dict.fromkeys(self._pending))

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
        if m.sequence:
            wanted.append(("history.sequence", m.sequence))
        for key in ("id", "assignee", "outcome", "value", "closed_at"):
            if getattr(m, key):
                wanted.append((f"history.{key}", getattr(m, key)))
        wanted += [(f"lookups.{lk.name}.on", lk.on) for lk in m.lookups.values()]
        wanted += [(f"fields.{f.name}.column", f.column) for f in m.fields.values() if f.column and f.lookup is None]
        for key, col in wanted:
            if col not in cols:
                raise MappingError(
                    f"{m.file}: {key}: {col!r} is not a column of {self.name}{did_you_mean(col, cols) or ';'} expected one of {', '.join(cols)}"
                )

    def __iter__(self) -> Iterator[HistoryRow | Reject]:
        self.read = 0
        self.rejected = 0
        self.notes.clear()
        m = self.mapping
        kinds = {f.name: f.type.kind for f in self.schema.fields}
        specs = list(m.fields.values())
        if m.by_name:
            specs = [FieldSpec(n, n) for n in self.schema.names]
        self.duplicates, self.duplicate_count = [], 0
        self.outcomes_other.clear()
        seen = SeenIds() if m.id is not None else None  # on disk: memory stays flat
        try:
            yield from self._rows(specs, kinds, seen)
        finally:
            if seen is not None:
                seen.close()

    def _rows(self, specs: list[FieldSpec], kinds: dict[str, str], seen: SeenIds | None) -> Iterator[HistoryRow | Reject]:
        for n, where, raw in self.source:
            self.read += 1
            if isinstance(raw, str):
                self.rejected += 1
                yield Reject(n, where, "", raw, None)
                continue
            pending = self._pending = []
            if self.unknown:
                raw = self._unknown_words(raw)
            try:
                row = self._map(n, where, raw, specs, kinds)
            except RowError as err:
                self.rejected += 1
                yield Reject(n, where, err.field, err.reason, raw, err.errors)
                continue
            for k in pending:
                self.notes[k] += 1
            if seen is not None and not seen.add(row.lead_id):
                self.duplicate_count += 1
                if len(self.duplicates) < 5:
                    self.duplicates.append(f"{where}: id {row.lead_id!r}")
            yield row

    def _unknown_words(self, raw: dict) -> dict:
        """Cells holding an `unknown` word ("Select", "NULL") read as empty, counted per word."""
        words = self.unknown
        out = None
        for k, v in raw.items():
            if isinstance(v, str) and v.strip().casefold() in words:
                if out is None:
                    out = dict(raw)
                out[k] = None
                self._pending.append(f"unknown word {v.strip()!r} read as empty")
        return raw if out is None else out

    def _lookup(self, name: str, raw: dict, cache: dict) -> dict | None:
        if name in cache:
            return cache[name]
        lk = self.mapping.lookups[name]
        key = blank(raw.get(lk.on))
        hit = None
        if key is None:
            self._pending.append(f"lookup {name}: {lk.on} is empty, so no {name} fields (defaults used)")
        else:
            key = str(key)
            if key in lk.values:
                self._pending.append(f"lookup {name}: {lk.on} {key!r} read as {lk.values[key]!r}")
                key = lk.values[key]
            hit = self.tables[name].get(key)
            if hit is None:
                self._pending.append(f"lookup {name}: {lk.on} {key!r} not found (defaults used)")
        cache[name] = hit
        return hit

    def _time(self, col: str, v: Any, fmt, what: str) -> float:
        try:
            return parse_time(v, fmt)
        except DateLike:
            raise RowError(
                col,
                f"{json.dumps(v, default=str)} looks like a date (YYYYMMDD), not seconds since 1970; "
                f'set {what}_format = "%Y%m%d" (or "epoch" if it really is seconds)',
            ) from None
        except ValueError:
            fmts = [fmt] if isinstance(fmt, str) else list(fmt or [])
            expected = " or ".join(fmts) if fmts else "an ISO 8601 date or time, or seconds since 1970"
            raise RowError(col, f"{json.dumps(v, default=str)} is not a time; expected {expected}") from None

    def _arrival(self, n: int, raw: dict) -> float | None:
        """The arrival time; with no arrival column, the sort key the synthetic clock follows."""
        m = self.mapping
        if m.sequence:
            s = blank(raw.get(m.sequence))
            if s is None:
                raise RowError(m.sequence, "no sequence number (empty), so the lead cannot be placed in order")
            try:
                return float(number_text(str(s), self.numbers, m.sequence, m.sequence, "a number"))
            except ValueError:
                raise RowError(m.sequence, f"{json.dumps(s, default=str)} is not a number (the sequence gives the order)") from None
        if self.synthetic:
            return float(-n if m.order == "reversed" else n)
        if not self.has_arrival:
            return None
        a = blank(raw.get(m.arrival))
        if a is None:
            raise RowError(m.arrival, "no arrival time (empty), so the lead cannot be placed in time")
        return self._time(m.arrival, a, m.arrival_format, "arrival")

    def _map(self, n: int, where: str, raw: dict, specs: list[FieldSpec], kinds: dict[str, str]) -> HistoryRow:
        """One row as a HistoryRow; every bad field of the row is reported together (RowError.errors)."""
        m = self.mapping
        errors: list[tuple[str, str]] = []
        arrival = None
        try:
            arrival = self._arrival(n, raw)
        except RowError as err:
            errors.append((err.field, err.reason))
        closed_at = None
        if m.closed_at:
            c = blank(raw.get(m.closed_at))
            if c is not None:
                try:
                    closed_at = self._time(m.closed_at, c, m.closed_at_format, "closed_at")
                    if arrival is not None and closed_at < arrival:
                        raise RowError(m.closed_at, f"closed at {c}, before it arrived ({blank(raw.get(m.arrival))})")
                except RowError as err:
                    errors.append((err.field, err.reason))
        lead: dict[str, Any] = {}
        cache: dict = {}
        for spec in specs:
            try:
                self._field(spec, raw, cache, kinds, lead)
            except RowError as err:
                errors.append((err.field, err.reason))
        lead_id = None
        if m.id:
            lead_id = blank(raw.get(m.id))
        lead_id = str(lead_id) if lead_id is not None else f"row-{n}"
        if "id" in kinds and "id" not in lead:
            lead["id"] = lead_id
        assignee = None
        if m.assignee:
            a = blank(raw.get(m.assignee))
            if a is not None:
                a = str(a)
                a = m.assignee_values.get(a, a)
                assignee = apply_transform(m.assignee_transform, a)
        outcome = None
        if m.outcome:
            o = blank(raw.get(m.outcome))
            if o is not None:
                o = str(o)
                outcome = "won" if o in m.won else "lost" if o in m.lost else None
                if outcome is None and o not in m.open and (o in self.outcomes_other or len(self.outcomes_other) < 50):
                    self.outcomes_other[o] += 1
        value = None
        if m.value:
            val = blank(raw.get(m.value))
            if val is not None:
                try:
                    value = float(number_text(str(val), self.numbers, m.value, m.value, "a number"))
                except RowError as err:
                    errors.append((err.field, err.reason))
                except (TypeError, ValueError):
                    errors.append((m.value, f"{json.dumps(val, default=str)} is not a number"))
        if errors:
            raise RowError.of(errors)
        return HistoryRow(n, where, lead, lead_id, arrival, assignee, outcome, value, closed_at, raw)

    def _field(self, spec: FieldSpec, raw: dict, cache: dict, kinds: dict[str, str], lead: dict) -> None:
        """One lead field from its column (or lookup): value map, transform, thresholds, default, type."""
        notes = self._pending
        v = None
        col = spec.column
        if col is not None:
            ref = spec.lookup
            if ref is not None:
                hit = self._lookup(ref[0], raw, cache)
                v = blank(hit.get(ref[1])) if hit is not None else None
                if v is not None and self.unknown and isinstance(v, str) and v.casefold() in self.unknown:
                    v = None
            else:
                v = blank(read_path(raw, col) if spec.path else raw.get(col))
        if v is not None:
            if spec.values:
                key = str(v) if not isinstance(v, str) else v
                if key in spec.values:
                    new = spec.values[key]
                    notes.append(f"{spec.name}: {key!r} read as {new!r}")
                    v = new
            v = apply_transform(spec.transform, v)
            if spec.thresholds:
                try:
                    x = float(number_text(v, self.numbers, spec.name, col, "a number") if isinstance(v, str) else v)
                except (TypeError, ValueError):
                    raise RowError(spec.name, f"{json.dumps(v, default=str)} from {col} is not a number, so no threshold applies") from None
                for limit, word in spec.thresholds:
                    if x >= limit:
                        v = word
                        break
                else:
                    raise RowError(spec.name, f"{x:g} from {col} is below every threshold (lowest {spec.thresholds[-1][0]:g})")
        if v is None:
            if not spec.has_default:
                return  # left out: the schema's default or `missing` applies, or it refuses the lead
            v = spec.default
            notes.append(f"{spec.name}: empty, default {v!r} used")
        kind = kinds.get(spec.name)
        if kind is not None:
            v = convert(kind, v, spec.name, col or "the default", self.numbers)
        lead[spec.name] = v
