"""Properties of caps and working hours (hypothesis), and the reference scenario replayed.

No decision assigns a rep who has used a cap of the current period or who is outside
their working hours at the decision's time, whatever the team's caps, the leads and
their times; replay and the daemon move the counters through the same transitions.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.scenario_leads import month, replay_month
from policyd import load_text
from policyd.engine.availability import period_keys
from policyd.engine.decide import decide
from policyd.engine.hours import off_hours
from policyd.engine.state import State, apply, close

from .serve_support import Clock, ThreadServer, make_token, publish
from .test_levers import TEAM20

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 30, tzinfo=BERLIN).timestamp()  # a Monday


def team_policy(caps: list[tuple[str, int, str]], hours: list[str]) -> str:
    reps = "\n".join(f"  rep r{i}  {'new' if i % 2 else 'veteran'}  hours {h}" for i, h in enumerate(hours))
    lines = "\n".join(f"  cap {scope} {n} per {unit}" for scope, n, unit in caps)
    return f"""lead {{
  id    text
  size  int
}}
score size {{
  2 when size >= 5
  1 otherwise
}}
tiers {{
  high  2..2
  low   1..1
}}
team {{
  weight veteran 3
{lines}
{reps}
}}
route high {{
  lottery 30% among available reps
  pick weighted
}}
route low {{
  prefer new
  pick least loaded
}}
"""


caps = st.lists(
    st.tuples(st.sampled_from(["default", "new", "veteran"]), st.integers(1, 4), st.sampled_from(["day", "week", "month"])), max_size=4
)
hours = st.lists(
    st.sampled_from(
        [
            "mon-fri 09:00-17:00 in Europe/Berlin",
            "mon-sun 06:00-12:00 in Asia/Tokyo",
            "sat-sun 00:00-24:00 in UTC",
            "tue,thu 13:00-21:00 in America/New_York",
        ]
    ),
    min_size=1,
    max_size=5,
)
steps = st.lists(st.tuples(st.integers(0, 9), st.integers(0, 6 * 3600), st.booleans()), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(caps, hours, steps)
def test_no_decision_exceeds_a_cap_or_falls_outside_working_hours(cap_lines, hour_lines, leads):
    c = load_text(team_policy(cap_lines, hour_lines), "prop.policy").compiled
    state, t, opened = State(), START, []
    for n, (size, gap, closes) in enumerate(leads):
        t += gap
        d = decide(c, {"id": f"P-{n}", "size": size}, state, "seed", at=t)
        if d.rep is not None:
            i = c.rep_index[d.rep]
            assert off_hours(c.hours[i], c.holidays, t) is None
            keys = dict(zip(c.cap_units, period_keys(c, t)))
            for unit, limit in c.caps[i]:
                assert state.counts.get(keys[unit], {}).get(d.rep, 0) < limit, (d.rep, unit, limit)
            state = apply(state, d, t)
            opened.append(d.rep)
            for unit, limit in c.caps[i]:
                assert state.counts[keys[unit]][d.rep] <= limit
        if closes and opened:
            state = close(state, opened.pop(0))  # closing frees capacity, never a cap


def test_the_reference_scenario_replays_within_its_levers():
    leads = month()
    assert len(leads) == 1000
    assert [sum(1 for d in leads if d["quality"] == q) for q in ("high", "medium", "low")] == [100, 400, 500]
    figures = replay_month(leads)
    assert figures["over_cap"] == []
    assert abs(figures["lottery_share"] - 0.30) <= 0.03
    assert figures["max_month"]["new"] <= 45 and figures["max_day_new"] <= 4
    hs = figures["high_shares"]  # `pick shares veteran 50%, mid 30%, new 20%` kept within 3 points
    for level, target in (("veteran", 0.5), ("mid", 0.3), ("new", 0.2)):
        assert abs(hs[level] / sum(hs.values()) - target) <= 0.03, hs
    assert sum(sum(v.values()) for v in figures["by_level"].values()) == 1000
    high = {lv: v.get("high", 0) for lv, v in figures["by_level"].items()}
    assert high["veteran"] > high["mid"] > high["new"] > 0  # veterans most, nobody excluded
    assert figures["won"] == figures["won_expected"] and figures["won"]  # history outcomes moved attainment, through state.credit
    assert figures == replay_month(month())  # seeded: the same month, the same figures


def test_daemon_counts_caps_and_runs_sla_clocks_in_working_hours(tmp_path):
    """Through a real server: the same decide and transitions as replay, with the daemon's clock."""
    db = tmp_path / "levers.db"
    publish(db, TEAM20)
    tok = make_token(db, "assign")
    friday = datetime(2026, 12, 4, 16, 30, tzinfo=BERLIN).timestamp()
    clock = Clock(friday)
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(tok) as c:
        d = c.post("/v1/assign", json={"id": "H-1", "quality": "high", "segment": "enterprise"}).json()
        assert d["rep"] is not None
        assert d["rep"] != "vanya"  # 15:30 in London, after her hours
        # 30 minutes on Friday, 90 on Monday: 10:30 Berlin, 09:30 UTC
        monday = datetime(2026, 12, 7, 10, 30, tzinfo=BERLIN).timestamp()
        assert d["deadline"] == "2026-12-07T09:30:00Z"
        clock.advance(9 * 3600)  # Saturday 01:30: a plain 2h clock would have moved it to a sleeping rep
        assert srv.settle() == []
        lows = [c.post("/v1/assign", json={"id": f"W-{i}", "quality": "low", "segment": "smb"}).json() for i in range(3)]
        assert all(x["rep"] is None and x["queue"] == "unassigned" for x in lows)  # nobody works on Saturday
        clock.t = monday + 60
        steps = srv.settle()
        assert len(steps) == 1 and steps[0]["kind"] == "reassign" and steps[0]["from"] == d["rep"]
        clock.t = datetime(2026, 12, 8, 10, 0, tzinfo=BERLIN).timestamp()  # Tuesday: a fresh day for the daily caps
        got = [c.post("/v1/assign", json={"id": f"T-{i}", "quality": "low", "segment": "smb"}).json()["rep"] for i in range(70)]
    new = [r for r in got if r.startswith("n")]
    assert len(new) == 28 and all(new.count(r) == 4 for r in set(new))  # 7 new reps, 4 a day each, then capped
    assert got[:56].count("nora") == 4 and all(r.startswith("m") for r in got[56:])  # half the low leads, until the caps


def test_the_readme_shows_the_scenario_figures_the_replay_gives():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    f = replay_month(month())
    high = {lv: v.get("high", 0) for lv, v in f["by_level"].items()}
    totals = {lv: sum(v.values()) for lv, v in f["by_level"].items()}
    assert f"| high leads placed by lottery | {f['high_lottery']} of {f['high_leads']} ({f['lottery_share']:.0%}, target 30%) |" in readme
    assert (
        f"| high leads to new reps | {f['high_new']} of 100 ({f['high_new_lottery']} by lottery, {f['high_new'] - f['high_new_lottery']} by the shares) |"
        in readme
    )
    hs = f["high_shares"]
    n = sum(hs.values())
    assert f"new 20%) | veteran {hs['veteran']}, mid {hs['mid']}, new {hs['new']} of {n} (" in readme
    assert f"| high leads by level | veteran {high['veteran']}, mid {high['mid']}, new {high['new']} |" in readme
    assert (
        f"| all leads by level | veteran {totals['veteran']}, mid {totals['mid']}, new {totals['new']} (every new rep at its cap of 45) |"
        in readme
    )
    assert f["max_month"]["new"] == 45
    at = f["attainment"]
    assert (
        f"| mean quota attainment at the last arrival (won value / monthly quota) | veteran {at['veteran']:.2f}, mid {at['mid']:.2f}, new {at['new']:.2f} |"
        in readme
    )
