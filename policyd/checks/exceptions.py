"""Analyses of exceptions: one that never applies, two that overlap (A006, A007).

Grouped because both ask which exception places a lead first, in file order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..lang import model as m
from ..lang.diagnostics import WARNING, Diagnostic
from .findings import _diag, _show
from .leadspace import LeadSpace, _fields_of


# ---------------------------------------------------------------- exceptions
def _decisive(e: m.Exception_) -> bool:
    """An exception that places every lead its `when` lets in (it never falls through)."""
    return any(isinstance(s, (m.QueueAction, m.OtherwiseQueue, m.OtherwiseRoute)) for s in e.steps)


def _when_holds(a: LeadSpace, e: m.Exception_) -> Callable[[dict], bool]:
    return a.lead_fn(e.when)


def exception_never_applies(a: LeadSpace) -> Iterator[Diagnostic]:
    """A006: an exception whose `when` never holds, or whose leads all go to an earlier exception."""
    excs = a.policy.exceptions
    earlier: list[m.Exception_] = []  # the decisive exceptions above the current one
    earlier_fields: set[str] = set()
    for e in excs:
        fields = _fields_of(e.when) | earlier_fields
        above = len(earlier)
        if _decisive(e):
            earlier.append(e)
            earlier_fields |= _fields_of(e.when)
        if not a.exact(fields):
            continue
        fn = _when_holds(a, e)
        assigns, _ = a.assignments(fields)
        hits = [x for x in assigns if fn(x)]
        if not hits:
            yield _diag(
                "A006", WARNING, e.span, f"exception `{e.name}` can never apply: its `when` never holds", "fix or remove the condition"
            )
            continue
        efns = [(x, _when_holds(a, x)) for x in earlier[:above]]
        if all(any(f(h) for _, f in efns) for h in hits):
            names = sorted({x.name for h in hits for x, f in efns if f(h)}, key=[x.name for x in excs].index)
            first = names[0]
            partials = [h for h in hits if efns and next(x for x, f in efns if f(h)).name == first]
            lead = a.find(partials, lambda d, fn=fn, first=first: d.exception == first and fn(d.lead))
            shown = " and ".join(f"`{n}`" for n in names)
            hint = f"move it above {shown}, or narrow {'its' if len(names) == 1 else 'their'} `when`"
            if lead:
                hint += f"; for example this lead matches it but is placed by `{first}`: {_show(lead)}"
            yield _diag(
                "A006",
                WARNING,
                e.span,
                f"exception `{e.name}` can never apply: every lead it matches is placed by {' or '.join(f'`{n}`' for n in names)} first",
                hint,
                lead,
            )


def exception_overlaps(a: LeadSpace) -> Iterator[Diagnostic]:
    """A007: two exceptions that always place their leads, both match a lead, and place it differently.

    Only when both are decisive (`queue`, or an `otherwise`): then the file order silently
    decides between two final rules. An exception that can fall through (`assign`, a
    `require` with no `otherwise`) is written to be tried in order, as is a filter in front
    of one (the reference's `named_account` before `strategic`), so that is not reported.
    """
    excs = [e for e in a.policy.exceptions if _decisive(e)]  # only decisive pairs can conflict
    for j, ej in enumerate(excs):
        fj = _when_holds(a, ej)
        for ei in excs[:j]:
            if ei.steps == ej.steps:
                continue
            fi = _when_holds(a, ei)
            assigns, _ = a.assignments(_fields_of(ei.when) | _fields_of(ej.when))
            both = [x for x in assigns if fi(x) and fj(x)]
            only_j = any(fj(x) and not fi(x) for x in assigns)
            if not both or not only_j:  # not only_j: wholly shadowed, reported as A006
                continue
            lead = a.find(both, lambda d, fj=fj, ei=ei: d.exception == ei.name and fj(d.lead))
            if lead is None:
                continue
            yield _diag(
                "A007",
                WARNING,
                ej.span,
                f"exceptions `{ei.name}` and `{ej.name}` overlap with different outcomes; `{ei.name}` (line {ei.span.line}) takes the leads both match",
                f"narrow one `when` or merge them; for example this lead matches both and is placed by `{ei.name}`: {_show(lead)}",
                lead,
            )
