"""`policyd diff` of two front doors: which send rules were added, removed, changed or moved, and where leads go.

A door's rules are ordered (the first that holds decides), so the rules are aligned as
sequences: a rule kept in place is no change; one whose team or condition changed is
one change; one that moved is "moved", since order changes where a lead goes. The
lead fields and examples are compared as a policy's are (semantic.py). The impact is
exact, as the policy diff's: both doors route one lead of every kind their conditions
tell apart (the checks' lead space over both doors' conditions).
"""

from __future__ import annotations

import dataclasses
from difflib import SequenceMatcher
from typing import Any

from ..checks.context import Context
from ..checks.door import DoorSpace
from ..door.route import CompiledDoor, team_of
from ..engine.schema import LeadError
from ..lang.door import Door, Send
from .change import Change
from .diff import changes_by_area, headline
from .semantic import diff_fields_and_examples
from .wording import cond_text

AREAS = {"door": "Front door", "lead": "Lead fields", "rules": "Send rules", "example": "Examples"}


def rule_text(s: Send) -> str:
    """`send east when office is east`, as the language writes it (layout and comments do not count)."""
    return f"send {s.team} " + ("otherwise" if s.cond is None else "when " + cond_text(s.cond))


def _rule(area: str, kind: str, subject: str, text: str, s: Send, old_side: bool = False) -> Change:
    return Change(area, kind, subject, text, s.span.line or None, "", old_side)


def _added(j: int, b: Send) -> Change:
    return _rule("rules", "added", rule_text(b), f"added as rule {j + 1}", b)


def _removed(i: int, a: Send) -> Change:
    return _rule("rules", "removed", rule_text(a), f"removed (was rule {i + 1})", a, True)


def _when(s: Send) -> str:
    return "otherwise" if s.cond is None else "when " + cond_text(s.cond)


def diff_rules(old: Door, new: Door) -> list[Change]:
    """The send rules' changes, in the new door's order.

    Rules outside the longest common run are, in turn: moved (the same rule elsewhere),
    changed (the same condition to another team, or the same team on another
    condition, paired in order), then removed or added."""
    a, b = list(old.sends), list(new.sends)
    ka, kb = [(s.team, s.cond) for s in a], [(s.team, s.cond) for s in b]  # spans and text do not count
    gone: list[int] = []
    came: list[int] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        if tag != "equal":
            gone += range(i1, i2)
            came += range(j1, j2)
    out: list[Change] = []
    for j in list(came):
        i = next((i for i in gone if ka[i] == kb[j]), None)
        if i is not None:
            gone.remove(i)
            came.remove(j)
            text = f"moved from rule {i + 1} to rule {j + 1} (the first rule that holds decides)"
            out.append(_rule("rules", "reordered", rule_text(b[j]), text, b[j]))
    for same in (lambda x, y: x.cond == y.cond, lambda x, y: x.team == y.team):
        for j in list(came):
            i = next((i for i in gone if same(a[i], b[j])), None)
            if i is None:
                continue
            gone.remove(i)
            came.remove(j)
            if a[i].cond == b[j].cond:
                out.append(_rule("rules", "changed", f"rule {j + 1} ({_when(b[j])})", f"team {a[i].team} -> {b[j].team}", b[j]))
            else:
                out.append(_rule("rules", "changed", f"rule {j + 1} (send {b[j].team})", f"{_when(a[i])} -> {_when(b[j])}", b[j]))
    out += [_added(j, b[j]) for j in came] + [_removed(i, a[i]) for i in gone]
    return sorted(out, key=lambda c: (c.old_side, c.line or 0))


def diff_doors(old: Door, new: Door) -> list[Change]:
    """Every change in meaning between two doors: name and title, lead fields, send rules, examples."""
    out: list[Change] = []
    line = new.span.line or None
    if old.name != new.name:
        out.append(Change("door", "changed", "door", f"name {old.name} -> {new.name}", line))
    if old.title != new.title:
        show = lambda t: f'"{t}"' if t else "none"  # noqa: E731
        out.append(Change("door", "changed", "door", f"title {show(old.title)} -> {show(new.title)}", line))
    a = dataclasses.replace(old.as_policy(), examples=old.examples)
    b = dataclasses.replace(new.as_policy(), examples=new.examples)
    parts = diff_fields_and_examples(a, b)
    out += [c for c in parts if c.area == "lead"]
    out += diff_rules(old, new)
    out += [c for c in parts if c.area == "example"]
    return out


def _kind(partial: dict[str, Any]) -> str:
    return ", ".join(f"{k} missing" if v is None else f"{k} {v}" for k, v in sorted(partial.items())) or "every lead"


def door_impact(old: Door, new: Door) -> dict[str, Any]:
    """Kinds of lead whose team changes: {moves: [{old, new, kinds}], exact}; each side routes with its own door."""
    fields = {f.name: f for f in (*new.fields, *old.fields)}
    both = dataclasses.replace(new, fields=tuple(fields.values()), sends=(*old.sends, *new.sends))
    space = DoorSpace(Context(both.as_policy()), both)
    doors = CompiledDoor(old), CompiledDoor(new), CompiledDoor(both)
    reads = sorted({n for r in doors[2].reads for n in r})
    combos, exact = space.assignments(reads)
    moves: dict[tuple[str, str], list[str]] = {}
    for partial in combos:
        lead = space.complete(partial)
        teams = []
        for d in doors[:2]:
            try:
                i = team_of(d, d.door_lead(lead))
            except LeadError:  # a value only the other door's fields allow
                teams.append("refused")
                continue
            teams.append(d.door.sends[i].team if i is not None else "not placed")
        if teams[0] != teams[1]:
            moves.setdefault((teams[0], teams[1]), []).append(_kind(partial))
    return {"moves": [{"old": o, "new": n, "kinds": ks} for (o, n), ks in moves.items()], "exact": exact}


def door_report(old_label: str, new_label: str, old: Door, new: Door, impact: bool = True) -> dict[str, Any]:
    """A door diff as plain data, in the policy diff's shape (diff.text.j2, diff.md.j2 and JSON render it)."""
    changes = diff_doors(old, new)
    identical = [t for _, t in old.sources] == [t for _, t in new.sources]
    data: dict[str, Any] = {
        "title": "Front door change",
        "old": old_label,
        "new": new_label,
        "headline": headline(changes),
        "identical": identical,
        "changes": [c.to_json() for c in changes],
        "groups": [
            {"area": a, "title": AREAS.get(a, a), "changes": [c.to_json() for c in cs]} for a, cs in changes_by_area(changes).items()
        ],
        "impact": None,
        "impact_empty": True,
        "door_impact": door_impact(old, new) if impact else None,
    }
    if not changes:
        data["headline"] += " (identical)" if identical else " (layout or comments only)"
    return data
