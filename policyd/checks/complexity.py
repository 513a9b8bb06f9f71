"""Sales-ops rules of thumb on size: too many conditional steps, too many score dimensions (A012, A013).

Its own module because it reads only the policy's shape, never a lead.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..lang import model as m
from ..lang.diagnostics import WARNING, Diagnostic
from .findings import _diag
from .leadspace import LeadSpace
from .routing import _pipes

MAX_CONDITIONAL_STEPS = 5
MAX_SCORE_DIMENSIONS = 10


# ---------------------------------------------------------------- complexity
def complexity(a: LeadSpace) -> Iterator[Diagnostic]:
    """A012, A013: sales-ops rules of thumb; beyond them managers stop applying rules correctly."""
    for kind, name, pipe in _pipes(a.policy):
        n = sum(1 for s in pipe.steps if isinstance(s, (m.Require, m.Prefer)))
        if n > MAX_CONDITIONAL_STEPS:
            yield _diag(
                "A012",
                WARNING,
                pipe.span,
                f"{kind} `{name}` has {n} conditional steps (more than {MAX_CONDITIONAL_STEPS})",
                "merge requirements with `and`, or split the tier",
            )
    scores = a.policy.scores
    if len(scores) > MAX_SCORE_DIMENSIONS:
        yield _diag(
            "A013",
            WARNING,
            scores[MAX_SCORE_DIMENSIONS].span,
            f"{len(scores)} score dimensions (more than {MAX_SCORE_DIMENSIONS})",
            "merge related dimensions; beyond ten, people stop applying the score correctly",
        )
