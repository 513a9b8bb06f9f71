"""Checks on the policy's shape and declared values, before any condition is read.

Required blocks, duplicate names, the order of a pipeline's steps, field defaults and
the team's figures: what must hold for the rest of the checks to make sense.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..engine.schema import LeadSchema
from ..lang import model as m
from ..lang.diagnostics import Diagnostic
from .context import Context
from .emit import _err, _warn


def check_required_blocks(ctx: Context) -> Iterator[Diagnostic]:
    p = ctx.policy
    top = m.Span(p.file, 1, 1)
    if not p.fields:
        yield _err("S001", top, "the policy has no `lead { ... }` block", "declare the fields a lead carries")
    if not p.scores:
        yield _err("S001", top, "the policy has no `score` block", "add at least one `score NAME { ... }`")
    if not p.tiers:
        yield _err("S001", top, "the policy has no `tiers { ... }` block", "declare tiers such as `high 10..12`")
    if p.team is None or not p.team.reps:
        yield _err("S001", top, "the policy has no team (no `rep` lines)", "add `team { rep NAME LEVEL ... }`")


def check_duplicates(ctx: Context) -> Iterator[Diagnostic]:
    p = ctx.policy
    groups = [
        ("field", [(f.name, f.span) for f in p.fields]),
        ("score", [(s.name, s.span) for s in p.scores]),
        ("tier", [(t.name, t.span) for t in p.tiers]),
        ("rep", [(r.name, r.span) for r in ctx.team_reps]),
        ("exception", [(e.name, e.span) for e in p.exceptions]),
        ("route", [(r.tier, r.span) for r in p.routes]),
        ("example", [(e.name, e.span) for e in p.examples]),
        ("sla rule", [(s.tier, s.span) for s in p.sla]),
    ]
    for kind, items in groups:
        first: dict[str, m.Span] = {}
        for name, span in items:
            if name in first:
                yield _err("N007", span, f"duplicate {kind} `{name}` (first declared on line {first[name].line})")
            else:
                first[name] = span
    for rep in ctx.team_reps:
        seen: set[str] = set()
        for skill, _ in rep.skills:
            if skill in seen:
                yield _err("N007", rep.span, f"rep `{rep.name}` lists skill `{skill}` twice")
            seen.add(skill)


def check_steps_order(ctx: Context) -> Iterator[Diagnostic]:
    for pipe in list(ctx.policy.routes) + list(ctx.policy.exceptions):
        kind = "route" if isinstance(pipe, m.Route) else "exception"
        name = pipe.tier if isinstance(pipe, m.Route) else pipe.name
        steps = pipe.steps
        if kind == "exception" and not steps:
            yield _err("S002", pipe.span, f"exception `{name}` has no action", "add `assign FIELD`, `queue NAME` or routing steps")
        ends = [s for s in steps if isinstance(s, (m.OtherwiseRoute, m.OtherwiseQueue))]
        if len(ends) > 1:
            yield _err("S003", ends[1].span, f"{kind} `{name}` has more than one `otherwise`")
        picks = [s for s in steps if isinstance(s, m.Pick)]
        if len(picks) > 1:
            yield _err("S003", picks[1].span, f"{kind} `{name}` has more than one `pick`")
        for i, s in enumerate(steps):
            after = steps[i + 1 :]
            if isinstance(s, (m.OtherwiseRoute, m.OtherwiseQueue)) and after:
                yield _err("S004", after[0].span, f"a step after `otherwise` in {kind} `{name}` is never reached", "`otherwise` comes last")
                break
            if isinstance(s, m.Pick):
                bad = [a for a in after if not isinstance(a, (m.OtherwiseRoute, m.OtherwiseQueue))]
                if bad:
                    yield _err(
                        "S004", bad[0].span, f"a step after `pick` in {kind} `{name}` is never reached", "`pick` comes after every filter"
                    )
                    break
        placing = [s for s in steps if isinstance(s, (m.Assign, m.QueueAction))]
        routing = [s for s in steps if isinstance(s, (m.Lottery, m.Require, m.Prefer, m.Pick))]
        if placing and (routing or len(placing) > 1):
            yield _err(
                "S005",
                placing[0].span,
                f"exception `{name}` mixes `{'assign' if isinstance(placing[0], m.Assign) else 'queue'}` with other placing steps",
                "an exception either assigns, queues, or routes with require/prefer/pick",
            )


# ---------------------------------------------------------------- lead schema
def check_schema(ctx: Context) -> Iterator[Diagnostic]:
    schema = LeadSchema(ctx.policy.fields, list(ctx.reps))
    for f in ctx.policy.fields:
        if f.type.kind == "enum" and len(set(f.type.words)) != len(f.type.words):
            yield _err("N007", f.span, f"field `{f.name}` lists a word twice in its set")
        if f.has_default:
            err = schema.check_value(f, f.default)
            if err:
                yield _err("T003", f.span, f"the default of `{f.name}` does not fit its type: {err.message.split(': ', 1)[1]}")


def check_team(ctx: Context) -> Iterator[Diagnostic]:
    team = ctx.policy.team
    if team is None:
        return
    if team.skill_low > team.skill_high:
        yield _err("T007", team.span, f"skill scale {team.skill_low}..{team.skill_high} is empty (low above high)")
    if not team.skill_low <= team.skill_default <= team.skill_high:
        yield _err("T007", team.span, f"the default skill {team.skill_default} is outside the scale {team.skill_low}..{team.skill_high}")
    if team.capacity_default <= 0:
        yield _warn("T010", team.span, f"capacity default {team.capacity_default}: reps without their own capacity never get a lead")
    for r in team.reps:
        for skill, value in r.skills:
            if not team.skill_low <= value <= team.skill_high:
                yield _err(
                    "T007",
                    r.span,
                    f"rep `{r.name}`: skill {skill} {value} is outside the scale {team.skill_low}..{team.skill_high}",
                )
        if r.capacity is not None and r.capacity <= 0:
            yield _warn("T010", r.span, f"rep `{r.name}` has capacity {r.capacity} and can never get a lead")
        if r.weight is not None and r.weight <= 0:
            yield _err("T011", r.span, f"rep `{r.name}`: weight must be above 0, got {r.weight}")
