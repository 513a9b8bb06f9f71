"""Explanations: turn a decision's trace into data a rep can follow, then render it.

`explain` builds a plain dict (the JSON form) from the trace and the policy model;
text, Markdown and HTML are jinja2 templates over that same dict. Nothing here
decides anything: values shown for reps (skills, load, level) are read from the
policy and the state the decision saw.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..engine.codegen import Compiled
from ..engine.decision import Decision
from ..lang import model as m

FORMATS = ("text", "md", "html", "json")


def _src(policy: m.Policy, span: m.Span) -> str:
    """The exact text a span covers (its first line when it spans several)."""
    text = policy.source_text(span.file)
    if text is None or span.line < 1:
        return ""
    lines = text.splitlines()
    if span.line > len(lines):
        return ""
    line = lines[span.line - 1]
    if span.end_line == span.line and span.end_col > span.col:
        return line[span.col - 1 : span.end_col - 1].strip()
    return line[span.col - 1 :].split("#", 1)[0].strip() if span.col >= 1 else line.strip()


def _fmt(v: Any) -> str:
    if v is None:
        return "missing"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))
    return str(v)


def _cond_fields(c: m.Cond | None) -> list[str]:
    """Lead fields a condition reads, in order of appearance."""
    out: list[str] = []

    def walk(x):
        if isinstance(x, (m.And, m.Or)):
            for i in x.items:
                walk(i)
        elif isinstance(x, m.Not):
            walk(x.item)
        elif isinstance(x, (m.Is, m.IsSet, m.Flag)):
            out.append(x.name)
        elif isinstance(x, m.Speaks) and not x.literal:
            out.append(x.name)
        elif isinstance(x, m.Compare):
            for o in (x.left, x.right):
                if isinstance(o, (m.FieldRef, m.SkillRef)):
                    out.append(o.name)

    if c is not None:
        walk(c)
    return list(dict.fromkeys(out))


def _lead_values(c: Compiled, cond: m.Cond | None, lead: dict) -> list[dict]:
    return [{"field": f, "value": _fmt(lead.get(f))} for f in _cond_fields(cond) if f in c.fields]


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _atoms(c: m.Cond) -> list[m.Cond]:
    if isinstance(c, (m.And, m.Or)):
        return [a for i in c.items for a in _atoms(i)]
    if isinstance(c, m.Not):
        return _atoms(c.item)
    return [c]


class _RepView:
    """What the decision saw of one rep: level, skills, load, languages."""

    def __init__(self, c: Compiled, d: Decision):
        self.c = c
        self.d = d
        names = c.rep_names
        self.O = [d.state.open.get(n, 0) for n in names]
        self.Q = [d.state.quota.get(n, 0.0) for n in names]

    def open(self, i: int) -> int:
        return self.O[i]

    def load(self, i: int) -> str:
        cap = self.c.capacity[i]
        o = self.O[i]
        return f"{o}/{cap} = {o / cap:.2f}" if cap else f"{o}/0"

    def _operand(self, o: m.Operand, i: int) -> tuple[str, str, bool]:
        """(label, value, is about the rep) for one side of a comparison."""
        c, lead = self.c, self.d.lead
        if isinstance(o, m.SkillRef):
            skill = lead.get(o.name) if o.name in c.fields else o.name
            if skill is None:
                return f"skill({o.name})", f"unknown ({o.name} is missing)", True
            return f"skill({skill})", str(c.skills[i].get(skill, c.skill_default)), True
        if isinstance(o, m.FieldRef) and o.name not in c.fields:
            value = {
                "load": self.load(i),
                "open": str(self.O[i]),
                "quota": _fmt(self.Q[i]),
                "capacity": str(c.capacity[i]),
                "weight": _fmt(c.weights[i]),
            }.get(o.name, "?")
            return o.name, value, True
        if isinstance(o, m.FieldRef):
            return o.name, _fmt(lead.get(o.name)), False
        return _fmt(o.value), _fmt(o.value), False

    def _atom(self, a: m.Cond, i: int) -> str:
        c, lead = self.c, self.d.lead
        if isinstance(a, m.Compare):
            ll, lv, lrep = self._operand(a.left, i)
            rl, rv, rrep = self._operand(a.right, i)
            if lrep and not rrep:
                return f"{ll} = {lv}, needs {a.op} {rv}"
            if rrep and not lrep:
                return f"{rl} = {rv}, needs {_FLIP[a.op]} {lv}"
            return f"{ll} = {lv}, {rl} = {rv}, needs {ll} {a.op} {rl}"
        if isinstance(a, m.Flag):
            if a.name in c.fields and a.name not in c.levels:
                return f"{a.name} = {_fmt(lead.get(a.name))}"
            return f"level {c.levels[i]}, needs {a.name}"
        if isinstance(a, m.Speaks):
            lang = lead.get(a.name) if (not a.literal and a.name in c.fields) else a.name
            spoken = ", ".join(sorted(c.speaks[i])) or "no language listed"
            return f"speaks {spoken}, needs {_fmt(lang)}"
        if isinstance(a, m.Is) and a.name == "level" and "level" not in c.fields:
            return f"level {c.levels[i]}, needs {' or '.join(a.words)}"
        if isinstance(a, m.Is) and a.name == "rep" and "rep" not in c.fields:
            return f"rep {c.rep_names[i]}, needs {' or '.join(a.words)}"
        if isinstance(a, (m.Is, m.IsSet)):
            return f"{a.name} = {_fmt(lead.get(a.name))}"
        return "does not match"

    def describe(self, cond: m.Cond, i: int) -> str:
        """Why a rep fails a condition: its value for each term that is false."""
        L = self.d.lead
        atoms = _atoms(cond)
        failing = [a for a in atoms if not self.c.rep_test(a)(L, self.O, self.Q, i)]
        shown = failing if (failing and not isinstance(cond, m.Not)) else atoms
        return "; ".join(dict.fromkeys(self._atom(a, i) for a in shown))

    def pick_key(self, i: int) -> tuple:
        cap = self.c.capacity[i]
        last = self.d.state.last.get(self.c.rep_names[i])
        return (self.O[i] / cap if cap else 1.0, self.O[i], last, i)

    def pick_value(self, kind: str, i: int) -> str:
        if kind == "least_loaded":
            return f"load {self.load(i)}"
        if kind == "weighted":
            return f"weight {_fmt(self.c.weights[i])}"
        return f"position {i + 1} in team order"

    def not_picked(self, kind: str, i: int, winner: int) -> str:
        """Why the pick preferred `winner` over rep `i`, in the tie-break order of LANGUAGE.md."""
        names = self.c.rep_names
        w = names[winner]
        if kind == "least_loaded":
            a, b = self.pick_key(i), self.pick_key(winner)
            if a[0] != b[0]:
                return f"load {self.load(i)}, higher than {w}'s {b[0]:.2f}"
            if a[1] != b[1]:
                return f"same load as {w}, more open leads ({a[1]} vs {b[1]})"
            if a[2] != b[2]:
                return f"same load and open count as {w}, assigned more recently"
            return f"tied with {w} on load ({self.load(i)}), open count and last assignment; {w} comes first in team order"
        if kind == "round_robin":
            return f"{w} comes first in the rotation"
        if kind == "weighted":
            return f"{w} is next in the weighted rotation"
        if kind == "random":
            return f"the draw chose {w}"
        return f"{w} was picked"


def explain(c: Compiled, d: Decision, why_not: str | None = None, extra_notes: Sequence[str] = ()) -> dict:
    """The explanation as data (the JSON form); every other format renders this.

    `extra_notes` are the driver's (the daemon says why a lottery step was off).
    """
    p = c.policy
    lead = dict(d.lead)
    view = _RepView(c, d)
    names = c.rep_names
    file = p.file

    scores = []
    for block, li in zip(p.scores, d.score_lines):
        if li < 0:
            scores.append(
                {"block": block.name, "points": 0, "line": block.span.line, "rule": "no line matched (no `otherwise`)", "values": []}
            )
            continue
        line = block.lines[li]
        scores.append(
            {
                "block": block.name,
                "points": line.points,
                "line": line.span.line,
                "rule": _src(p, line.span),
                "values": _lead_values(c, line.cond, lead),
            }
        )
    tier = None
    for t in p.tiers:
        if t.name == d.tier:
            tier = {"name": t.name, "range": f"{t.low}..{t.high}", "line": t.span.line}

    exceptions: list[dict] = []
    stages: list[dict] = []
    current: dict | None = None
    lines_used: list[int] = [t["line"] for t in ([tier] if tier else [])]
    removed_by: dict[str, dict] = {}
    notes: list[str] = []

    def stage_for(key: str) -> dict:
        nonlocal current
        kind, name = key.split(":", 1)
        node = p.route_for(name) if kind == "route" else next(e for e in p.exceptions if e.name == name)
        current = {
            "kind": kind,
            "name": name,
            "line": node.span.line,
            "why": node.why,
            "steps": [],
        }
        stages.append(current)
        lines_used.append(node.span.line)
        return current

    def step_node(key: str, index: int):
        kind, name = key.split(":", 1)
        node = p.route_for(name) if kind == "route" else next(e for e in p.exceptions if e.name == name)
        return node.steps[index] if 0 <= index < len(node.steps) else None

    def mark_removed(reps: list[int], step: dict, why_fn) -> list[dict]:
        out = []
        for i in reps:
            entry = {"rep": names[i], "why": why_fn(i)}
            out.append(entry)
            removed_by.setdefault(
                names[i], {"stage": step.get("where", ""), "line": step["line"], "step": step["text"], "why": entry["why"]}
            )
        return out

    for entry in d.trace:
        kind = entry[0]
        if kind in ("exception_skip", "exception_try"):
            e = p.exceptions[entry[1]]
            holds = kind == "exception_try"
            shown = ", ".join(f"{v['field']} = {v['value']}" for v in _lead_values(c, e.when, lead))
            exceptions.append(
                {
                    "name": e.name,
                    "line": e.span.line,
                    "when": _src(p, e.when.span),
                    "applied": holds,
                    "status": "applies" if holds else "does not apply",
                    "reason": f"`when {_src(p, e.when.span)}` {'holds' if holds else 'is false'}" + (f" ({shown})" if shown else ""),
                }
            )
        elif kind == "exception_fallthrough":
            exceptions[-1]["applied"] = False
            exceptions[-1]["status"] = "passed over"
            exceptions[-1]["reason"] += ", but it placed no one (see below), so the next rule was tried"
        elif kind == "start":
            st = stage_for(entry[1])
            avail = set(entry[2])
            step = {"kind": "start", "line": st["line"], "text": "available reps", "where": f"{st['kind']} {st['name']}"}
            gone = [i for i in range(len(names)) if i not in avail]

            def why_start(i):
                if names[i] in d.state.away:
                    return "away"
                return f"at capacity ({view.open(i)} open of {c.capacity[i]})"

            step["removed"] = mark_removed(gone, step, why_start)
            step["kept"] = len(avail)
            step["summary"] = f"{len(avail)} of {len(names)} reps available" + ("" if gone else " (nobody away or full)")
            st["steps"].append(step)
        elif kind in ("require", "prefer"):
            key, index = entry[1], entry[2]
            node = step_node(key, index)
            before, after = (entry[3], entry[4]) if kind == "require" else (entry[4], entry[5])
            kept = set(after)
            gone = [i for i in before if i not in kept]
            step = {"kind": kind, "line": node.span.line, "text": _src(p, node.span), "where": f"{current['kind']} {current['name']}"}
            if kind == "require":
                step["removed"] = mark_removed(gone, step, lambda i: view.describe(node.cond, i))
                step["summary"] = f"kept {len(after)} of {len(before)}"
            else:
                chosen = entry[3]
                if chosen < 0:
                    step["summary"] = f"no rep matched any option; kept all {len(before)}"
                    step["removed"] = []
                else:
                    opt = node.options[chosen]
                    label = _src(p, opt.span)
                    step["summary"] = f"kept {len(after)} of {len(before)} matching `{label}`" + (
                        f" (option {chosen + 1}: no rep matched the earlier ones)" if chosen > 0 else ""
                    )
                    step["removed"] = mark_removed(gone, step, lambda i: f"not `{label}`: {view.describe(opt, i)}")
            lines_used.append(node.span.line)
            current["steps"].append(step)
        elif kind == "lottery_off":
            node = step_node(entry[1], entry[2])
            current["steps"].append(
                {
                    "kind": "lottery",
                    "line": node.span.line,
                    "text": _src(p, node.span),
                    "summary": "lottery switched off for this decision",
                    "removed": [],
                }
            )
        elif kind == "lottery":
            node = step_node(entry[1], entry[2])
            lot = entry[3]
            if lot.entered:
                summary = (
                    f"draw {lot.entry_draw:.4f} < {lot.ratio:.2f}: drawn by lottery; winner draw {lot.winner_draw:.4f} "
                    f"picked {lot.winner} from {len(lot.pool)} available reps"
                )
                lines_used.append(node.span.line)
            else:
                summary = f"draw {lot.entry_draw:.4f} >= {lot.ratio:.2f}: not drawn by lottery, the rules decide"
            current["steps"].append(
                {
                    "kind": "lottery",
                    "line": node.span.line,
                    "text": _src(p, node.span),
                    "summary": summary,
                    "removed": [],
                    "draw": lot.to_json(),
                }
            )
        elif kind == "pick":
            key, index, pick_kind, cands, chosen = entry[1], entry[2], entry[3], entry[4], entry[5]
            node = step_node(key, index)
            line = node.span.line if node is not None else current["line"]
            text = _src(p, node.span) if node is not None else "pick least loaded (the default)"
            others = [i for i in cands if i != chosen]
            step = {
                "kind": "pick",
                "line": line,
                "text": text,
                "where": f"{current['kind']} {current['name']}",
                "summary": f"{names[chosen]} ({view.pick_value(pick_kind, chosen)}) from {len(cands)} candidate{'s' if len(cands) != 1 else ''}",
            }
            if pick_kind == "round_robin":
                step["summary"] = f"{names[chosen]}: next in rotation after {d.state.cursors.get(key, 'the start of the team')}"
            elif pick_kind == "random":
                step["summary"] = f"{names[chosen]}: drawn at random from {len(cands)} candidate{'s' if len(cands) != 1 else ''}"
            elif pick_kind == "weighted":
                step["summary"] = f"{names[chosen]}: next by smooth weighted rotation ({view.pick_value(pick_kind, chosen)})"
            step["removed"] = mark_removed(others, step, lambda i: f"not picked: {view.not_picked(pick_kind, i, chosen)}")
            if pick_kind in ("round_robin", "weighted", "random") and len(others) > 1:
                # the same reason for every other candidate: say it once
                step["removed"] = []
                step["summary"] += f"; the other {len(others)} candidates ({', '.join(names[i] for i in others)}) wait their turn"
            lines_used.append(line)
            current["steps"].append(step)
        elif kind == "assign":
            node = step_node(entry[1], entry[2])
            who, r, ok = entry[3], entry[4], entry[5]
            if ok:
                summary = f"{who} is available and gets the lead"
            elif who is None:
                summary = "no rep named, so the exception does not apply"
            elif r < 0:
                summary = f"{who} is not on the team, so the exception does not apply"
            else:
                summary = f"{who} is not available ({'away' if who in d.state.away else f'at capacity, {view.open(r)} open of {c.capacity[r]}'}), so the exception does not apply"
            lines_used.append(node.span.line)
            current["steps"].append(
                {"kind": "assign", "line": node.span.line, "text": _src(p, node.span), "summary": summary, "removed": []}
            )
        elif kind == "queue":
            node = step_node(entry[1], entry[2])
            lines_used.append(node.span.line)
            current["steps"].append(
                {"kind": "queue", "line": node.span.line, "text": _src(p, node.span), "summary": f"queued in {entry[3]}", "removed": []}
            )
        elif kind == "empty":
            current["steps"].append({"kind": "empty", "line": current["line"], "text": "", "summary": "no candidate left", "removed": []})
        elif kind == "otherwise_queue":
            notes.append(f"no candidate left in {current['kind']} {current['name']}: queued in {entry[2]}")
        elif kind == "goto_route":
            notes.append(f"no candidate left in route {entry[1]}: `otherwise route {entry[2]}`")
        elif kind == "unassigned":
            notes.append(f"queued as unassigned: {entry[1]}")

    lot = d.lottery.to_json() if d.lottery is not None else None
    if d.rep:
        outcome = f"{d.rep}"
    else:
        outcome = f"queue {d.queue}"
    how = {
        "exception": f"by exception {d.exception}",
        "lottery": f"by lottery in route {d.route}",
        "route": f"by route {d.route}",
        "queue": "no rep qualified",
    }.get(d.by, d.by)
    if d.by == "exception" and d.route:
        how = f"by exception {d.exception} (via route {d.route})"
    data = {
        "policy": p.name,
        "file": file,
        "lead_id": d.lead_id,
        "company": lead.get("company") if isinstance(lead.get("company"), str) else None,
        "outcome": {
            "rep": d.rep,
            "queue": d.queue,
            "tier": d.tier,
            "total": d.total,
            "by": d.by,
            "exception": d.exception,
            "route": d.route,
            "how": how,
            "text": outcome,
        },
        "lead": {k: lead[k] for k in lead},
        "scores": scores,
        "total": d.total,
        "tier": tier,
        "exceptions": exceptions,
        "stages": stages,
        "lottery": lot,
        "notes": notes + [n for n in extra_notes if n],
        "lines": sorted(set(lines_used)),
        "seed_id": d.lottery.seed_id if d.lottery is not None else None,
    }
    if why_not is not None:
        data["why_not"] = why_not_rep(c, d, why_not, removed_by)
    return data


def why_not_rep(c: Compiled, d: Decision, rep: str, removed_by: dict | None = None) -> dict:
    """The first step that removed `rep`, with the rep's value there."""
    if removed_by is None:
        return explain(c, d, rep)["why_not"]
    if rep not in c.rep_index:
        from ..lang.diagnostics import did_you_mean

        guess = did_you_mean(rep, c.rep_names)
        return {"rep": rep, "answer": f"{rep} is not on the team" + (f"; did you mean {guess}?" if guess else ""), "line": None}
    if d.rep == rep:
        return {"rep": rep, "answer": f"{rep} got this lead", "line": None}
    hit = removed_by.get(rep)
    if hit is not None:
        where = f"{hit['stage']}, " if hit.get("stage") else ""
        return {
            "rep": rep,
            "answer": f"removed at line {hit['line']} ({where}`{hit['step']}`): {hit['why']}",
            "line": hit["line"],
            "step": hit["step"],
            "value": hit["why"],
        }
    if d.by == "exception":
        return {"rep": rep, "answer": f"exception {d.exception} placed the lead before any route considered {rep}", "line": None}
    if d.lottery is not None and d.lottery.entered:
        return {
            "rep": rep,
            "answer": f"the lottery drew {d.lottery.winner} (winner draw {d.lottery.winner_draw:.4f}) from {len(d.lottery.pool)} reps including {rep}",
            "line": None,
        }
    if d.queue is not None:
        return {"rep": rep, "answer": f"no rep got this lead: it was queued in {d.queue}", "line": None}
    return {"rep": rep, "answer": f"{rep} was not considered for this lead", "line": None}


def render(c: Compiled, d: Decision, fmt: str = "text", why_not: str | None = None, notes: Sequence[str] = ()) -> str:
    """The explanation in one of FORMATS; `notes` come from the driver (e.g. why the lottery was off)."""
    data = explain(c, d, why_not, notes)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    from ..render.jinja import render_template

    return render_template(f"explain.{fmt}.j2", data)
