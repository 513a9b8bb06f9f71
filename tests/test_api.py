"""The public API, used as a program embedding policyd would use it (and the README's example of it)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import policyd

from .conftest import POLICIES, ROOT

GLOBEX = json.loads((POLICIES / "leads" / "globex.json").read_text())


@pytest.fixture(scope="module")
def policy() -> policyd.Policy:
    return policyd.load(POLICIES / "inbound.policy")


def test_every_public_name_resolves_and_is_documented():
    for name in policyd.__all__:
        value = getattr(policyd, name)
        assert value is not None
        if callable(value) and not isinstance(value, type(policyd.FORMATS)):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"
    assert set(policyd.__all__) <= set(dir(policyd))
    with pytest.raises(AttributeError, match="no attribute 'decide_fast'"):
        policyd.decide_fast  # noqa: B018


def test_importing_policyd_loads_neither_the_parser_nor_the_templates():
    code = "import sys, policyd; s = policyd.State(); print(sorted(m for m in ('lark', 'jinja2', 'policyd.lang.parse', 'policyd.engine.state') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['policyd.engine.state']"]


def test_a_policy_loads_decides_and_explains(policy):
    assert (policy.name, policy.tiers, policy.reps[:2]) == ("inbound_b2b", ("high", "medium", "low"), ("alice", "carol"))
    state = policyd.State(open={"alice": 10, "carol": 12, "farah": 4})
    d = policy.decide(GLOBEX, state, seed="2026-W48")
    assert (d.rep, d.tier, d.by, d.route) == ("farah", "high", "route", "high")
    assert d.trace is None and policy.decide(GLOBEX, state, seed="2026-W48", trace=True).trace
    assert policy.decide(dict(GLOBEX), policyd.State.from_json(state.to_json()), "2026-W48") == d
    text = policy.explain(d, "text", why_not="kofi")
    assert text.startswith("Lead L-2 (Globex) -> farah") and "Removed at line 118" in text
    assert json.loads(policy.explain(d, "json"))["outcome"]["rep"] == "farah"
    assert policy.explanation(d, "kofi")["why_not"]["line"] == 118
    assert "<strong>farah</strong>" in policy.explain(d, "html")
    assert policy.explain(d, "md").startswith("#")
    with pytest.raises(ValueError, match="format 'pdf': expected one of text, md, html, json"):
        policy.explain(d, "pdf")


def test_a_refused_lead_names_every_bad_field(policy):
    with pytest.raises(policyd.LeadError) as err:
        policy.decide(dict(GLOBEX, budget="lots", employees="many"))
    assert sorted(e.field for e in err.value.errors) == ["budget", "employees"]
    assert all(isinstance(e, policyd.FieldError) for e in err.value.errors)


def test_a_policy_with_errors_raises_with_its_diagnostics(tmp_path):
    with pytest.raises(policyd.PolicyError) as err:
        policyd.load_text("lead { id text }", "draft.policy")
    assert [d.code for d in err.value.diagnostics] == ["S001", "S001", "S001"]
    assert policyd.format_diagnostics(err.value.diagnostics, err.value.sources).startswith("draft.policy:1:1: error S001")
    bad = tmp_path / "bad.policy"
    bad.write_text("lead { id text ")
    assert [d.code for d in policyd.check(bad)] == ["P004"]
    with pytest.raises(policyd.PolicyError):
        policyd.load(bad)
    assert policyd.check(POLICIES / "inbound.policy") == policyd.load(POLICIES / "inbound.policy").diagnostics
    assert [d.code for d in policyd.check_text("lead { id text }", "draft.policy")] == ["S001", "S001", "S001"]


def test_state_transitions_and_an_sla_move(policy):
    state = policyd.State()
    d = policy.decide(dict(GLOBEX, id="L-3", employees=20, budget="unknown", authority="info_gathering", timing_months=None))
    s1 = policyd.apply(state, d, at=10.0)
    assert s1.open == {d.rep: 1} and s1.last == {d.rep: 10.0} and state.open == {}
    move = policyd.next_holder(policy, s1, d, [d.rep], 1)
    assert isinstance(move, policyd.Move) and move.rep != d.rep
    s2 = policyd.reassign(s1, d.rep, move, at=20.0)
    assert s2.open == {d.rep: 0, move.rep: 1}
    assert policyd.close(s2, move.rep).open[move.rep] == 0
    assert policyd.set_away(s2, "alice", True).away == {"alice"}
    assert policyd.State.from_json(s2.to_json()) == s2
    with pytest.raises(policyd.StateError):
        policyd.State.from_json({"open": {"alice": -1}})


def test_the_readme_example_runs_as_written():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Python API")
    block = re.search(r"```python\n(.*?)```", text[start : text.index("\n## ", start + 1)], re.S).group(1)
    out = subprocess.run([sys.executable, "-c", block], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "farah high route"
    assert lines[1] == "Lead L-2 (Globex) -> farah"
    assert "5" in lines and "['S001', 'S001', 'S001']" in lines
    assert lines[-1] == "draft.policy:1:1: error S001: the policy has no `score` block"
