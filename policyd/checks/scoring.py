"""Analyses of the score: totals in no tier or in two, unreachable tiers, dead score lines (A001-A005).

Grouped because each reads the score table: which line every representative lead
fires and which totals are reachable.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..lang.diagnostics import ERROR, WARNING, Diagnostic
from .findings import _are, _diag, _plural, _scores, _show, _src
from .leadspace import LeadSpace


# ---------------------------------------------------------------- tiers
def tier_gaps(a: LeadSpace) -> Iterator[Diagnostic]:
    """A001: reachable totals in no tier (those leads are queued `unassigned`)."""
    if not a.policy.tiers:
        return
    gaps = [t for t in a.reachable if a.tier_of(t) is None]
    if not gaps:
        return
    first = gaps[0]
    lead = a.find([a.reachable[first]], lambda d: d.total == first and d.tier is None and d.queue == "unassigned")
    reach = _scores(a.reachable)
    where = f"this lead scores {first} and is queued `unassigned`: {_show(lead)}" if lead else f"a lead can score {first}"
    yield _diag(
        "A001",
        ERROR,
        a.policy.tiers[0].span,
        f"{_plural(gaps)} can be reached but {_are(gaps)} in no tier",
        f"reachable totals: {reach}; {where}",
        lead,
    )


def tier_overlaps(a: LeadSpace) -> Iterator[Diagnostic]:
    """A002: reachable totals in two tiers (the first tier in file order takes them)."""
    tiers = a.policy.tiers
    for j, tj in enumerate(tiers):
        for ti in tiers[:j]:
            both = [t for t in a.reachable if ti.low <= t <= ti.high and tj.low <= t <= tj.high]
            if not both:
                continue
            t0 = both[0]
            first = tiers[a.tier_of(t0)].name
            lead = a.find([a.reachable[t0]], lambda d, t0=t0, first=first: d.total == t0 and d.tier == first)
            yield _diag(
                "A002",
                WARNING,
                tj.span,
                f"{_plural(both)} {_are(both)} in both {ti.name} and {tj.name}",
                f"the first tier in file order wins, so such leads go to {first}"
                + (f"; for example this lead scores {t0}: {_show(lead)}" if lead else ""),
                lead,
            )


def tier_unreachable(a: LeadSpace) -> Iterator[Diagnostic]:
    """A003: a tier no reachable total selects."""
    if not a.score_table["exact"]:
        return
    reach = _scores(a.reachable)
    for ti, t in enumerate(a.policy.tiers):
        if t.low > t.high:
            continue
        inside = [x for x in a.reachable if t.low <= x <= t.high]
        if any(a.tier_of(x) == ti for x in inside):
            continue
        if not inside:
            msg = f"tier `{t.name}` ({t.low}..{t.high}) can never be reached: leads score {reach}"
        else:
            msg = f"tier `{t.name}` is never chosen: its {_plural(inside)} {_are(inside)} taken by earlier tiers"
        yield _diag("A003", WARNING, t.span, msg, "change its range or remove it (and its route)")


# ---------------------------------------------------------------- score lines
def score_dead_lines(a: LeadSpace) -> Iterator[Diagnostic]:
    """A004: a `when` line that never fires: an earlier line catches every lead it matches, or it never holds."""
    if not a.score_table["exact"]:
        return
    table = a.score_table
    for b, s in enumerate(a.policy.scores):
        for li, line in enumerate(s.lines):
            if line.cond is None or (b, li) in table["fired"]:
                continue
            text = _src(a.policy, line.span) or f"line {li + 1}"
            if (b, li) not in table["holds"]:
                yield _diag("A004", WARNING, line.span, f"`{text}` can never fire: its condition never holds", "remove the line")
                continue
            assign, fired = table["holds"][(b, li)]
            lines = sorted(table["earlier"][(b, li)])
            by = " and ".join(f"line {s.lines[i].span.line} (`{_src(a.policy, s.lines[i].span)}`)" for i in lines)
            fn = a.lead_fn(line.cond)
            lead = a.find([assign], lambda d, b=b, li=li, fn=fn: d.score_lines[b] < li and fn(d.lead))
            hint = "remove it or move it above the line that covers it"
            if lead:
                hint += f"; for example this lead matches it but scores by line {s.lines[fired].span.line}: {_show(lead)}"
            yield _diag(
                "A004",
                WARNING,
                line.span,
                f"`{text}` can never fire: {by} already {'matches' if len(lines) == 1 else 'match'} every lead it would match",
                hint,
                lead,
            )


def score_without_otherwise(a: LeadSpace) -> Iterator[Diagnostic]:
    """A005: a score block with no `otherwise` line."""
    for b, s in enumerate(a.policy.scores):
        if any(line.cond is None for line in s.lines):
            continue
        partial = a.score_table["fired"].get((b, -1))
        lead = a.find([partial], lambda d, b=b: d.score_lines[b] == -1) if partial is not None else None
        if lead:
            hint = f"add `N otherwise`; this lead matches no line and scores 0 here: {_show(lead)}"
        else:
            hint = "add `N otherwise` so that a lead no line matches does not score 0 silently"
        yield _diag("A005", WARNING, s.span, f"score `{s.name}` has no `otherwise` line", hint, lead)
