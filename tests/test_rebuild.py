"""The fast path keeps no trace; an explanation decides again from the stored inputs, and gets the same decision.

Checked on every lead of the Maven CRM replay (both policies, the lottery on), the
way `policyd review` runs it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from policyd.checks.load import load_path
from policyd.engine.decide import decide, rebuild
from policyd.engine.state import State
from policyd.explain.explain import explain, render
from policyd.replay.history import History
from policyd.replay.mapping import load_mapping
from policyd.replay.replay import Replay

ROOT = Path(__file__).parent.parent
MAVEN = ROOT.parent / "shared" / "data" / "maven-crm"


def test_every_maven_replay_decision_is_rebuilt_exactly_with_its_trace():
    policies = [(p, load_path(ROOT / "policies" / p).compiled) for p in ("maven-crm.policy", "maven-crm-v2.policy")]
    seen = {"leads": 0, "lottery": 0, "kinds": set()}

    def check(item, decisions):
        for (_, c), d in zip(policies, decisions):
            assert d.trace is None, "replay decides on the fast path"
            again = rebuild(c, d)
            assert again.trace, "the rebuilt decision carries its trace"
            assert (again.rep, again.queue, again.tier, again.by, again.lottery, again.updates) == (
                d.rep,
                d.queue,
                d.tier,
                d.by,
                d.lottery,
                d.updates,
            )
            assert dataclasses.replace(again, trace=None) == d  # and every other compared field
            assert again.candidates == d.candidates
            seen["lottery"] += d.lottery is not None and d.lottery.entered
            seen["kinds"].add((d.by, d.pick))
        seen["leads"] += 1

    history = History(MAVEN / "sales_pipeline.csv", load_mapping(ROOT / "policies" / "maven-crm.map.toml"), policies[0][1].schema)
    intake = Replay(policies, seed="rebuild-test", hold_days=90, listener=check).run(history, sort=True)
    assert seen["leads"] == intake.replayed == 8300
    assert seen["lottery"] > 100  # the lottery decided some of them, and those were rebuilt too
    assert {"least_loaded", "round_robin", "lottery"} <= {pick for _, pick in seen["kinds"]}


def test_explain_rebuilds_a_decision_made_without_the_trace(inbound):
    c = inbound.compiled
    lead = {
        "id": "L-9",
        "company": "Globex",
        "employees": 1500,
        "budget": "stated",
        "authority": "decision_maker",
        "timing_months": 2,
        "industry": "finance",
        "segment": "enterprise",
        "country": "JP",
    }
    state = State(open={"alice": 10, "carol": 12, "farah": 4})
    fast = decide(c, lead, state, "week", seed_id="2026-W48")
    traced = decide(c, lead, state, "week", seed_id="2026-W48", trace=True)
    assert fast.trace is None
    assert explain(c, fast, "kofi") == explain(c, traced, "kofi")
    assert render(c, fast, "text") == render(c, traced, "text")
    assert fast.lottery.seed_id == "2026-W48" and rebuild(c, fast).lottery == fast.lottery
