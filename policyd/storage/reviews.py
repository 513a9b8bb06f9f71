"""Reviews that come due: the header's `review every N months` counted from the version's activation.

Why: a policy that says it is reviewed every quarter should say so when a quarter has
passed. The period runs from when the version in force was activated (or from the last
review recorded for it, `policyd review ... --record`), against a clock the caller gives,
so tests inject it. Recorded reviews are rows of the `governance` table (m017) and audit
records.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time

from . import audit
from .db import write_lock
from .governance_table import add_row
from .store import Store, Version

_PERIOD = re.compile(r"every (\d+) (day|week|month|quarter)s?$")


def add_period(start: float, text: str) -> float | None:
    """`start` plus a header period (`every 3 months`), by the calendar in UTC; None when it cannot be read."""
    found = _PERIOD.match(text.strip())
    if found is None:
        return None
    n, unit = int(found.group(1)), found.group(2)
    t = dt.datetime.fromtimestamp(start, dt.UTC)
    if unit in ("day", "week"):
        return (t + dt.timedelta(days=n * (7 if unit == "week" else 1))).timestamp()
    months = n * (3 if unit == "quarter" else 1)
    y, mo = divmod(t.month - 1 + months, 12)
    year, month = t.year + y, mo + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return t.replace(year=year, month=month, day=min(t.day, last)).timestamp()


_PERIODS: dict[str, str | None] = {}  # by bundle hash: a stored version never changes


def period_of(v: Version) -> str | None:
    """The version's `review every ...` period, as written, or None."""
    if v.hash not in _PERIODS:
        try:
            info = v.load().policy.info
        except Exception:  # a door or a bundle that no longer parses: no period to keep
            info = None
        _PERIODS[v.hash] = info.review if info is not None else None
    return _PERIODS[v.hash]


def activated_at(store: Store, v: Version) -> float | None:
    """When `v` last became its policy's active version (the newest activation row naming it)."""
    row = store.db.conn.execute(
        "select at from activations where policy = ? and number = ? order by id desc limit 1", (v.policy, v.number)
    ).fetchone()
    return row[0] if row else None


def last_review(store: Store, v: Version) -> dict | None:
    row = store.db.conn.execute(
        "select by, at, data from governance where kind = 'review' and subject = ? order by at desc, id desc limit 1", (str(v.number),)
    ).fetchone()
    return None if row is None else {"by": row[0], "at": row[1], **json.loads(row[2])}


def review_due(store: Store, v: Version, now: float) -> dict | None:
    """Whether `v`'s review is due at `now`: {period, since, due_at, days_over, last_review}, or None when not (yet)."""
    period = period_of(v)
    since = activated_at(store, v)
    if period is None or since is None:
        return None
    last = last_review(store, v)
    if last is not None and last["at"] > since:
        since = last["at"]
    due_at = add_period(since, period)
    if due_at is None or now < due_at:
        return None
    return {
        "policy": v.policy,
        "version": v.number,
        "ref": store.ref_of(v),
        "period": period,
        "since": since,
        "due_at": due_at,
        "days_over": int((now - due_at) // 86400),
        "last_review": last,
    }


def due_message(d: dict) -> str:
    """The warning in words, as `check` and the dashboard say it."""

    def day(t: float) -> str:
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d")

    basis = f"was last reviewed {day(d['since'])}" if d["last_review"] else f"has been active since {day(d['since'])}"
    over = f", {d['days_over']} day{'s' if d['days_over'] != 1 else ''} ago" if d["days_over"] else ", today"
    return f"review due: {d['ref']} says `review {d['period']}` and {basis}, so it was due {day(d['due_at'])}{over}"


def record_review(store: Store, v: Version, by: str, now: float | None = None, summary: dict | None = None) -> dict:
    """Record that `v` was reviewed (audited); its review period starts again from `now`."""
    now = time.time() if now is None else now
    data = {"policy": v.policy, **({"summary": summary} if summary else {})}
    with write_lock(store.db.conn) as conn:
        add_row(conn, "review", str(v.number), data, by, now, "recorded")
        log = audit.Appender(conn)
        log.append(now, "review", by, {"version": v.number, **data})
        log.finish()
    return {"version": v.number, "by": by, "at": now, **data}
