"""The CLI's one clock: "now" for every command that acts at a time, so a test or a rehearsal can set it.

`POLICYD_NOW` (an ISO 8601 time with a zone, or a date read as midnight UTC) stands
for the real clock in every command (scheduling an activation, `check --as-of`'s
default, a decision's `--at` default, token expiry, the times stored with a
publication, an activation or an approval).

The daemon's clock (`daemon_clock`) is the real one, unless a rehearsal on a staging
database (or a test of real `policyd serve` processes) sets `POLICYD_NOW` or
`POLICYD_CLOCK_SPEED`: it then starts at $POLICYD_NOW and runs $POLICYD_CLOCK_SPEED
times real time from the real instant $POLICYD_CLOCK_FROM, so SLA deadlines come due in
seconds, and daemons given the same three values keep one time between them.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .common import PolicydError

ENV = "POLICYD_NOW"
SPEED_ENV = "POLICYD_CLOCK_SPEED"
FROM_ENV = "POLICYD_CLOCK_FROM"


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


def parse_now(text: str, name: str = ENV) -> float:
    """$POLICYD_NOW's value (or the variable `name`'s) as epoch seconds; PolicydError naming the variable and the form expected."""
    t = instant(text)
    if t == NOT_A_TIME:
        raise PolicydError(
            f"{name}={text!r} is not a time: expected ISO 8601 with a zone, such as 2026-12-07T09:00:00Z, or a date such as 2026-12-07"
        )
    if t == NO_ZONE:
        raise PolicydError(f"{name}={text!r} has no zone: add Z or an offset such as +01:00")
    return t


@dataclass(frozen=True)
class Moving:
    """A clock that reads `start` at the real instant `origin` and runs `speed` times real time (a rehearsal's daemon clock).

    Read from the real clock each time, never counted up: daemons started at different
    moments with the same three values agree, and a restarted one rejoins them."""

    start: float
    origin: float
    speed: float
    real: Callable[[], float] = time.time

    def __call__(self) -> float:
        return self.start + (self.real() - self.origin) * self.speed

    def describe(self) -> str:
        """The clock in words, for the daemon's startup line."""
        at = dt.datetime.fromtimestamp(self(), dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return f"rehearsal clock ({ENV}, {SPEED_ENV}, {FROM_ENV}): it is {at} and the clock runs {self.speed:g}x real time"


def parse_speed(text: str) -> float:
    """$POLICYD_CLOCK_SPEED's value: a number more than 0; PolicydError naming the variable and the form expected."""
    try:
        speed = float(text)
    except ValueError:
        speed = math.nan
    if not (math.isfinite(speed) and speed > 0):
        raise PolicydError(
            f"{SPEED_ENV}={text!r} is not a speed: expected a number more than 0, such as 600 (the daemon's clock runs 600 times real time)"
        )
    return speed


def daemon_clock(env: Mapping[str, str] = os.environ, real: Callable[[], float] = time.time) -> Moving | None:
    """The rehearsal clock `policyd serve` runs on when $POLICYD_NOW or $POLICYD_CLOCK_SPEED is set, else None (the real clock).

    It reads $POLICYD_NOW (default: the real now) at the real instant $POLICYD_CLOCK_FROM
    (default: now, as the daemon starts) and runs $POLICYD_CLOCK_SPEED (default 1) times
    real time. A bad value is a PolicydError naming the variable and the form expected."""
    given = {k: env.get(k, "").strip() for k in (ENV, SPEED_ENV, FROM_ENV)}
    if not given[ENV] and not given[SPEED_ENV]:
        if given[FROM_ENV]:
            raise PolicydError(f"{FROM_ENV} is set but neither {ENV} nor {SPEED_ENV}: set {ENV}, and {SPEED_ENV} for a faster clock")
        return None
    origin = parse_now(given[FROM_ENV], FROM_ENV) if given[FROM_ENV] else real()
    start = parse_now(given[ENV]) if given[ENV] else origin
    speed = parse_speed(given[SPEED_ENV]) if given[SPEED_ENV] else 1.0
    return Moving(start, origin, speed, real)
