"""How an analysis words a finding: source text, score sets, a lead, the diagnostic itself.

One place, so every analysis quotes the policy, names totals and shows its
counterexample alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..lang import model as m
from ..lang.diagnostics import Diagnostic


def _src(policy: m.Policy, span: m.Span) -> str:
    """The text of a span as written (its first line when it spans several)."""
    line = policy.source_line(span)
    if not line:
        return ""
    end = span.end_col - 1 if span.end_line == span.line and span.end_col > span.col else len(line)
    return line[span.col - 1 : end].strip()


def _scores(totals: Iterable[int]) -> str:
    """`13`, `9 and 10`, `1..3 and 13`: a set of totals in words."""
    ts = sorted(set(totals))
    runs: list[str] = []
    i = 0
    while i < len(ts):
        j = i
        while j + 1 < len(ts) and ts[j + 1] == ts[j] + 1:
            j += 1
        if j - i >= 2:
            runs.append(f"{ts[i]}..{ts[j]}")
        else:
            runs.extend(str(t) for t in ts[i : j + 1])
        i = j + 1
    if len(runs) == 1:
        return runs[0]
    return ", ".join(runs[:-1]) + " and " + runs[-1]


def _plural(totals: Iterable[int]) -> str:
    ts = set(totals)
    return ("score " if len(ts) == 1 else "scores ") + _scores(ts)


def _are(totals: Iterable[int]) -> str:
    """The verb after `_plural(totals)`: `is` for one score, `are` for several."""
    return "is" if len(set(totals)) == 1 else "are"


def _show(lead: dict) -> str:
    return json.dumps(lead, ensure_ascii=False)


def _diag(code: str, severity: str, span: m.Span, message: str, hint: str | None = None, lead: dict | None = None) -> Diagnostic:
    extra = {"counterexample": lead} if lead is not None else {}
    return Diagnostic(code, severity, span, message, hint, extra)
