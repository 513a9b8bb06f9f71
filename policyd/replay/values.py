"""Source values as lead values: transforms, times and the schema's types.

CSV gives text for everything; these turn a cell into the number, flag, word or time
the policy expects, or refuse it with a RowError naming the field.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .records import RowError


def identifier(text: str) -> str:
    """`Moses Frase` -> `moses_frase`: a name the policy language accepts."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def apply_transform(kind: str | None, v: Any) -> Any:
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


def blank(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


_INT = re.compile(r"-?\d+")


def convert(kind: str, v: Any, field_name: str, origin: str) -> Any:
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
