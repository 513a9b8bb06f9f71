"""Policies built to break the tools get a diagnostic, never a traceback (P013)."""

from __future__ import annotations

import pytest

from policyd.checks.load import load_text
from policyd.lang.diagnostics import PolicyError

from .conftest import POLICIES

BASE = (POLICIES / "inbound.policy").read_text(encoding="utf-8")


def _with_score(cond: str) -> str:
    i = BASE.index("score ")
    return BASE[:i] + "score deep {\n  0 when " + cond + "\n  0 otherwise\n}\n\n" + BASE[i:]


@pytest.mark.parametrize(
    "cond",
    ["not " * 200 + "budget is stated", "(" * 1000 + "budget is stated" + ")" * 1000, "not (" * 300 + "budget is stated" + ")" * 300],
    ids=["200 nots", "1000 parentheses", "300 not-parentheses"],
)
def test_a_condition_nested_too_deeply_is_a_diagnostic(cond):
    with pytest.raises(PolicyError) as err:
        load_text(_with_score(cond), "deep.policy")
    (diag,) = err.value.diagnostics
    assert diag.code == "P013" and diag.span.line > 1
    assert "nested too deeply" in diag.message


def test_reasonable_nesting_still_compiles_and_decides():
    loaded = load_text(_with_score("(" * 30 + "budget is stated" + ")" * 30), "ok.policy")
    assert [d.code for d in loaded.errors] == []
    total, lines = loaded.compiled.score_fn(loaded.compiled.schema.validate(_lead()))  # the generated code runs
    assert lines[0] == 0  # the deep line fired: budget is stated


def _lead() -> dict:
    import json

    return json.loads((POLICIES / "leads" / "globex.json").read_text(encoding="utf-8"))


def test_a_wide_tier_range_builds_no_table_of_every_total():
    text = BASE.replace(
        BASE[BASE.index("tiers {") : BASE.index("}", BASE.index("tiers {")) + 1],
        "tiers {\n  high 10..1000000000000\n  medium 5..9\n  low 0..4\n}",
    )
    loaded = load_text(text, "wide.policy")
    c = loaded.compiled
    assert not isinstance(c.tier_by_total, dict)  # nothing of the size of the range was built
    assert [c.tier_by_total.get(t) for t in (0, 4, 5, 9, 10, 10**12, 10**12 + 1, -1)] == [2, 2, 1, 1, 0, 0, None, None]


def test_checking_many_exceptions_compiles_each_condition_once_and_enumerates_once(monkeypatch):
    """What kept checking linear in the file: no condition compiled, nor lead space enumerated, again per exception."""
    import sys
    from pathlib import Path

    from policyd.checks import leadspace
    from policyd.engine.codegen import Compiled

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from bench_check import make_policy

    compiled, enumerated = [], []
    real_fn, real_enum = Compiled._lead_fn, leadspace.LeadSpace.assignments

    def counting_fn(self, c):
        compiled.append(id(c))
        return real_fn(self, c)

    def counting_enum(self, fields):
        out = real_enum(self, fields)
        enumerated.append(id(out[0]))
        return out

    monkeypatch.setattr(Compiled, "_lead_fn", counting_fn)
    monkeypatch.setattr(leadspace.LeadSpace, "assignments", counting_enum)
    work = {}
    for n in (100, 200):
        compiled.clear()
        enumerated.clear()
        loaded = load_text(make_policy(n), "many.policy")
        assert [d.code for d in loaded.diagnostics if d.severity == "error"] == []
        work[n] = (len(compiled), len(set(enumerated)))
    # twice the exceptions: about twice the conditions compiled, and no new enumeration per exception
    assert work[200][0] <= 2 * work[100][0] + 10
    assert work[200][1] == work[100][1] < 20
