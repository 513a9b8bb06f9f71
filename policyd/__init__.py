"""policyd as a library: load a policy, decide leads, explain decisions, move the state.

    import policyd

    policy = policyd.load("policies/inbound.policy")  # PolicyError (with .diagnostics) if it has errors
    state = policyd.State(open={"alice": 3})
    d = policy.decide({"id": "L-1", ...}, state, seed="2026-W48")
    print(policy.explain(d, "text", why_not="kofi"))
    state = policyd.apply(state, d, at=1_700_000_000.0)

    ledger = policyd.Ledger(state)  # a loop over many leads: the same moves, in place
    d = policy.decide({"id": "L-2", ...}, ledger, seed="2026-W48")
    policyd.apply(ledger, d, at=1_700_000_060.0)  # returns the ledger; d.state stays as it was

Everything here is the supported surface; the modules under it may move. Deciding
and explaining are `Policy` methods (a module-level `explain` would be shadowed by
the `policyd.explain` package). Names are imported on first use, so `import
policyd` stays cheap (the parser and the templates load only when a policy is
loaded or an explanation rendered).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing would double the cost of `import policyd`
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .checks.load import Loaded
    from .engine.codegen import Compiled
    from .engine.decision import Decision
    from .engine.ledger import Ledger
    from .engine.state import State
    from .lang.diagnostics import Diagnostic

__all__ = [
    "FORMATS",
    "Decision",
    "Diagnostic",
    "FieldError",
    "LeadError",
    "Ledger",
    "LotteryDraw",
    "Move",
    "Policy",
    "PolicyError",
    "State",
    "StateError",
    "apply",
    "check",
    "check_text",
    "close",
    "format_diagnostics",
    "load",
    "load_text",
    "next_holder",
    "reassign",
    "set_away",
]

# name -> module it lives in, imported on first use
_LAZY = {
    "FORMATS": "policyd.explain.explain",
    "Decision": "policyd.engine.decision",
    "LotteryDraw": "policyd.engine.draw",
    "Ledger": "policyd.engine.ledger",
    "State": "policyd.engine.state",
    "StateError": "policyd.engine.state",
    "apply": "policyd.engine.state",
    "close": "policyd.engine.state",
    "reassign": "policyd.engine.state",
    "set_away": "policyd.engine.state",
    "Move": "policyd.engine.picks",
    "LeadError": "policyd.engine.schema",
    "FieldError": "policyd.engine.schema",
    "Diagnostic": "policyd.lang.diagnostics",
    "PolicyError": "policyd.lang.diagnostics",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'policyd' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class Policy:
    """A checked policy, ready to decide. Get one from `load` or `load_text`."""

    def __init__(self, loaded: Loaded):
        from .engine.decide import decide_positional as _decide

        self._loaded = loaded
        self._compiled = loaded.compiled
        self._decide = _decide  # looked up once: `decide` runs per lead

    def __repr__(self) -> str:
        return f"<policyd.Policy {self.name!r} from {self.file}>"

    @property
    def name(self) -> str:
        return self._loaded.policy.name

    @property
    def file(self) -> str:
        return self._loaded.policy.file

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """The warnings and notes the check found (a policy with errors is never loaded)."""
        return list(self._loaded.diagnostics)

    @property
    def reps(self) -> tuple[str, ...]:
        """The team, in team order."""
        return self.compiled.rep_names

    @property
    def tiers(self) -> tuple[str, ...]:
        return self.compiled.tier_names

    @property
    def compiled(self) -> Compiled:
        """The engine's compiled form (for the modules under policyd; not needed to embed)."""
        return self._compiled

    def decide(
        self,
        lead: Mapping[str, Any],
        state: State | Ledger | None = None,
        seed: str = "",
        *,
        lottery: bool = True,
        seed_id: str | None = None,
        trace: bool = False,
        at: float | None = None,
    ) -> Decision:
        """Who gets `lead` given `state`; LeadError (with .errors) if the lead schema refuses it.

        Deterministic: the same policy, lead, state, seed, lottery switch and time `at`
        (epoch seconds: caps per period and working hours read it) give the same
        decision. `trace=True` records every step; `explain` does that itself. From a
        Ledger, the decision keeps the ledger's state of this moment as its `state`.
        """
        return self._decide(self._compiled, lead, state, seed, lottery, seed_id, trace, at)

    def explain(self, decision: Decision, format: str = "text", why_not: str | None = None) -> str:
        """The decision explained line by line, in one of FORMATS; `why_not` names a rep to answer for.

        A decision made without the trace is decided again with it (same answer)."""
        from .explain.explain import render

        return render(self.compiled, decision, format, why_not)

    def explanation(self, decision: Decision, why_not: str | None = None) -> dict:
        """The explanation as data (what the `json` format prints)."""
        from .explain.explain import explain as _explain

        return _explain(self.compiled, decision, why_not)


def load(path: str | Path) -> Policy:
    """Parse and check a policy file; PolicyError carrying the diagnostics if it has errors."""
    from .checks.load import load_path

    return _checked(load_path(path))


def load_text(text: str, name: str = "<policy>", base_dir: str | Path | None = None) -> Policy:
    """As `load`, from text; `name` is the file name diagnostics show, `base_dir` resolves `team from`."""
    from pathlib import Path

    from .checks.load import load_text as _load_text

    return _checked(_load_text(text, name, Path(base_dir) if base_dir is not None else None))


def check(path: str | Path) -> list[Diagnostic]:
    """Every diagnostic of a policy file (errors included, a syntax error too); never raises for a bad policy."""
    from .checks.load import load_path
    from .lang.diagnostics import PolicyError as _PolicyError

    try:
        return list(load_path(path).diagnostics)
    except _PolicyError as err:
        return list(err.diagnostics)


def check_text(text: str, name: str = "<policy>", base_dir: str | Path | None = None) -> list[Diagnostic]:
    """As `check`, for policy text."""
    from pathlib import Path

    from .checks.load import load_text as _load_text
    from .lang.diagnostics import PolicyError as _PolicyError

    try:
        return list(_load_text(text, name, Path(base_dir) if base_dir is not None else None).diagnostics)
    except _PolicyError as err:
        return list(err.diagnostics)


def next_holder(policy: Policy, state: State, decision: Decision, tried: Sequence[str], attempt: int, at: float | None = None):
    """Who takes a lead its holder let go (an SLA miss) at time `at`: a Move(rep, updates) for `reassign`, or None."""
    from .engine.picks import next_holder as _next_holder

    return _next_holder(policy.compiled, state, decision, tried, attempt, at)


def format_diagnostics(diagnostics: Sequence[Diagnostic], sources: Mapping[str, str] | None = None) -> str:
    """Diagnostics as `policyd check` prints them (file:line:col, the source line and a caret)."""
    from .lang.diagnostics import format_all

    return format_all(diagnostics, dict(sources or {}))


def _checked(loaded: Loaded) -> Policy:
    if loaded.errors:
        from .lang.diagnostics import PolicyError as _PolicyError

        raise _PolicyError(loaded.errors, loaded.sources)
    return Policy(loaded)
