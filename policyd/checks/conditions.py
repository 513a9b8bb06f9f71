"""Names and types inside conditions: score lines and `when` test the lead, `require` and `prefer` test reps.

A condition is read differently by where it stands (a lead field, or a rep's level,
skill or figure), so the two readings are checked by their own walks over one tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..lang import model as m
from ..lang.diagnostics import Diagnostic
from .context import NUMERIC, REP_ATTRIBUTES, Context
from .emit import _err, _mean, _warn


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
