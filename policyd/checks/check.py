"""Static checks on names and types: an ordered tuple of small named functions.

Each check takes a Context and yields Diagnostics with a stable code. The checks live
by job (structure.py, conditions.py, examples.py; the routing-name check here); the
deeper analysis (score gaps, dead lines, empty routes) lives in analyze.py
(`ANALYSES`). `check_policy` runs the analysis after `CHECKS` when they found no error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from ..engine.picks import PICKS
from ..lang import model as m
from ..lang.diagnostics import ERROR, NOTE, WARNING, Diagnostic
from .analyze import analyze
from .conditions import check_conditions
from .context import Context
from .emit import _err, _mean
from .examples import check_examples
from .governance import check_approvals
from .levers import check_groups, check_levers, check_shares, check_skill_typos
from .structure import check_duplicates, check_required_blocks, check_schema, check_steps_order, check_team

Check = Callable[[Context], Iterable[Diagnostic]]


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


CHECKS: list[Check] = [
    check_required_blocks,
    check_duplicates,
    check_steps_order,
    check_schema,
    check_team,
    check_conditions,
    check_routing_names,
    check_examples,
    check_levers,
    check_skill_typos,
    check_shares,
    check_groups,
    check_approvals,
]


def check_policy(policy: m.Policy, extra: Iterable[Diagnostic] = ()) -> list[Diagnostic]:
    """Every diagnostic for a parsed policy, in a stable order."""
    return checked(policy, extra)[0]


def checked(policy: m.Policy, extra: Iterable[Diagnostic] = ()) -> tuple[list[Diagnostic], Context]:
    """`check_policy`'s diagnostics, and the context the checks read (with the compiled policy, when they built it)."""
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
    return unique, ctx


__all__ = ["CHECKS", "Context", "check_policy", "checked", "ERROR", "WARNING", "NOTE"]
