"""Reading options of a mapping file: [source] (delimiter, encoding, numbers, unknown words),
the arrival order ([history] order, sequence, spacing, start), time formats, did-you-mean.

Split from mapping.py, which builds the MappingSpec from these.
"""

from __future__ import annotations

import json
from typing import Any

from .records import MappingError

ORDERS = ("arrival", "row", "reversed")  # by the arrival column; as the rows come; newest first
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "|": "|"}
SYNTHETIC_START = "2000-01-01"  # where the synthetic clock starts when the history has no arrival time


def did_you_mean(word: str, choices) -> str:
    """`; did you mean X?` for the closest choice, or nothing (difflib, case-insensitive)."""
    import difflib

    by_fold = {str(c).casefold(): str(c) for c in choices}
    close = difflib.get_close_matches(str(word).casefold(), list(by_fold), n=1, cutoff=0.6)
    return f"; did you mean {by_fold[close[0]]!r}?" if close else ""


def _err(file: str, key: str, expected: str, got: Any = None, *, show: bool = True) -> MappingError:
    tail = f", got {json.dumps(got, default=str)}" if show else ""
    return MappingError(f"{file}: {key}: expected {expected}{tail}")


def _text(file: str, key: str, value: Any, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _err(file, key, "a text (a column name)", value)
    return value


def _formats(file: str, key: str, value: Any) -> str | tuple[str, ...] | None:
    """A time format, or a list of them tried in order; each checked on a sample date."""
    if value is None:
        return None
    fmts = [value] if isinstance(value, str) else value
    if not isinstance(fmts, list) or not fmts or not all(isinstance(v, str) and v for v in fmts):
        raise _err(file, key, 'a strptime format or a list of them (e.g. ["%Y-%m-%d", "%d/%m/%Y"]), or "epoch" / "epoch_ms"', value)
    from datetime import datetime

    for f in fmts:
        if f in ("epoch", "epoch_ms"):
            continue
        if "%" not in f:
            raise _err(file, key, 'a strptime format with % codes (e.g. "%d/%m/%Y"), or "epoch" / "epoch_ms"', f)
        try:
            datetime.strptime(datetime(2017, 6, 5, 13, 4, 5).strftime(f), f)
        except ValueError as err:
            raise _err(file, key, f"a format strptime can read back ({err})", f) from None
    return value if isinstance(value, str) else tuple(fmts)


def _char(file: str, key: str, value: Any, allowed: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise _err(file, key, "one of " + " ".join(repr(c) for c in allowed), value)
    return value


def _source(file: str, src: dict) -> dict[str, Any]:
    """The reading options of [source]: delimiter, encoding, number separators, unknown words."""
    import codecs

    out: dict[str, Any] = {}
    d = src.get("delimiter")
    if d is not None:
        if d == "auto":
            d = None
        elif d not in DELIMITERS:
            raise _err(file, "source.delimiter", 'one of "," ";" "\\t" (or "tab") "|", or "auto" to sniff it', d)
        else:
            d = DELIMITERS[d]
    out["delimiter"] = d
    enc = src.get("encoding", "utf-8")
    try:
        if not isinstance(enc, str):
            raise LookupError
        codecs.lookup(enc)
    except LookupError:
        raise _err(file, "source.encoding", 'an encoding Python knows (e.g. "utf-8", "latin-1", "cp1252")', enc) from None
    out["encoding"] = enc
    out["thousands"] = _char(file, "source.thousands", src.get("thousands"), ",. '")
    out["decimal"] = _char(file, "source.decimal", src.get("decimal"), ".,") or "."
    if out["thousands"] == out["decimal"]:
        raise MappingError(f"{file}: source.thousands: {out['thousands']!r} is also the decimal mark; expected two different marks")
    out["unknown"] = _words(file, "source.unknown", src.get("unknown"))
    return out


def _order(file: str, hist: dict) -> dict[str, Any]:
    """How arrival is known: an arrival column, or the row order / a sequence column on a synthetic clock."""
    out: dict[str, Any] = {}
    order = hist.get("order")
    if order is not None and order not in ORDERS:
        raise _err(file, "history.order", "one of " + ", ".join(ORDERS), order)
    seq = _text(file, "history.sequence", hist.get("sequence"))
    has_arrival = "arrival" in hist
    if seq and order not in (None, "arrival"):
        raise MappingError(f"{file}: history.sequence: the sequence column gives the order; expected no history.order beside it")
    if seq and has_arrival:
        raise MappingError(f"{file}: history.sequence: expected either history.arrival (a time) or history.sequence (an order), not both")
    if order in ("row", "reversed") and has_arrival:
        raise MappingError(
            f"{file}: history.order: {order!r} replaces the arrival column; expected no history.arrival with it (use --sort for an arrival column out of order)"
        )
    if not has_arrival and not seq and order in (None, "arrival"):
        raise MappingError(
            f"{file}: history.arrival: missing; expected the name of the column with each lead's arrival time, "
            'or order = "row" (the rows are in arrival order), order = "reversed" (newest first) or sequence = COLUMN'
        )
    out["order"] = order or "arrival"
    out["sequence"] = seq
    spacing = hist.get("spacing", 3600)
    if isinstance(spacing, bool) or not isinstance(spacing, (int, float)) or not spacing > 0:
        raise _err(file, "history.spacing", "a number of seconds above 0 between two synthetic arrivals (default 3600)", spacing)
    out["spacing"] = float(spacing)
    start = hist.get("start", SYNTHETIC_START)
    try:
        from datetime import date

        date.fromisoformat(str(start))
    except ValueError:
        raise _err(file, "history.start", "an ISO date where the synthetic clock starts (e.g. 2024-01-01)", start) from None
    out["start"] = str(start)
    if not has_arrival and hist.get("closed_at") is not None:
        raise MappingError(
            f"{file}: history.closed_at: a recorded close time cannot be placed on the synthetic clock (there is no arrival column); "
            "expected no closed_at: --hold DAYS closes leads instead"
        )
    return out


def _words(file: str, key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(file, key, "a list of texts", value)
    return tuple(value)
