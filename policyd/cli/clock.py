"""The CLI's one clock: "now" for every command that acts at a time, so a test or a rehearsal can set it.

`POLICYD_NOW` (an ISO 8601 time with a zone, or a date read as midnight UTC) stands
for the real clock in every command (scheduling an activation, `check --as-of`'s
default, a decision's `--at` default, token expiry, the times stored with a
publication, an activation or an approval). The daemon keeps its own clock
(`policyd serve` reads the real one, tests inject theirs).
"""

from __future__ import annotations

import datetime as dt
import os
import time

from .common import PolicydError

ENV = "POLICYD_NOW"


def now() -> float:
    """The time a CLI command acts at (epoch seconds): $POLICYD_NOW when set, else the real clock."""
    text = os.environ.get(ENV, "")
    if not text.strip():
        return time.time()
    return parse_now(text)


NOT_A_TIME, NO_ZONE = "not a time", "no zone"


def instant(text: str) -> float | str:
    """An ISO 8601 time with a zone, or a date (midnight UTC), as epoch seconds; else which
    rule it breaks (NOT_A_TIME, NO_ZONE), for the caller to word. Every time the CLI reads
    from its user (`--at`, `--as-of`, $POLICYD_NOW) is read by this one rule."""
    raw = text.strip()
    try:
        d = dt.datetime.fromisoformat(raw)
    except ValueError:
        return NOT_A_TIME
    if d.tzinfo is None:
        if len(raw) > 10:
            return NO_ZONE
        d = d.replace(tzinfo=dt.UTC)
    return d.timestamp()


def parse_now(text: str) -> float:
    """$POLICYD_NOW's value as epoch seconds; PolicydError naming the variable and the form expected."""
    t = instant(text)
    if t == NOT_A_TIME:
        raise PolicydError(
            f"{ENV}={text!r} is not a time: expected ISO 8601 with a zone, such as 2026-12-07T09:00:00Z, or a date such as 2026-12-07"
        )
    if t == NO_ZONE:
        raise PolicydError(f"{ENV}={text!r} has no zone: add Z or an offset such as +01:00")
    return t
