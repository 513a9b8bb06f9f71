"""Caps per period, working hours, holidays and level weights: parse, check, decide, fmt, diff, explain."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from policyd import check_text, load_text
from policyd.changes.semantic import diff_policies
from policyd.engine.decide import decide
from policyd.engine.hours import period_key, work_deadline
from policyd.engine.state import State, apply, reassign
from policyd.explain.explain import render
from policyd.lang.fmt import format_text
from policyd.lang.parse import parse_text

from .conftest import POLICIES

BERLIN = ZoneInfo("Europe/Berlin")
TEAM20 = (POLICIES / "scenario" / "team20.policy").read_text()


def at(text: str) -> float:
    """A Berlin wall-clock time as epoch seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


BASE = """lead {
  id    text
  size  int
}

score size {
  1 otherwise
}

tiers {
  low  0..5
}

team {
  cap default 3 per month
  cap new 2 per week
  hours default mon-fri 09:00-17:00 in Europe/Berlin
  holidays 2026-12-25
  weight veteran 3
  rep ann  veteran  cap 1 per day
  rep bob  new
  rep cy   new      hours mon-sun 00:00-23:59 in UTC
}

route low {
  pick weighted
}
"""


@pytest.fixture(scope="module")
def base():
    return load_text(BASE, "base.policy").compiled


def test_parse_builds_caps_hours_holidays_and_level_weights():
    p, problems = parse_text(BASE, "base.policy")
    assert problems == []
    t = p.team
    assert [(c.scope, c.limit, c.per) for c in t.caps] == [("default", 3, "month"), ("new", 2, "week")]
    assert (t.hours.days, t.hours.start, t.hours.end, t.hours.zone) == ((0, 1, 2, 3, 4), 540, 1020, "Europe/Berlin")
    assert t.holidays == ("2026-12-25",) and t.level_weights == (("veteran", 3.0),)
    ann, bob, cy = t.reps
    assert [(c.per, c.limit) for c in t.caps_of(ann)] == [("day", 1), ("month", 3)]
    assert [(c.per, c.limit) for c in t.caps_of(bob)] == [("week", 2), ("month", 3)]
    assert t.hours_of(cy).zone == "UTC" and t.hours_of(bob) is t.hours
    assert (t.weight_of(ann), t.weight_of(bob)) == (3.0, 1.0)


def test_days_wrap_and_list():
    p, _ = parse_text(BASE.replace("mon-sun 00:00-23:59 in UTC", "fri-mon,wed 08:00-12:00 in Asia/Tokyo"), "x.policy")
    assert p.team.reps[2].hours.days == (0, 2, 4, 5, 6)


def test_fmt_round_trip_keeps_the_levers():
    messy = BASE.replace("  rep ann  veteran  cap 1 per day", "  rep ann veteran cap 1 per day").replace(
        "holidays 2026-12-25", "holidays 2026-12-25,2027-01-01"
    )
    once = format_text(messy, "x.policy")
    assert "  rep ann  veteran  cap 1 per day\n" in once and "holidays 2026-12-25, 2027-01-01" in once
    assert format_text(once, "x.policy") == once
    assert parse_text(once, "x.policy")[0].team == parse_text(messy, "x.policy")[0].team
    assert format_text(TEAM20, "team20.policy") == TEAM20


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (("cap default 3 per month", "cap default 0 per month"), "T015", "a cap must be at least 1"),
        (("cap new 2 per week", "cap newbie 2 per week"), "N011", "no rep has level `newbie`"),
        (("in Europe/Berlin", "in Europe/Berln"), "T016", "unknown time zone `Europe/Berln`"),
        (("09:00-17:00", "17:00-09:00"), "T016", "must end after it starts"),
        (("holidays 2026-12-25", "holidays 2026-13-25"), "T017", "not a calendar date"),
    ],
)
def test_checks_word_bad_levers(change, code, words):
    got = [d for d in check_text(BASE.replace(*change), "x.policy") if d.code == code]
    assert got and words in got[0].message


def test_a_misspelt_skill_is_a_warning_with_did_you_mean():
    text = TEAM20.replace("rep nora     new\n    skills smb 2", "rep nora     new\n    skills smb 2, enterprize 3")
    assert text != TEAM20
    got = [d for d in check_text(text, "x.policy") if d.code == "N012"]
    assert len(got) == 1
    assert got[0].message == "rep `nora` lists skill `enterprize` (3), which no rule and no field value can reach"
    assert got[0].hint == "did you mean `enterprise`?"
    assert not [d for d in check_text(TEAM20, "x.policy") if d.code == "N012"]


def test_a_capped_rep_is_removed_with_the_reason(base):
    now = at("2026-12-04T10:00")
    st = State(counts={period_key("day", now, BERLIN): {"ann": 1}})
    d = decide(base, {"id": "1", "size": 1}, st, at=now, trace=True)
    assert d.rep == "bob"
    text = render(base, d, "text", "ann")
    assert "- ann: cap 1 per day reached: 1" in text
    assert (
        "Why not ann? You had reached your cap: 1 of 1 leads today. Removed at line 25 (route low, `available reps`): cap 1 per day reached: 1"
        in text
    )


def test_outside_hours_and_holidays_nobody_but_the_all_day_rep(base):
    saturday = decide(base, {"id": "1", "size": 1}, at=at("2026-12-05T10:00"), trace=True)
    assert saturday.rep == "cy"
    assert "- bob: outside working hours (mon-fri 09:00-17:00 in Europe/Berlin; it is Sat 10:00 there)" in render(base, saturday)
    holiday = decide(base, {"id": "1", "size": 1}, at=at("2026-12-25T10:00"), trace=True)
    assert holiday.rep is None  # team holidays hold in every rep's own zone, cy's too
    assert "- ann: holiday 2026-12-25 (in Europe/Berlin)" in render(base, holiday) and "- cy: holiday 2026-12-25 (in UTC)" in render(
        base, holiday
    )
    assert decide(base, {"id": "1", "size": 1}, at=at("2026-12-04T08:59")).rep == "cy"


def test_without_a_time_the_time_rules_are_not_applied(base):
    st = State(counts={"day:2026-12-04": {"ann": 9}})
    assert decide(base, {"id": "1", "size": 1}, st).rep == "ann"


def test_level_weight_is_a_lean_not_a_filter(base):
    st, got = State(), []
    now = at("2026-12-01T10:00")
    text = BASE.replace("cap default 3 per month\n  cap new 2 per week\n", "").replace(" cap 1 per day", "")
    c = load_text(text, "x.policy").compiled
    for i in range(10):
        d = decide(c, {"id": str(i), "size": 1}, st, at=now)
        st = apply(st, d, now)
        got.append(d.rep)
    assert (got.count("ann"), got.count("bob"), got.count("cy")) == (6, 2, 2)


def test_counts_move_through_apply_and_reset_at_the_period_boundary(base):
    st = State()
    mon = at("2026-11-30T10:00")
    d = decide(base, {"id": "1", "size": 1}, st, at=mon)
    st = apply(st, d, mon)
    assert st.counts == {"day:2026-11-30": {d.rep: 1}, "week:2026-W49": {d.rep: 1}, "month:2026-11": {d.rep: 1}}
    tue = at("2026-12-01T10:00")
    d2 = decide(base, {"id": "2", "size": 1}, st, at=tue)
    st = apply(st, d2, tue)
    assert st.counts["day:2026-12-01"] == {d2.rep: 1} and "day:2026-11-30" not in st.counts
    assert st.counts["month:2026-12"] == {d2.rep: 1} and "month:2026-11" not in st.counts
    assert sum(st.counts["week:2026-W49"].values()) == 2
    assert State.from_json(st.to_json()) == st
    assert "counts" not in State().to_json()  # a team without caps stores what it stored before


def test_an_sla_move_counts_toward_the_new_holders_cap(base):
    from policyd.engine.picks import next_holder

    now = at("2026-12-04T10:00")
    d = decide(base, {"id": "1", "size": 1}, State(), at=now)
    st = apply(State(), d, now)
    move = next_holder(base, st, d, [d.rep], 1, now)
    st = reassign(st, d.rep, move, now)
    assert st.counts["day:2026-12-04"] == {d.rep: 1, move.rep: 1}


def test_sla_clock_counts_the_holders_working_hours(base):
    h = base.hours[0]
    friday_night = at("2026-12-04T23:00")
    assert work_deadline(h, base.holidays, friday_night, 120) == at("2026-12-07T11:00")
    assert work_deadline(h, base.holidays, at("2026-12-04T16:30"), 120) == at("2026-12-07T10:30")
    assert work_deadline(h, base.holidays, at("2026-12-24T16:00"), 120) == at("2026-12-28T10:00")  # over the holiday
    assert work_deadline(None, base.holidays, friday_night, 120) == friday_night + 7200


def test_semantic_diff_names_lever_changes():
    new = BASE.replace("cap new 2 per week", "cap new 1 per week").replace("weight veteran 3", "weight veteran 2")
    new = new.replace("holidays 2026-12-25", "holidays 2026-12-25, 2027-01-01").replace("in Europe/Berlin", "in Europe/London")
    old_p, new_p = parse_text(BASE, "a.policy")[0], parse_text(new, "b.policy")[0]
    texts = [c.text for c in diff_policies(old_p, new_p)]
    assert "cap for level new 2 per week -> 1 per week" in texts
    assert "weight of level veteran 3 -> 2" in texts
    assert "holidays added 2027-01-01" in texts
    assert "default working hours mon-fri 09:00-17:00 in Europe/Berlin -> mon-fri 09:00-17:00 in Europe/London" in texts


def test_examples_of_the_scenario_pass():
    from policyd.explain.examples import run_examples

    results = run_examples(load_text(TEAM20, "team20.policy").compiled)
    assert len(results) == 6 and all(r.ok for r in results), [r.problems for r in results]


def test_explanations_of_a_capped_and_an_off_hours_decision(snapshot):
    c = load_text(TEAM20, "team20.policy").compiled
    now = at("2026-12-01T10:00")
    counts = {"day:2026-12-01": {"nora": 4, "nils": 4, "nadia": 3}, "month:2026-12": {"nora": 4, "nils": 4, "nadia": 45}}
    st = State(counts=counts | {"share:route:low:month:2026-12": {"new": 10, "mid": 9}})
    d = decide(c, {"id": "S-3", "quality": "low", "segment": "smb"}, st, "2026-W49", at=now, trace=True)
    assert render(c, d, "text", "nadia") == snapshot(name="text")
    assert render(c, d, "md", "nora") == snapshot(name="md")
    assert render(c, d, "json", "nadia") == snapshot(name="json")
    late = decide(c, {"id": "S-4", "quality": "high", "segment": "enterprise"}, None, "2026-W49", at=at("2026-12-01T16:30"), trace=True)
    assert render(c, late, "text", "vanya") == snapshot(name="vanya-why-not")
    assert render(c, late, "html") == snapshot(name="html")


SHARES = (
    BASE.replace("  cap default 3 per month\n  cap new 2 per week\n", "")
    .replace("  cap 1 per day", "")
    .replace("  rep bob  new\n", "  rep bea  veteran\n  rep bob  mid\n  rep dee  new\n")
    .replace("pick weighted", "pick shares veteran 50%, mid 30%, new 20% then round robin")
)


def test_target_shares_keep_to_the_declared_split_and_rotate_inside_a_level():
    c = load_text(SHARES, "s.policy").compiled
    st, got = State(), []
    now = at("2026-12-01T10:00")
    for i in range(20):
        d = decide(c, {"id": str(i), "size": 1}, st, at=now)
        st = apply(st, d, now)
        got.append(d.rep)
    levels = [c.levels[c.rep_index[r]] for r in got]
    assert (levels.count("veteran"), levels.count("mid"), levels.count("new")) == (10, 6, 4)
    assert got.count("ann") == got.count("bea") == 5 and got.count("cy") == got.count("dee") == 2  # a rotation per level
    assert st.counts["share:route:low:month:2026-12"] == {"veteran": 10, "mid": 6, "new": 4}
    later = at("2027-01-04T10:00")  # a new month starts the shares again
    st = apply(st, decide(c, {"id": "x", "size": 1}, st, at=later), later)
    assert st.counts["share:route:low:month:2027-01"] == {"veteran": 1} and "share:route:low:month:2026-12" not in st.counts


def test_shares_parse_check_fmt_and_diff():
    p, _ = parse_text(SHARES, "s.policy")
    pick = p.routes[0].steps[0]
    assert (pick.kind, pick.shares, pick.per, pick.then) == (
        "shares",
        (("veteran", 50.0), ("mid", 30.0), ("new", 20.0)),
        "month",
        "round_robin",
    )
    assert format_text(SHARES, "s.policy") == SHARES
    bad = [d for d in check_text(SHARES.replace("new 20%", "new 10%"), "s.policy") if d.code == "T019"]
    assert bad and bad[0].message == "`pick shares`: the shares add up to 90%, not 100% (each above 0%)"
    typo = [d for d in check_text(SHARES.replace("mid 30%", "midd 30%"), "s.policy") if d.code == "N011"]
    assert typo and typo[0].hint == "did you mean `mid`?"
    new = parse_text(SHARES.replace("veteran 50%, mid 30%", "veteran 60%, mid 20%"), "t.policy")[0]
    texts = [ch.text for ch in diff_policies(p, new)]
    assert texts == [
        "pick shares veteran 50%, mid 30%, new 20% per month then round robin -> shares veteran 60%, mid 20%, new 20% per month then round robin"
    ]


QUOTA = (
    BASE.replace(
        "  cap default 3 per month\n  cap new 2 per week\n", "  quota default 4 deals per month\n  quota veteran 1000 per quarter\n"
    )
    .replace("  cap 1 per day", "")
    .replace("  size  int\n", "  size  int\n  value number = 0\n")
    .replace("pick weighted", "prefer quota < 0.5\n  pick least loaded")
)


def test_quota_attainment_moves_with_won_leads_and_resets_each_period():
    from policyd.engine.quota import attainment, won

    c = load_text(QUOTA, "q.policy").compiled
    assert [q.target if q else None for q in c.quotas] == [1000, 4, 4]
    now = at("2026-11-02T10:00")
    st = won(c, State(), "bob", {"value": 999}, now)  # a deals quota counts the deal, not its value
    st = won(c, st, "bob", {}, now)
    st = won(c, st, "ann", {"value": 600.4}, now)
    assert attainment(c, st, now) == [0.6, 0.5, 0.0]
    d = decide(c, {"id": "1", "size": 1}, st, at=now, trace=True)
    assert d.rep == "cy"  # ann and bob are at half their quota or more: `prefer quota < 0.5` passes them over
    assert "not `quota < 0.5`: quota = 0.6, needs < 0.5" in render(c, d, "text", "ann")
    dec = at("2026-12-01T10:00")
    assert attainment(c, st, dec) == [0.6, 0.0, 0.0]  # a month quota starts again; ann's quarter goes on
    assert attainment(c, st, at("2027-01-04T10:00")) == [0.0, 0.0, 0.0]
    st = won(c, st, "bob", {}, dec)  # the first win of December drops November's count
    assert "won:month:2026-11" not in st.counts and st.counts["won:month:2026-12"] == {"bob": 1}


def test_quota_checks_and_examples():
    bad = [d for d in check_text(QUOTA.replace("  value number = 0\n", ""), "q.policy") if d.code == "T020"]
    assert bad and "the lead has no number field `value`" in bad[0].message
    assert [d.code for d in check_text(QUOTA.replace("4 deals per month", "4 deals per week"), "q.policy") if d.code == "T020"] == ["T020"]
    once = format_text(QUOTA, "q.policy")
    assert format_text(once, "q.policy") == once and "  quota default 4 deals per month\n" in once
    text = (
        QUOTA
        + '\nexample "bob at quota" {\n  at "2026-12-01T10:00:00+01:00"\n  state { quota ann 0.9, bob 1 }\n  lead { id "1" size 1 }\n  expect rep cy\n}\n'
    )
    from policyd.explain.examples import run_examples

    assert [r.ok for r in run_examples(load_text(text, "q.policy").compiled)] == [True]


def test_the_daemon_moves_attainment_when_a_lead_closes_won(tmp_path):
    import json

    from .serve_support import Clock, ThreadServer, db_rows, make_token, publish

    db = tmp_path / "quota.db"
    publish(db, QUOTA)
    tok = make_token(db, "assign")
    with ThreadServer(db, clock=Clock(at("2026-12-01T10:00")), sla_interval=3600) as srv, srv.client(tok) as c:
        first = c.post("/v1/assign", json={"id": "Q-1", "size": 1, "value": 250}).json()["rep"]
        assert c.post("/v1/decisions/Q-1/close", json={"outcome": "won"}).status_code == 200
        second = c.post("/v1/assign", json={"id": "Q-2", "size": 1}).json()["rep"]
        assert c.post("/v1/decisions/Q-2/close", json={"outcome": "lost"}).status_code == 200
        srv.settle()
    state = json.loads(db_rows(db, "select state from rt_team_state")[0][0])
    amount = 250 if first == "ann" else 1
    key = "won:quarter:2026-Q4" if first == "ann" else "won:month:2026-12"
    assert state["counts"][key] == {first: amount}
    assert second not in state["counts"].get("won:month:2026-12", {}) or second == first


def test_semantic_diff_names_quota_changes():
    new = QUOTA.replace("quota veteran 1000 per quarter", "quota veteran 1200 per quarter").replace(
        "  rep bob  new", "  rep bob  new  quota 2 deals per month"
    )
    texts = [ch.text for ch in diff_policies(parse_text(QUOTA, "a.policy")[0], parse_text(new, "b.policy")[0])]
    assert "quota for level veteran 1000 per quarter -> 1200 per quarter" in texts
    assert "bob quota 4 deals per month -> 2 deals per month" in texts
