"""Explanations: turn a decision's trace into data a rep can follow, then render it.

`explain` builds a plain dict (the JSON form) from the typed trace events and the
policy model; text, Markdown and HTML are jinja2 templates over that same dict.
A decision made on the fast path has no trace: it is decided again from its
stored inputs with the trace on (`engine.decide.rebuild`), which gives the same
decision. Nothing here decides anything: availability, tie-breaks and pick
wording are asked of the engine (availability.py, the pick registry).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from ..engine import trace as ev
from ..engine.availability import AWAY, FULL, blocker, reason
from ..engine.codegen import Compiled
from ..engine.decide import rebuild
from ..engine.decision import Decision
from ..engine.picks import Seen, strategy
from ..lang import model as m
from . import plain
from .words import RepView, lead_values, source, when

FORMATS = ("text", "md", "html", "json")


class _Walk:
    """Reads the trace, event by event, into exceptions, stages and the first step that removed each rep."""

    def __init__(self, c: Compiled, d: Decision):
        self.c, self.d, self.p = c, d, c.policy
        self.view = RepView(c, d)
        self.lead = dict(d.lead)
        self.exceptions: list[dict] = []
        self.stages: list[dict] = []
        self.current: dict = {}
        self.lines: list[int] = []
        self.removed_by: dict[str, dict] = {}
        self.notes: list[str] = []

    def node(self, key: str) -> m.Route | m.Exception_:
        kind, name = key.split(":", 1)
        p = self.p
        return p.route_for(name) if kind == "route" else next(e for e in p.exceptions if e.name == name)

    def step_node(self, key: str, index: int):
        steps = self.node(key).steps
        return steps[index] if 0 <= index < len(steps) else None

    def add(self, step: dict) -> dict:
        self.current["steps"].append(step)
        return step

    def where(self) -> str:
        return f"{self.current['kind']} {self.current['name']}"

    def removed(self, reps: Sequence[int], step: dict, why: Callable[[int], str], words: Callable[[int], str]) -> list[dict]:
        """Entries for the removed reps; the first removal of each rep is kept, with `words` (plain.py) for why-not."""
        names = self.c.rep_names
        out = []
        for i in reps:
            entry = {"rep": names[i], "why": why(i)}
            out.append(entry)
            if names[i] not in self.removed_by:
                hit = {"stage": step.get("where", ""), "line": step["line"], "step": step["text"], "why": entry["why"]}
                self.removed_by[names[i]] = hit | {"plain": lambda i=i: words(i)}
        return out

    def whose(self) -> str:
        return plain.whose(self.current["kind"], self.current["name"])

    def unavailable(self, i: int) -> str:
        return reason(self.c, self.d.state, i, self.d.at) or "not available"

    # ------------------------------------------------------------ events
    def run(self) -> None:
        for e in self.d.trace or ():
            match e:
                case ev.ExceptionSkip(indices=skipped):
                    for i in skipped:
                        self.exception(i, False)
                case ev.ExceptionTry(index=i):
                    self.exception(i, True)
                case ev.ExceptionFallthrough():
                    x = self.exceptions[-1]
                    x.update(applied=False, status="passed over")
                    x["reason"] += ", but it placed no one (see below), so the next rule was tried"
                case ev.Start():
                    self.start(e)
                case ev.Require() | ev.Prefer():
                    self.filter(e)
                case ev.LotteryOff(key=key, step=i):
                    node = self.step_node(key, i)
                    text = source(self.p, node.span)
                    self.add(
                        {
                            "kind": "lottery",
                            "line": node.span.line,
                            "text": text,
                            "summary": "lottery switched off for this decision",
                            "removed": [],
                        }
                    )
                case ev.Lottery():
                    self.lottery(e)
                case ev.Pick():
                    self.pick(e)
                case ev.Assign():
                    self.assign(e)
                case ev.Queue(key=key, step=i, queue=q):
                    node = self.step_node(key, i)
                    self.lines.append(node.span.line)
                    self.add(
                        {
                            "kind": "queue",
                            "line": node.span.line,
                            "text": source(self.p, node.span),
                            "summary": f"queued in {q}",
                            "removed": [],
                        }
                    )
                case ev.Empty():
                    self.add({"kind": "empty", "line": self.current["line"], "text": "", "summary": "no candidate left", "removed": []})
                case ev.OtherwiseQueue(queue=q):
                    self.notes.append(f"no candidate left in {self.where()}: queued in {q}")
                case ev.GotoRoute(source=a, target=b):
                    self.notes.append(f"no candidate left in route {a}: `otherwise route {b}`")
                case ev.Unassigned(reason=why):
                    self.notes.append(f"queued as unassigned: {why}")

    def exception(self, i: int, holds: bool) -> None:
        e = self.p.exceptions[i]
        when = source(self.p, e.when.span)
        shown = ", ".join(f"{v['field']} = {v['text']}" for v in lead_values(self.c, e.when, self.lead))
        self.exceptions.append(
            {
                "name": e.name,
                "line": e.span.line,
                "when": when,
                "applied": holds,
                "status": "applies" if holds else "does not apply",
                "reason": f"`when {when}` {'holds' if holds else 'is false'}" + (f" ({shown})" if shown else ""),
            }
        )

    def start(self, e: ev.Start) -> None:
        kind, name = e.key.split(":", 1)
        node = self.node(e.key)
        self.current = {"kind": kind, "name": name, "line": node.span.line, "why": node.why, "steps": []}
        self.stages.append(self.current)
        self.lines.append(node.span.line)
        n = len(self.c.rep_names)
        avail = set(e.available)
        step = {"kind": "start", "line": node.span.line, "text": "available reps", "where": self.where()}
        gone = [i for i in range(n) if i not in avail]
        step["removed"] = self.removed(gone, step, self.unavailable, lambda i: plain.unavailable(self.view, i))
        step["kept"] = len(avail)
        step["summary"] = f"{len(avail)} of {n} reps available" + when(self.c, self.d.at)
        step["summary"] += "" if gone else " (nobody away, full, capped or off hours)" if self.c.timed else " (nobody away or full)"
        self.add(step)

    def filter(self, e: ev.Require | ev.Prefer) -> None:
        node = self.step_node(e.key, e.step)
        kept = set(e.after)
        gone = [i for i in e.before if i not in kept]
        step = {"kind": "require" if isinstance(e, ev.Require) else "prefer", "line": node.span.line, "text": source(self.p, node.span)}
        step["where"] = self.where()
        if isinstance(e, ev.Require):
            who = self.whose()
            step["removed"] = self.removed(
                gone, step, lambda i: self.view.describe(node.cond, i), lambda i: plain.failed(self.view, node.cond, i, who)
            )
            step["summary"] = f"kept {len(e.after)} of {len(e.before)}"
        elif e.option < 0:
            step["summary"] = f"no rep matched any option; kept all {len(e.before)}"
            step["removed"] = []
        else:
            opt = node.options[e.option]
            label = source(self.p, opt.span)
            step["summary"] = f"kept {len(e.after)} of {len(e.before)} matching `{label}`" + (
                f" (option {e.option + 1}: no rep matched the earlier ones)" if e.option > 0 else ""
            )
            who = self.whose()
            step["removed"] = self.removed(
                gone,
                step,
                lambda i: f"not `{label}`: {self.view.describe(opt, i)}",
                lambda i: plain.preferred(self.view, opt, label, i, who),
            )
        self.lines.append(node.span.line)
        self.add(step)

    def lottery(self, e: ev.Lottery) -> None:
        node = self.step_node(e.key, e.step)
        lot = e.draw
        if lot.entered:
            summary = (
                f"draw {lot.entry_draw:.4f} < {lot.ratio:.2f}: drawn by lottery; winner draw {lot.winner_draw:.4f} "
                f"picked {lot.winner} from {len(lot.pool)} available reps"
            )
            self.lines.append(node.span.line)
        else:
            summary = f"draw {lot.entry_draw:.4f} >= {lot.ratio:.2f}: not drawn by lottery, the rules decide"
        text = source(self.p, node.span)
        self.add({"kind": "lottery", "line": node.span.line, "text": text, "summary": summary, "removed": [], "draw": lot.to_json()})

    def pick(self, e: ev.Pick) -> None:
        node = self.step_node(e.key, e.step)
        s = strategy(e.kind).bind(node) if node is not None else strategy(e.kind)
        line = node.span.line if node is not None else self.current["line"]
        text = source(self.p, node.span) if node is not None else f"pick {s.words} (the default)"
        seen = Seen(self.c, self.view.O, self.d.state, e.key, e.candidates, e.chosen, self.d.at)
        others = [i for i in e.candidates if i != e.chosen]
        step = {"kind": "pick", "line": line, "text": text, "where": self.where(), "summary": s.summary(seen)}
        chosen = self.c.rep_names[e.chosen] if e.chosen is not None and e.chosen >= 0 else None

        def words(i: int) -> str:
            return plain.passed_over(chosen, text, s.passed_over(seen, i))

        if s.each_reason or len(others) <= 1:
            step["removed"] = self.removed(others, step, lambda i: f"not picked: {s.passed_over(seen, i)}", words)
        else:  # the same reason for every other candidate: say it once
            self.removed(others, step, lambda i: f"not picked: {s.passed_over(seen, i)}", words)
            step["removed"] = []
            names = self.c.rep_names
            step["summary"] += f"; the other {len(others)} candidates ({', '.join(names[i] for i in others)}) wait their turn"
        self.lines.append(line)
        self.add(step)

    def assign(self, e: ev.Assign) -> None:
        node = self.step_node(e.key, e.step)
        if e.ok:
            summary = f"{e.who} is available and gets the lead"
        elif e.who is None:
            summary = "no rep named, so the exception does not apply"
        elif e.rep < 0:
            summary = f"{e.who} is not on the team, so the exception does not apply"
        else:
            c = self.c
            why = blocker(c, self.d.state, e.rep, self.d.at)
            if why == AWAY:
                why = "away"
            elif why == FULL:
                why = f"at capacity, {self.view.open(e.rep)} open of {c.capacity[e.rep]}"
            else:
                why = reason(c, self.d.state, e.rep, self.d.at)
            summary = f"{e.who} is not available ({why}), so the exception does not apply"
        self.lines.append(node.span.line)
        self.add({"kind": "assign", "line": node.span.line, "text": source(self.p, node.span), "summary": summary, "removed": []})


def explain(c: Compiled, d: Decision, why_not: str | None = None, extra_notes: Sequence[str] = ()) -> dict:
    """The explanation as data (the JSON form); every other format renders this.

    A decision without a trace (the fast path) is decided again with the trace on.
    `extra_notes` are the driver's (the daemon says why a lottery step was off).
    """
    if d.trace is None:
        d = rebuild(c, d)
    p = c.policy
    lead = dict(d.lead)
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
                "rule": source(p, line.span),
                "values": lead_values(c, line.cond, lead),
            }
        )
    tier = None
    for t in p.tiers:
        if t.name == d.tier:
            tier = {"name": t.name, "range": f"{t.low}..{t.high}", "line": t.span.line}
    walk = _Walk(c, d)
    if tier:
        walk.lines.append(tier["line"])
    walk.run()
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
        "file": p.file,
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
            "text": d.rep if d.rep else f"queue {d.queue}",
        },
        "lead": lead,
        "scores": scores,
        "total": d.total,
        "tier": tier,
        "exceptions": walk.exceptions,
        "stages": walk.stages,
        "lottery": d.lottery.to_json() if d.lottery is not None else None,
        "notes": walk.notes + [n for n in extra_notes if n],
        "lines": sorted(set(walk.lines)),
        "seed_id": d.lottery.seed_id if d.lottery is not None else None,
    }
    if why_not is not None:
        data["why_not"] = why_not_rep(c, d, why_not, walk.removed_by)
    return data


def _said(rep: str, words: str, technical: str | None = None, **more) -> dict:
    """A why-not answer: plain words first (addressed to the rep), then the technical reason if any."""
    answer = words[0].upper() + words[1:]
    if technical:
        answer += ". " + technical[0].upper() + technical[1:]
    return {"rep": rep, "plain": words, "answer": answer, "line": None} | more


def why_not_rep(c: Compiled, d: Decision, rep: str, removed_by: dict | None = None) -> dict:
    """The first step that removed `rep`: in plain words first, then the line and the rep's value there."""
    if removed_by is None:
        return explain(c, d, rep)["why_not"]
    if rep not in c.rep_index:
        from ..lang.diagnostics import did_you_mean

        guess = did_you_mean(rep, c.rep_names)
        return {"rep": rep, "answer": f"{rep} is not on the team" + (f"; did you mean {guess}?" if guess else ""), "line": None}
    if d.rep == rep:
        return _said(rep, "you got this lead")
    hit = removed_by.get(rep)
    if hit is not None:
        where = f"{hit['stage']}, " if hit.get("stage") else ""
        technical = f"removed at line {hit['line']} ({where}`{hit['step']}`): {hit['why']}"
        return _said(rep, hit["plain"](), technical, line=hit["line"], step=hit["step"], value=hit["why"])
    if d.by == "exception":
        return _said(rep, f"exception {d.exception} placed the lead before any route considered you")
    if d.lottery is not None and d.lottery.entered:
        n = len(d.lottery.pool)
        return _said(
            rep,
            f"this lead was drawn by lottery, and the draw picked {d.lottery.winner} from {n} reps, you among them",
            f"winner draw {d.lottery.winner_draw:.4f}",
        )
    if d.queue is not None:
        return _said(rep, f"nobody got this lead: it was queued in {d.queue}")
    return _said(rep, "you were not considered for this lead")


def render(c: Compiled, d: Decision, fmt: str = "text", why_not: str | None = None, notes: Sequence[str] = ()) -> str:
    """The explanation in one of FORMATS; `notes` come from the driver (e.g. why the lottery was off)."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    data = explain(c, d, why_not, notes)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    from ..render.jinja import render_template

    return render_template(f"explain.{fmt}.j2", {"x": data} if fmt == "html" else data)
