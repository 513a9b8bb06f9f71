"""Who can take a lead right now: not away and under capacity. Written once.

Every driver asks here (deciding, SLA reassignment, overrides, explanations, the
analysis), so "available" cannot mean two things. `Seating` is the same rule
generated as straight-line code for one team, because reading the state runs once
per decision; `available` is the readable form, and a test holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import compress
from operator import lt

from .hours import off_hours, period_key, zone
from .roster import NEVER, Roster, rank
from .state import State, keep_seats


def open_counts(r: Roster, state: State) -> list[int]:
    """Open leads per rep, in team order."""
    so = state.open
    return list(map(so.get, r.rep_names, r.zeros)) if so else [0] * len(r.rep_names)


def available(r: Roster, opens: list[int], away: frozenset[str]) -> list[int]:
    """Indices of reps under capacity and not away, in team order."""
    avail = list(compress(r.indices, map(lt, opens, r.capacity)))
    if away:
        names = r.rep_names
        avail = [i for i in avail if names[i] not in away]
    return avail


def seat_of(r: Roster, opens: bool = True) -> Callable:
    """`(open counts, available)` from a state's `open` and `away`, generated for this team
    (with `opens=False`: only `available`, for pipelines that never read a count).

    The generated function reads each rep's count once and tests it against the
    rep's capacity inline, and when nobody is at capacity takes everyone at once:
    no per-rep call or zip, which halves the cost of the two functions above.
    """
    n = len(r.rep_names)
    if n == 0:
        return (lambda so, away: ([], [])) if opens else (lambda so, away: [])
    ns = {"Z": tuple(r.zeros), "FREE": tuple(i for i, cap in enumerate(r.capacity) if 0 < cap), "EVERYONE": r.indices}
    ns["NM"] = r.rep_names
    ret = "O, A" if opens else "A"
    lines = [
        "def seat(so, away):",
        "    if not so:",
        "        O = list(Z)" if opens else "        pass",
        "        A = list(FREE)",
        "    else:",
    ]
    lines += ["        g = so.get"] + [f"        o{i} = g({name!r}, 0)" for i, name in enumerate(r.rep_names)]
    if opens:
        lines.append("        O = [" + ", ".join(f"o{i}" for i in range(n)) + "]")
    # nobody at capacity (the usual case): every rep, with no list built rep by rep
    lines += ["        if " + " and ".join(f"o{i} < {cap}" for i, cap in enumerate(r.capacity)) + ":", "            A = list(EVERYONE)"]
    lines.append("        else:")
    lines += ["            A = []", "            ap = A.append"]
    lines += [f"            if o{i} < {cap}: ap({i})" for i, cap in enumerate(r.capacity)]
    lines += ["    if away:", "        A = [i for i in A if NM[i] not in away]", f"    return {ret}"]
    exec("\n".join(lines), ns)  # noqa: S102 - our own generated source
    return ns["seat"]


def seated_of(r: Roster) -> Callable[[State], tuple[tuple[int, ...], tuple[int, ...]]]:
    """`seat_of`'s reading as tuples, kept on the state (`State._seats`) for this team,
    with each rep's rank in least loaded's order: (roster, open counts, available, ranks).

    A state read again, or made by `apply`, `close` or `credit` from one that was read
    (state.py moves the reading by one rep), then costs no lookup by name: generated
    pipelines test `state._seats` inline and call this only when it holds nothing for
    this team. The tuples are shared by every decision on that state and never change.
    """
    n = len(r.rep_names)
    ns = {"R": r, "KEEP": keep_seats, "NM": r.rep_names, "EVERYONE": r.indices, "RANK": rank, "NEVER": NEVER, "CAP": r.capacity}
    ns["Z"] = tuple(r.zeros)
    ns["FREE"] = tuple(i for i, cap in enumerate(r.capacity) if 0 < cap)
    lines = ["def seated(state):", "    so = state.open", "    if not so:", "        O = Z; A = FREE", "    else:"]
    if n:
        lines += ["        g = so.get"] + [f"        o{i} = g({name!r}, 0)" for i, name in enumerate(r.rep_names)]
        lines.append("        O = (" + "".join(f"o{i}, " for i in range(n)) + ")")
        lines += ["        if " + " and ".join(f"o{i} < {cap}" for i, cap in enumerate(r.capacity)) + ":", "            A = EVERYONE"]
        lines += ["        else:", "            A = []", "            ap = A.append"]
        lines += [f"            if o{i} < {cap}: ap({i})" for i, cap in enumerate(r.capacity)]
        lines.append("            A = tuple(A)")
    else:
        lines.append("        O = A = ()")
    lines += ["    away = state.away", "    if away:", "        A = tuple([i for i in A if NM[i] not in away])"]
    # each rep's place in least loaded's order (roster.rank), moved with its count from now on
    lines += ["    lg = state.last.get", "    K = tuple([RANK(CAP[i], O[i], lg(NM[i], NEVER), i) for i in EVERYONE])"]
    lines += ["    KEEP(state, (R, O, A, K))", "    return O, A"]
    exec("\n".join(lines), ns)  # noqa: S102 - our own generated source
    return ns["seated"]


AWAY = "away"
FULL = "full"
CAPPED = "capped"
OFF = "off"


def blocker(r: Roster, state: State, i: int, at: float | None = None) -> str | None:
    """Why rep `i` cannot take a lead at `at`: AWAY, FULL (at capacity), CAPPED (a cap per
    period reached), OFF (outside working hours or a holiday), or None when it can."""
    if r.rep_names[i] in state.away:
        return AWAY
    if state.open.get(r.rep_names[i], 0) >= r.capacity[i]:
        return FULL
    if at is not None and r.timed:
        if cap_reached(r, state, i, at) is not None:
            return CAPPED
        if off_hours(r.hours[i], r.holidays, at) is not None:
            return OFF
    return None


# ---------------------------------------------------------------- caps and working hours
def period_keys(r: Roster, at: float) -> tuple[str, ...]:
    """The current period of each cap unit the team uses, at `at` (in the team's zone)."""
    tz = zone(r.zone_name)
    return tuple(period_key(u, at, tz) for u in r.cap_units)


def counted(r: Roster, at: float | None) -> tuple:
    """The cap counters one assignment at `at` moves (`state.apply` takes them): one per unit."""
    if at is None or not r.cap_units:
        return ()
    return tuple(("count", key, None) for key in period_keys(r, at))


def cap_hit(r: Roster, state: State, i: int, at: float, keys: tuple[str, ...] | None = None) -> tuple[int, str, int] | None:
    """(limit, unit, leads counted) of the first cap rep `i` has used in the current period, or None."""
    caps = r.caps[i]
    if not caps:
        return None
    keys = period_keys(r, at) if keys is None else keys
    name = r.rep_names[i]
    for unit, limit in caps:
        n = state.counts.get(keys[r.cap_units.index(unit)], {}).get(name, 0)
        if n >= limit:
            return limit, unit, n
    return None


def cap_reached(r: Roster, state: State, i: int, at: float, keys: tuple[str, ...] | None = None) -> str | None:
    """ "cap 60 per month reached: 60" when rep `i` has used a cap in the current period."""
    hit = cap_hit(r, state, i, at, keys)
    return None if hit is None else f"cap {hit[0]} per {hit[1]} reached: {hit[2]}"


def gate(r: Roster, state: State, at: float | None, cands: list[int]) -> list[int]:
    """The candidates within their caps and working hours at `at` (None: no time, no time rule).

    Generated pipelines call it only for teams with caps or hours: others never pay for it.
    """
    if at is None:
        return cands
    keys = period_keys(r, at) if r.cap_units else ()
    hours, holidays = r.hours, r.holidays
    return [i for i in cands if cap_reached(r, state, i, at, keys) is None and off_hours(hours[i], holidays, at) is None]


def reason(r: Roster, state: State, i: int, at: float | None = None) -> str | None:
    """Why rep `i` is not available, in the words explanations print; None when available."""
    why = blocker(r, state, i, at)
    if why is None:
        return None
    if why == AWAY:
        return "away"
    if why == FULL:
        return f"at capacity ({state.open.get(r.rep_names[i], 0)} open of {r.capacity[i]})"
    if why == CAPPED:
        return cap_reached(r, state, i, at)
    return off_hours(r.hours[i], r.holidays, at)


def why_unavailable(r: Roster, state: State, rep: str, at: float | None = None) -> str | None:
    """None when `rep` can take a lead; else the reason in words."""
    i = r.rep_index.get(rep)
    if i is None:
        return f"{rep} is not on the team"
    why = blocker(r, state, i, at)
    if why == AWAY:
        return f"{rep} is away"
    if why == FULL:
        return f"{rep} is at capacity ({state.open.get(rep, 0)}/{r.capacity[i]})"
    if why is not None:
        return f"{rep}: {reason(r, state, i, at)}"
    return None
