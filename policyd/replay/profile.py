"""Profile an export before mapping it: each column's type, empty share and distinct values.

`profile` reads the raw rows (the same Source a replay reads: delimiter sniffed, the
encoding given) and keeps a few counters per column, capped, so a big export costs
bounded memory. `policyd map init` prints it and drafts a mapping from it (draft.py).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sources import Source, detect_format
from .values import date_like

DISTINCT_CAP = 200  # distinct values tracked per column; past it the column counts as free text
PLACEHOLDERS = ("select", "null", "none", "n/a", "na", "nan", "-", "--", "?", "unknown", "not set", "(blank)", "#n/a")
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d", "%d-%m-%Y")
_NUM = re.compile(r"[-+]?\d+(\.\d+)?")
_GROUPED = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")


@dataclass
class Column:
    """What one column holds, counted over the rows read."""

    name: str
    filled: int = 0
    empty: int = 0
    values: Counter = field(default_factory=Counter)
    capped: bool = False
    kinds: Counter = field(default_factory=Counter)  # int, number, grouped, bool, date FORMAT, iso, text
    placeholders: Counter = field(default_factory=Counter)

    @property
    def empty_share(self) -> float:
        total = self.filled + self.empty
        return self.empty / total if total else 0.0

    @property
    def kind(self) -> str:
        """The type most filled cells fit: int, number, bool, date, text."""
        if not self.kinds:
            return "empty"
        k, n = self.kinds.most_common(1)[0]
        if n < 0.95 * sum(self.kinds.values()):
            if set(self.kinds) <= {"int", "number", "grouped"}:
                return "number"
            return "text"
        return "date" if k.startswith("date") or k == "iso" else "number" if k == "grouped" else k

    @property
    def date_formats(self) -> list[str]:
        return [k[5:] for k, _ in self.kinds.most_common() if k.startswith("date ")]

    @property
    def distinct(self) -> int | None:
        return None if self.capped else len(self.values)

    def to_data(self, top: int = 8) -> dict[str, Any]:
        return {
            "column": self.name,
            "type": self.kind,
            "filled": self.filled,
            "empty_share": round(self.empty_share, 4),
            "distinct": self.distinct,
            "top": [{"value": v, "count": c} for v, c in self.values.most_common(top)],
            "placeholders": dict(self.placeholders),
            "date_formats": self.date_formats,
        }


def _kind(v: str) -> str:
    if _NUM.fullmatch(v):
        if date_like(v):
            return "date %Y%m%d"
        return "int" if "." not in v else "number"
    if _GROUPED.fullmatch(v):
        return "grouped"
    if v.lower() in ("true", "false", "yes", "no"):
        return "bool"
    from datetime import datetime

    try:
        datetime.fromisoformat(v)
        return "iso"
    except ValueError:
        pass
    for f in DATE_FORMATS:
        try:
            datetime.strptime(v, f)
            return f"date {f}"
        except ValueError:
            continue
    return "text"


@dataclass
class Profile:
    file: str
    format: str
    delimiter: str
    rows: int
    bad_rows: int
    columns: list[Column]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def placeholders(self) -> list[str]:
        """Placeholder words seen in any column ("Select", "NULL"): candidates for [source] unknown."""
        seen: Counter = Counter()
        for c in self.columns:
            seen.update(c.placeholders)
        return [w for w, _ in seen.most_common()]

    def to_data(self) -> dict[str, Any]:
        return {
            "file": Path(self.file).name,
            "format": self.format,
            "delimiter": self.delimiter,
            "rows": self.rows,
            "unreadable_rows": self.bad_rows,
            "columns": [c.to_data() for c in self.columns],
        }


def profile(
    path: str | Path, *, encoding: str = "utf-8", delimiter: str | None = None, table: str | None = None, limit: int | None = None
) -> Profile:
    """Profile the first `limit` rows (all by default) of a CSV, JSON Lines or SQLite source."""
    fmt = detect_format(path)
    src = Source(path, fmt, table, None, delimiter=delimiter, encoding=encoding)
    cols: dict[str, Column] = {c: Column(c) for c in (src.columns or [])}
    rows = bad = 0
    for _, _, raw in src:
        if limit is not None and rows >= limit:
            break
        rows += 1
        if isinstance(raw, str):
            bad += 1
            continue
        for k, v in raw.items():
            c = cols.get(k)
            if c is None:
                c = cols[k] = Column(k)
            text = "" if v is None else str(v).strip()
            if not text:
                c.empty += 1
                continue
            if text.casefold() in PLACEHOLDERS:
                c.placeholders[text] += 1
                c.empty += 1
                continue
            c.filled += 1
            if not c.capped:
                if text in c.values or len(c.values) < DISTINCT_CAP:
                    c.values[text] += 1
                else:
                    c.capped = True
            if sum(c.kinds.values()) < 2000:  # types are judged on the first 2,000 filled cells
                c.kinds[_kind(text)] += 1
    return Profile(str(path), fmt, src.delimiter, rows, bad, list(cols.values()))
