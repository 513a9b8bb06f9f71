"""Static checks on names and types: an ordered tuple of small named functions.

Each check takes a Context and yields Diagnostics with a stable code. The deeper
analysis (score gaps, dead lines, empty routes) lives in analyze.py (`ANALYSES`);
`check_policy` runs it after `CHECKS` when they found no error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..engine.picks import PICKS
from ..engine.schema import LeadError, LeadSchema
from ..lang import model as m
from ..lang.diagnostics import ERROR, NOTE, WARNING, Diagnostic, did_you_mean
from .analyze import analyze
from .context import NUMERIC, REP_ATTRIBUTES, Context

Check = Callable[[Context], Iterable[Diagnostic]]


def _err(code: str, span: m.Span, msg: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, ERROR, span, msg, hint)


def _warn(code: str, span: m.Span, msg: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, WARNING, span, msg, hint)


def _mean(word: str, names: Iterable[str]) -> str | None:
    guess = did_you_mean(word, names)
    return f"did you mean `{guess}`?" if guess else None


# ---------------------------------------------------------------- structure
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
        if r.weight <= 0:
            yield _err("T011", r.span, f"rep `{r.name}`: weight must be above 0, got {r.weight}")


# ---------------------------------------------------------------- conditions
def _lead_cond(ctx: Context, c: m.Cond, where: str) -> Iterator[Diagnostic]:
    """Names and types in a condition about the lead (score lines, exception `when`)."""
    if isinstance(c, (m.And, m.Or)):
        for i in c.items:
            yield from _lead_cond(ctx, i, where)
    elif isinstance(c, m.Not):
        yield from _lead_cond(ctx, c.item, where)
    elif isinstance(c, m.IsSet):
        yield from _known_field(ctx, c.name, c.span)
    elif isinstance(c, m.Is):
        yield from _is_words(ctx, c)
    elif isinstance(c, m.Flag):
        f = ctx.fields.get(c.name)
        if f is None:
            if c.name in ctx.levels:
                yield _err("T005", c.span, f"`{c.name}` is a rep level; levels are tested in `require` or `prefer`, not in {where}")
            else:
                yield from _known_field(ctx, c.name, c.span)
        elif f.type.kind != "bool":
            yield _err(
                "T005",
                c.span,
                f"`{c.name}` is a {f.type} field, not true/false; write a comparison",
                f"for example `{c.name} is set`" if f.type.kind != "enum" else f"for example `{c.name} is {f.type.words[0]}`",
            )
    elif isinstance(c, m.Speaks):
        yield _err("T006", c.span, f"`speaks` tests a rep; use it in `require` or `prefer`, not in {where}")
    elif isinstance(c, m.Compare):
        for o in (c.left, c.right):
            if isinstance(o, m.SkillRef):
                yield _err("T006", o.span, f"`skill(...)` is a rep's skill; use it in `require` or `prefer`, not in {where}")
            elif isinstance(o, m.FieldRef):
                if o.name in REP_ATTRIBUTES and o.name not in ctx.fields:
                    yield _err("T006", o.span, f"`{o.name}` is a rep's figure; use it in `require` or `prefer`, not in {where}")
                else:
                    yield from _known_field(ctx, o.name, o.span)
        yield from _compare_types(ctx, c, rep_context=False)


def _rep_cond(ctx: Context, c: m.Cond) -> Iterator[Diagnostic]:
    """Names and types in a condition about reps (`require`, `prefer`)."""
    if isinstance(c, (m.And, m.Or)):
        for i in c.items:
            yield from _rep_cond(ctx, i)
    elif isinstance(c, m.Not):
        yield from _rep_cond(ctx, c.item)
    elif isinstance(c, m.Flag):
        f = ctx.fields.get(c.name)
        if f is not None and f.type.kind == "bool" and c.name not in ctx.levels:
            return
        if c.name not in ctx.levels:
            guess = _mean(c.name, ctx.levels)
            yield _warn(
                "N003", c.span, f"no rep has level `{c.name}`; levels in the team: {', '.join(sorted(ctx.levels)) or 'none'}", guess
            )
    elif isinstance(c, m.Speaks):
        if not c.literal and c.name in ctx.fields:
            f = ctx.fields[c.name]
            if f.type.kind not in ("text", "enum"):
                yield _err("T001", c.span, f"`speaks {c.name}`: {c.name} is a {f.type} field, not a language")
    elif isinstance(c, m.Is):
        if c.name in ("level", "rep") and c.name not in ctx.fields:
            known = ctx.levels if c.name == "level" else set(ctx.reps)
            for w in c.words:
                if w not in known:
                    code = "N003" if c.name == "level" else "N002"
                    sev = _warn if c.name == "level" else _err
                    yield sev(code, c.span, f"no rep {'has level' if c.name == 'level' else 'is named'} `{w}`", _mean(w, known))
        else:
            yield from _is_words(ctx, c)
    elif isinstance(c, m.IsSet):
        yield from _known_field(ctx, c.name, c.span)
    elif isinstance(c, m.Compare):
        for o in (c.left, c.right):
            if isinstance(o, m.SkillRef):
                if o.name in ctx.fields:
                    f = ctx.fields[o.name]
                    if f.type.kind not in ("enum", "text"):
                        yield _err("T001", o.span, f"`skill({o.name})`: {o.name} is a {f.type} field; its value cannot name a skill")
                elif o.name not in ctx.skills:
                    yield _warn(
                        "N005",
                        o.span,
                        f"no rep lists skill `{o.name}`; every rep has the default {ctx.policy.team.skill_default if ctx.policy.team else 1}",
                        _mean(o.name, ctx.skills | set(ctx.fields)),
                    )
            elif isinstance(o, m.FieldRef) and not (o.name in REP_ATTRIBUTES and o.name not in ctx.fields):
                yield from _known_field(ctx, o.name, o.span, extra=REP_ATTRIBUTES)
        yield from _compare_types(ctx, c, rep_context=True)


def _known_field(ctx: Context, name: str, span: m.Span, extra: Iterable[str] = ()) -> Iterator[Diagnostic]:
    if name not in ctx.fields:
        yield _err("N001", span, f"unknown field `{name}`; the lead has no such field", _mean(name, list(ctx.fields) + list(extra)))


def _is_words(ctx: Context, c: m.Is) -> Iterator[Diagnostic]:
    f = ctx.fields.get(c.name)
    if f is None:
        yield from _known_field(ctx, c.name, c.span)
        return
    kind = f.type.kind
    if kind in NUMERIC or kind == "bool":
        yield _err(
            "T004",
            c.span,
            f"`{c.name}` is a {f.type} field; `is`/`in` test words",
            f"compare numbers with <, <=, >, >=, == or != (for example `{c.name} >= 3`)"
            if kind != "bool"
            else f"write `{c.name}` or `not {c.name}`",
        )
    elif kind == "enum":
        for w in c.words:
            if w not in f.type.words:
                yield _err("T002", c.span, f"`{w}` is not a word of field `{c.name}` ({', '.join(f.type.words)})", _mean(w, f.type.words))
    elif kind == "rep":
        for w in c.words:
            if w not in ctx.reps:
                yield _err("N002", c.span, f"unknown rep `{w}`", _mean(w, ctx.reps))


def _operand_kind(ctx: Context, o: m.Operand, rep_context: bool) -> str | None:
    if isinstance(o, m.Num):
        return "number"
    if isinstance(o, m.Str):
        return "text"
    if isinstance(o, m.SkillRef):
        return "number"
    if isinstance(o, m.FieldRef):
        if rep_context and o.name in REP_ATTRIBUTES and o.name not in ctx.fields:
            return "number"
        f = ctx.fields.get(o.name)
        if f is None:
            return None
        return "number" if f.type.kind in NUMERIC else ("bool" if f.type.kind == "bool" else "word")
    return None


def _compare_types(ctx: Context, c: m.Compare, rep_context: bool) -> Iterator[Diagnostic]:
    lk = _operand_kind(ctx, c.left, rep_context)
    rk = _operand_kind(ctx, c.right, rep_context)
    if lk is None or rk is None:
        return
    if {lk, rk} == {"number"}:
        return
    if c.op in ("==", "!=") and lk in ("word", "text") and rk in ("word", "text"):
        word_field = next((o for o in (c.left, c.right) if isinstance(o, m.FieldRef)), None)
        lit = next((o for o in (c.left, c.right) if isinstance(o, m.Str)), None)
        if word_field is not None and lit is not None:
            f = ctx.fields[word_field.name]
            if f.type.kind == "enum" and lit.value not in f.type.words:
                yield _err("T002", c.span, f"`{lit.value}` is not a word of field `{f.name}` ({', '.join(f.type.words)})")
        return
    field = next((o for o in (c.left, c.right) if isinstance(o, m.FieldRef) and _operand_kind(ctx, o, rep_context) != "number"), None)
    if field is not None:
        f = ctx.fields[field.name]
        hint = f"test words with `is` (for example `{f.name} is {f.type.words[0]}`)" if f.type.kind == "enum" else None
        yield _err("T001", c.span, f"`{f.name}` is a {f.type} field and cannot be compared with a number using `{c.op}`", hint)
    else:
        yield _err("T001", c.span, f"cannot compare a {lk} with a {rk} using `{c.op}`")


def check_conditions(ctx: Context) -> Iterator[Diagnostic]:
    p = ctx.policy
    for s in p.scores:
        for line in s.lines:
            if line.cond is not None:
                yield from _lead_cond(ctx, line.cond, "a score line")
    for e in p.exceptions:
        yield from _lead_cond(ctx, e.when, "an exception's `when`")
    for pipe in list(p.routes) + list(p.exceptions):
        for s in pipe.steps:
            if isinstance(s, m.Require):
                yield from _rep_cond(ctx, s.cond)
            elif isinstance(s, m.Prefer):
                for o in s.options:
                    yield from _rep_cond(ctx, o)


# ---------------------------------------------------------------- routing
def check_routing_names(ctx: Context) -> Iterator[Diagnostic]:
    p = ctx.policy
    routes = {r.tier for r in p.routes}
    for t in p.tiers:
        if t.low > t.high:
            yield _err("T012", t.span, f"tier `{t.name}` range {t.low}..{t.high} is empty (low above high)")
        if t.name not in routes:
            yield _err("N008", t.span, f"tier `{t.name}` has no route", f"add `route {t.name} {{ ... }}`")
    for r in p.routes:
        if r.tier not in ctx.tiers:
            yield _err("N004", r.span, f"route for unknown tier `{r.tier}`", _mean(r.tier, ctx.tiers))
    for pipe in list(p.routes) + list(p.exceptions):
        for s in pipe.steps:
            if isinstance(s, m.OtherwiseRoute) and s.tier not in ctx.tiers:
                yield _err("N004", s.span, f"`otherwise route {s.tier}`: unknown tier `{s.tier}`", _mean(s.tier, ctx.tiers))
            elif isinstance(s, m.Lottery):
                if not 0 <= s.percent <= 100:
                    yield _err("T009", s.span, f"lottery ratio {s.percent:g}% is outside 0%..100%")
                if "id" not in ctx.fields:
                    yield _err(
                        "N010",
                        s.span,
                        "a lottery draws from the lead's `id`, but the lead has no `id` field",
                        "add `id text` to the lead block",
                    )
            elif isinstance(s, m.Pick) and (pick := PICKS.get(s.kind)) is not None and pick.draws and "id" not in ctx.fields:
                yield _err(
                    "N010",
                    s.span,
                    f"`pick {pick.words}` draws from the lead's `id`, but the lead has no `id` field",
                    "add `id text` to the lead block",
                )
            elif isinstance(s, m.Assign):
                f = ctx.fields.get(s.name)
                if f is not None:
                    if f.type.kind != "rep":
                        yield _err(
                            "T013",
                            s.span,
                            f"`assign {s.name}`: field {s.name} is a {f.type} field, not a rep",
                            f"declare it as `{s.name} rep?`",
                        )
                elif s.name not in ctx.reps:
                    yield _err(
                        "N001",
                        s.span,
                        f"`assign {s.name}`: no rep-typed field or rep named `{s.name}`",
                        _mean(s.name, [n for n, fl in ctx.fields.items() if fl.type.kind == "rep"] + list(ctx.reps)),
                    )
    for s in p.sla:
        if s.tier not in ctx.tiers:
            yield _err("N004", s.span, f"SLA for unknown tier `{s.tier}`", _mean(s.tier, ctx.tiers))
        if s.minutes <= 0:
            yield _err("T014", s.span, f"SLA for `{s.tier}`: the response time must be above 0")


# ---------------------------------------------------------------- examples
def check_examples(ctx: Context) -> Iterator[Diagnostic]:
    schema = LeadSchema(ctx.policy.fields, list(ctx.reps))
    exceptions = {e.name for e in ctx.policy.exceptions}
    for ex in ctx.policy.examples:
        raw = {}
        spans = {}
        for k, v, span in ex.lead:
            raw[k] = v
            spans[k] = span
        if ctx.policy.fields:
            try:
                schema.validate(raw)
            except LeadError as err:  # report each field at its place
                for fe in getattr(err, "errors", []):
                    yield _err("T008", spans.get(fe.field, ex.span), f'example "{ex.name}": {fe.message}')
        for rep, _ in list(ex.open) + list(ex.quota):
            if rep not in ctx.reps:
                yield _err("N002", ex.span, f'example "{ex.name}": unknown rep `{rep}` in state', _mean(rep, ctx.reps))
        for rep in ex.away:
            if rep not in ctx.reps:
                yield _err("N002", ex.span, f'example "{ex.name}": unknown rep `{rep}` in state', _mean(rep, ctx.reps))
        for e in ex.expects:
            known, code, kind = None, "", ""
            if e.kind == "tier":
                known, code, kind = ctx.tiers, "N004", "tier"
            elif e.kind == "route":
                known, code, kind = ctx.tiers, "N004", "route"
            elif e.kind == "rep":
                known, code, kind = ctx.reps, "N002", "rep"
            elif e.kind == "level":
                known, code, kind = ctx.levels, "N003", "level"
            elif e.kind == "exception":
                known, code, kind = exceptions, "N006", "exception"
            elif e.kind == "queue":
                known, code, kind = ctx.queues, "N009", "queue"
            if known is not None and e.value not in known:
                yield _err(code, e.span, f'example "{ex.name}" expects unknown {kind} `{e.value}`', _mean(e.value or "", known))
        if not ex.expects:
            yield _warn("S006", ex.span, f'example "{ex.name}" expects nothing, so it cannot fail', "add `expect rep R` or `expect tier T`")


CHECKS: list[Check] = [
    check_required_blocks,
    check_duplicates,
    check_steps_order,
    check_schema,
    check_team,
    check_conditions,
    check_routing_names,
    check_examples,
]


def check_policy(policy: m.Policy, extra: Iterable[Diagnostic] = ()) -> list[Diagnostic]:
    """Every diagnostic for a parsed policy, in a stable order."""
    ctx = Context(policy)
    out = list(extra)
    for check in CHECKS:
        out.extend(check(ctx))
    if not any(d.is_error for d in out):  # the analysis needs sound names and types
        out.extend(analyze(ctx))
    seen = set()
    unique = []
    for d in out:
        key = (d.code, d.span.file, d.span.line, d.span.col, d.message)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


__all__ = ["CHECKS", "Context", "check_policy", "ERROR", "WARNING", "NOTE"]
