"""'Why not me?' in plain words, addressed to the rep: the first line a rep reads.

The technical answer (line, step, value) stays after it; both come from the same
trace walk (explain.py), so the plain words can never say something the trace
does not. Nothing here decides anything.
"""

from __future__ import annotations

from ..engine.availability import AWAY, CAPPED, FULL, blocker, cap_hit, reason
from ..lang import model as m
from .words import RepView, _atoms, fmt

_NEEDS = {">=": "{v}", ">": "more than {v}", "<=": "at most {v}", "<": "below {v}", "==": "exactly {v}", "!=": "other than {v}"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def whose(stage_kind: str, stage_name: str) -> str:
    """Who sets the bar: a route serves one tier; an exception is named."""
    return "this tier" if stage_kind == "route" else f"exception {stage_name}"


def unavailable(view: RepView, i: int) -> str:
    """Why the rep was not among the available reps."""
    c, d = view.c, view.d
    why = blocker(c, d.state, i, d.at)
    if why == AWAY:
        return "you were away"
    if why == FULL:
        return f"you were at capacity: {view.open(i)} of {c.capacity[i]} open leads"
    if why == CAPPED:
        limit, unit, n = cap_hit(c, d.state, i, d.at)
        return f"you had reached your cap: {n} of {limit} leads {'today' if unit == 'day' else 'this ' + unit}"
    if why is None:
        return "you were not available"
    return f"you were off: {reason(c, d.state, i, d.at)}"


def _atom(view: RepView, a: m.Cond, i: int, who: str) -> str:
    c, lead = view.c, view.d.lead
    if isinstance(a, m.Compare):
        ll, lv, lrep = view._operand(a.left, i)
        rl, rv, rrep = view._operand(a.right, i)
        if rrep and not lrep:  # `2 <= skill(x)` reads as `skill(x) >= 2`
            ll, lv, rl, rv, op = rl, rv, ll, lv, _FLIP[a.op]
        elif lrep and not rrep:
            op = a.op
        else:
            return f"{who} needs {ll} {a.op} {rl}; yours are {lv} and {rv}"
        need = _NEEDS[op].format(v=rv)
        if ll.startswith("skill(") and ll.endswith(")"):
            return f"{who} needs {ll[6:-1]} skill {need}; yours is {lv}"
        return f"{who} needs {ll} {need}; yours is {lv}"
    if isinstance(a, m.Flag) and not (a.name in c.fields and a.name not in c.levels):
        return f"{who} needs a {a.name} rep; you are {c.levels[i]}"
    if isinstance(a, m.Is) and a.name == "level" and "level" not in c.fields:
        return f"{who} needs a {' or '.join(a.words)} rep; you are {c.levels[i]}"
    if isinstance(a, m.Speaks):
        lang = lead.get(a.name) if (not a.literal and a.name in c.fields) else a.name
        spoken = ", ".join(sorted(c.speaks[i])) or "no language listed"
        return f"{who} needs a rep who speaks {fmt(lang)}; you speak {spoken}"
    if isinstance(a, m.Is) and a.name == "rep" and "rep" not in c.fields:
        return f"{who} is for {' or '.join(a.words)} only"
    return f"{who} does not take you: {view._atom(a, i)}"


def failed(view: RepView, cond: m.Cond, i: int, who: str) -> str:
    """The terms of `cond` the rep fails, each as 'X needs ...; yours is ...'."""
    L = view.d.lead
    atoms = _atoms(cond)
    bad = [a for a in atoms if not view.c.rep_test(a)(L, view.O, view.Q, i)]
    shown = bad if (bad and not isinstance(cond, m.Not)) else atoms
    return "; ".join(dict.fromkeys(_atom(view, a, i, who) for a in shown))


def preferred(view: RepView, opt: m.Cond, label: str, i: int, who: str) -> str:
    """A `prefer` step kept only the reps matching an option the rep does not."""
    return f"{who} prefers `{label}` reps when some are free, and some were: {view.describe(opt, i)}"


def passed_over(chosen: str | None, text: str, reason: str) -> str:
    """The rep was a candidate to the end; the pick chose someone else."""
    return f"you were a candidate to the end, but `{text}` chose {chosen or 'another rep'}: {reason}"
