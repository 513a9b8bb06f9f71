"""Checks on the header's governance clauses (`approve ...`, docs/governance.md).

Why: a clause that names nothing the daemon can recognise would silently require
nothing, so a typo in `approve overrides of lotery` must be an error, not a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..lang.diagnostics import Diagnostic
from .context import Context
from .emit import _err, _mean, _warn


def check_approvals(ctx: Context) -> Iterator[Diagnostic]:
    info = ctx.policy.info
    if info is None:
        return
    seen: dict[str, int] = {}
    for a in info.approvals:
        key = a.text() if a.kind != "overrides_over" else "overrides_over"
        if key in seen:
            yield _warn("N014", a.span, f"`{a.text()}` repeats the clause on line {seen[key]}", "keep one of them")
        seen.setdefault(key, a.span.line)
        if a.kind == "overrides_of" and a.what != "lottery" and a.what not in ctx.tiers:
            hint = _mean(a.what, ["lottery", *ctx.tiers]) or f"expected `lottery` or a tier ({', '.join(ctx.tiers) or 'none declared'})"
            yield _err("N015", a.span, f"`{a.text()}`: `{a.what}` is neither `lottery` nor a tier", hint)
        if a.kind == "overrides_over":
            if a.limit < 0:
                yield _err("T022", a.span, f"`{a.text()}`: the number of overrides must be 0 or more")
