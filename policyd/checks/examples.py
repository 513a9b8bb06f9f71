"""Checks on the policy's examples: their leads fit the schema, their state and expectations name what exists.

Examples are the policy's own tests; a typo in one would make it fail for the wrong
reason or, expecting nothing, never fail at all.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..engine.schema import LeadError, LeadSchema
from ..lang.diagnostics import Diagnostic
from .context import Context
from .emit import _err, _mean, _warn


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
        for rep in [r for r, _ in ex.open] + [r for r, _ in ex.quota] + list(ex.away):
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
