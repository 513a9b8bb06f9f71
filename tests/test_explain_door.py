"""The explanation of a decision made through the front door opens with the door's step (snapshots, text and Markdown).

The first step names the door, the rule's line and condition with the lead's values it
read, and the team; a lead no rule above catches says it went by `otherwise`.
"""

from __future__ import annotations

import pytest

from policyd.checks.door import load_door
from policyd.checks.load import load_path
from policyd.door.route import route
from policyd.engine.decide import decide
from policyd.engine.hours import parse_time
from policyd.engine.state import State
from policyd.explain.door import explain_routed

from .conftest import ROOT

M = ROOT / "policies" / "maven"
AT = parse_time("2026-12-01T10:00:00Z")
DEALS = {
    "sent by a rule": {
        "id": "X-1",
        "office": "east",
        "sector": "it",
        "segment": "smb",
        "product": "mg_special",
        "series": "mg",
        "price": 55,
    },
    "sent by otherwise": {
        "id": "X-2",
        "office": "unknown",
        "sector": "retail",
        "segment": "smb",
        "product": "gtx_pro",
        "series": "gtx",
        "price": 4821,
    },
}


@pytest.fixture(scope="module")
def door():
    teams = {t: load_path(M / f"{t}.policy") for t in ("central", "east", "west")}
    loaded = load_door(M / "door.policy", [t.policy for t in teams.values()])
    assert loaded.errors == []
    return loaded.compiled, {name: t.compiled for name, t in teams.items()}


def explained(door, case: str, fmt: str) -> str:
    compiled, teams = door
    routed = route(compiled, DEALS[case])
    d = decide(teams[routed.team], DEALS[case], State(), "policyd", lottery=False, at=AT)
    return explain_routed(routed, teams[routed.team], d, fmt).replace(str(ROOT), "ROOT")


@pytest.mark.parametrize("fmt", ("text", "md"))
@pytest.mark.parametrize("case", DEALS)
def test_the_doors_step_comes_first(door, case, fmt, snapshot):
    out = explained(door, case, fmt)
    first = out.splitlines()[0]
    if case == "sent by otherwise":  # why: the values the rules above it read, none of which held
        assert "otherwise -> team west" in first and "no rule above it held: office = unknown, series = gtx" in out.split("Lead X-2")[0]
    else:
        assert "office is east -> team east" in first
    assert out == snapshot


def test_the_html_explanation_opens_with_the_doors_step(door):
    out = explained(door, "sent by otherwise", "html")
    step = out.split('<p class="door">')[1].split("</p>")[0]
    assert step.startswith("front door maven, line 13: otherwise -&gt; team west") and "office = unknown, series = gtx" in step
