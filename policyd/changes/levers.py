"""The semantic diff of caps, quotas, working hours, holidays, level weights and groups, rep by rep.

A cap or hours line changes what every rep it covers may take, so a change is named
for the line (`cap new 40 per week -> 30 per week`) and, where the effective figure
of a rep changes, for the rep too (an own cap or hours overriding the default).
"""

from __future__ import annotations

from ..lang import model as m


def _cap(c: m.Cap) -> str:
    return f"{c.limit} per {c.per}"


def _caps(caps) -> str:
    return ", ".join(_cap(c) for c in caps) or "none"


def _quota(q: m.Quota | None) -> str:
    return "none" if q is None else f"{q.target}{' deals' if q.deals else ''} per {q.per}"


def lever_changes(a: m.Team, b: m.Team) -> list[tuple[str, m.Span]]:
    """(text, span) for every change of caps, hours, holidays and level weights from team a to b."""
    out: list[tuple[str, m.Span]] = []
    old = {(c.scope, c.per): c for c in a.caps}
    new = {(c.scope, c.per): c for c in b.caps}
    for key, c in new.items():
        scope = "default" if c.scope == "default" else f"level {c.scope}"
        if key not in old:
            out.append((f"cap for {scope} added: {_cap(c)}", c.span))
        elif old[key].limit != c.limit:
            out.append((f"cap for {scope} {_cap(old[key])} -> {_cap(c)}", c.span))
    for key, c in old.items():
        if key not in new:
            scope = "default" if c.scope == "default" else f"level {c.scope}"
            out.append((f"cap for {scope} removed (was {_cap(c)})", b.span))
    if a.hours != b.hours:
        before = a.hours.text if a.hours else "none (any time)"
        after = b.hours.text if b.hours else "none (any time)"
        out.append((f"default working hours {before} -> {after}", b.hours.span if b.hours else b.span))
    if set(a.holidays) != set(b.holidays):
        added = sorted(set(b.holidays) - set(a.holidays))
        gone = sorted(set(a.holidays) - set(b.holidays))
        parts = ([f"added {', '.join(added)}"] if added else []) + ([f"removed {', '.join(gone)}"] if gone else [])
        out.append((f"holidays {'; '.join(parts)}", b.span))
    qa = {q.scope: q for q in a.quotas}
    for q in b.quotas:
        scope = "default" if q.scope == "default" else f"level {q.scope}"
        if q.scope not in qa:
            out.append((f"quota for {scope} added: {_quota(q)}", q.span))
        elif _quota(qa[q.scope]) != _quota(q):
            out.append((f"quota for {scope} {_quota(qa[q.scope])} -> {_quota(q)}", q.span))
    for scope, q in qa.items():
        if scope not in {x.scope for x in b.quotas}:
            out.append((f"quota for {'default' if scope == 'default' else f'level {scope}'} removed (was {_quota(q)})", b.span))
    lw_a, lw_b = dict(a.level_weights), dict(b.level_weights)
    for level in sorted(set(lw_a) | set(lw_b)):
        if lw_a.get(level, 1.0) != lw_b.get(level, 1.0):
            out.append((f"weight of level {level} {lw_a.get(level, 1.0):g} -> {lw_b.get(level, 1.0):g}", b.span))
    out.extend(group_changes(a, b))
    olds = {r.name: r for r in a.reps}
    for r in b.reps:
        x = olds.get(r.name)
        if x is None:
            continue
        ca, cb = a.caps_of(x), b.caps_of(r)
        if [(c.per, c.limit) for c in ca] != [(c.per, c.limit) for c in cb]:
            out.append((f"{r.name} caps {_caps(ca)} -> {_caps(cb)}", r.span))
        if (x.quota is not None or r.quota is not None) and _quota(a.quota_of(x)) != _quota(b.quota_of(r)):
            out.append((f"{r.name} quota {_quota(a.quota_of(x))} -> {_quota(b.quota_of(r))}", r.span))
        ha, hb = a.hours_of(x), b.hours_of(r)
        if (ha.text if ha else None) != (hb.text if hb else None) and (x.hours is not None or r.hours is not None):
            out.append((f"{r.name} working hours {ha.text if ha else 'any time'} -> {hb.text if hb else 'any time'}", r.span))
    return out


def lever_notes(a: m.Team | None, b: m.Team | None) -> list[str]:
    """What the impact (from the rules alone, at a fresh period with everyone in) cannot show."""
    if a is None or b is None:
        return []
    out = []
    if group_changes(a, b):
        out.append(
            "groups changed: a group decides which share of a `pick shares` a rep's leads count toward, over a period, not where a kind of lead goes; replay the change to see the realized shares"
        )
    if len(lever_changes(a, b)) > len(group_changes(a, b)):
        out.append(
            "caps or working hours changed: they decide who is available at a given time and count, not where a kind of lead goes; replay the change to see it"
        )
    return out


def group_changes(a: m.Team, b: m.Team) -> list[tuple[str, m.Span]]:
    """`group closers: added dee; removed bob`, and groups added or removed (a share named for them follows its members)."""
    ga: dict[str, set[str]] = {}
    gb: dict[str, set[str]] = {}
    spans: dict[str, m.Span] = {}
    for g in a.groups:
        ga.setdefault(g.name, set()).update(g.reps)
    for g in b.groups:
        gb.setdefault(g.name, set()).update(g.reps)
        spans.setdefault(g.name, g.span)
    out: list[tuple[str, m.Span]] = []
    for name in [g.name for g in b.groups if g.name not in ga]:
        out.append((f"group {name} added: {', '.join(n for n in _order(b, gb[name]))}", spans[name]))
    for name, reps in ga.items():
        if name not in gb:
            out.append((f"group {name} removed (was {', '.join(_order(a, reps))})", b.span))
        elif reps != gb[name]:
            parts = [f"added {', '.join(_order(b, gb[name] - reps))}"] if gb[name] - reps else []
            parts += [f"removed {', '.join(_order(a, reps - gb[name]))}"] if reps - gb[name] else []
            out.append((f"group {name}: {'; '.join(parts)}", spans[name]))
    return list(dict.fromkeys(out))


def _order(team: m.Team, names: set[str]) -> list[str]:
    """Names in team order (a rep no longer in the team last, by name)."""
    order = {r.name: i for i, r in enumerate(team.reps)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))
