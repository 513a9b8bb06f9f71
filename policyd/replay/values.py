"""Source values as lead values: transforms, times and the schema's types.

CSV gives text for everything; these turn a cell into the number, flag, word or time
the policy expects, or refuse it with a RowError naming the field.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
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


EPOCH_FORMATS = ("epoch", "epoch_ms")  # explicit: the number is seconds (or milliseconds) since 1970
_DATE_LIKE = re.compile(r"(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])")


def date_like(text: str) -> bool:
    """`20170605`: eight digits that read as a date (YYYYMMDD), so not taken for seconds since 1970."""
    return bool(_DATE_LIKE.fullmatch(text))


@lru_cache(maxsize=8192)
def _parse_time_text(text: str, fmt: str | None) -> float:
    if fmt == "epoch":
        return _finite(float(text))
    if fmt == "epoch_ms":
        return _finite(float(text)) / 1000.0
    if fmt:
        dt = datetime.strptime(text, fmt)
    else:
        try:
            x = float(text)
        except ValueError:
            pass
        else:
            if date_like(text):
                raise DateLike(text)
            return _finite(x)
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _finite(x: float) -> float:
    if not math.isfinite(x):
        raise ValueError("not a finite number")
    return x


class DateLike(ValueError):
    """A bare number that reads as a date (YYYYMMDD): refused rather than read as 1970 seconds."""


def parse_time(value: Any, fmt: str | tuple[str, ...] | None = None) -> float:
    """Seconds since the epoch (UTC) from a number, an ISO 8601 date/datetime or `fmt`. ValueError otherwise.

    `fmt` may be several formats, tried in order (exports mix `2017-06-05` and `05/06/2017`).
    A bare number is seconds since 1970, except eight digits reading as a date
    (`20170605`): that raises DateLike, since 1970-08-22 is never what was meant."""
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, (int, float)):
        if isinstance(value, int) and fmt is None and date_like(str(value)):
            raise DateLike(str(value))
        if fmt == "epoch_ms":
            return _finite(float(value)) / 1000.0
        if fmt is None or fmt == "epoch" or (isinstance(fmt, tuple) and "epoch" in fmt):
            return _finite(float(value))
        value = str(value)
    text = str(value)
    if isinstance(fmt, tuple):
        for f in fmt:
            try:
                return _parse_time_text(text, f)
            except ValueError:
                continue
        raise ValueError("no format fits")
    return _parse_time_text(text, fmt)


def blank(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


_INT = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Numbers:
    """How the source writes numbers: `1.234,5` has thousands "." and decimal ","."""

    thousands: str | None = None
    decimal: str = "."

    @property
    def plain(self) -> bool:
        return self.thousands is None and self.decimal == "."

    def read(self, text: str) -> str:
        """The number written the Python way (`1234.5`), or ValueError naming the separators expected."""
        t = text.strip()
        if self.thousands and self.thousands in t:
            d = re.escape(self.decimal)
            if not re.fullmatch(rf"[-+]?\d{{1,3}}({re.escape(self.thousands)}\d{{3}})+({d}\d+)?", t):
                raise ValueError(f"groups of three digits between {self.thousands!r}")
            t = t.replace(self.thousands, "")
        if self.decimal != ".":
            if "." in t and self.thousands != ".":
                raise ValueError(f"{self.decimal!r} as the decimal mark, not '.'")
            t = t.replace(self.decimal, ".")
        return t


PLAIN = Numbers()


def number_text(v: str, numbers: Numbers, field_name: str, origin: str, what: str) -> str:
    """A source number's text in Python form, or RowError saying which separators were expected."""
    if numbers.plain:
        return v
    try:
        return numbers.read(v)
    except ValueError as err:
        raise RowError(field_name, f"{json.dumps(v)} from {origin} is not {what}; expected {err}") from None


def convert(kind: str, v: Any, field_name: str, origin: str, numbers: Numbers = PLAIN) -> Any:
    """A source value as the schema type of its field (CSV gives text); RowError when it cannot be.

    `numbers` says how the source writes thousands and decimals (default: `1234.5`)."""
    if kind in ("int", "number") and isinstance(v, str):
        v = number_text(v, numbers, field_name, origin, "a whole number" if kind == "int" else "a number")
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
