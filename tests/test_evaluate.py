"""The evaluator, step by step, and the state transitions the daemon and replay share."""

from __future__ import annotations

import pytest

from policyd.checks.load import load_text
from policyd.engine import trace as ev
from policyd.engine.decide import decide
from policyd.engine.draw import draw, draw_index
from policyd.engine.picks import next_holder
from policyd.engine.state import State, StateError, apply, close, set_away

LEAD = {"id": "E-1", "company": "Co", "seats": 10, "source": "web", "segment": "smb"}


def emea_lead(**kw):
    return dict(LEAD, **kw)


def small(routes: str, team: str | None = None, extra: str = "") -> object:
    """A tiny policy: one tier `t` reached by every lead, and the given route body."""
    team = (
        team
        or """
      rep a veteran weight 3
        skills x 3
      rep b mid weight 1
        skills x 2
      rep c new
      rep d new capacity 2
    """
    )
    text = f"""
    lead {{ id text  k {{p, q}} = p  owner rep? }}
    score s {{ 1 otherwise }}
    tiers {{ t 1..1 }}
    team {{ capacity default 5
      {team} }}
    {extra}
    route t {{ {routes} }}
    """
    loaded = load_text(text, "small.policy")
    assert loaded.errors == [], loaded.errors
    return loaded.compiled


def test_scores_tier_and_route(emea):
    d = decide(
        emea.compiled, emea_lead(seats=800, source="event", segment="enterprise", urgent=True, language="de"), seed="s", lottery=False
    )
    assert (d.total, d.tier, d.rep, d.by, d.route) == (5, "hot", "anna", "route", "hot")
    assert d.score_lines == (0, 1, 0)


def test_a_score_outside_every_tier_is_queued_unassigned():
    text = """
    lead { id text  n int }
    score s { 5 when n > 3  1 otherwise }
    tiers { t 1..2 }
    team { rep a veteran }
    route t { pick least loaded }
    """
    c = load_text(text, "gap.policy").compiled
    d = decide(c, {"id": "1", "n": 9}, trace=True)
    assert (d.tier, d.rep, d.queue, d.by) == (None, None, "unassigned", "queue")
    assert ev.Unassigned("score 5 is in no tier") in d.trace


def test_exception_assign_falls_through_when_the_owner_is_away(emea):
    c = emea.compiled
    lead = emea_lead(owner="chiara")
    assert decide(c, lead).rep == "chiara"
    d = decide(c, lead, State(away=frozenset({"chiara"})), trace=True)
    assert d.exception is None and d.rep != "chiara"
    assert ev.Assign("exception:owner", 0, "chiara", 2, False) in d.trace
    full = decide(c, lead, State(open={"chiara": 10}))
    assert full.rep != "chiara"


def test_exception_queue_action(emea):
    d = decide(emea.compiled, emea_lead(spam_score=0.9))
    assert (d.rep, d.queue, d.by, d.exception) == (None, "spam_review", "exception", "spam")


def test_lottery_always_and_never():
    always = small("lottery 100% among available reps  pick least loaded")
    never = small("lottery 0% among available reps  pick least loaded")
    for i in range(20):
        lead = {"id": f"L{i}"}
        d = decide(always, lead, seed="week")
        assert d.by == "lottery" and d.lottery.entered
        pool = ["a", "b", "c", "d"]
        expected = pool[draw_index(draw("week", f"L{i}", "winner"), None, 4)]
        assert d.rep == expected == d.lottery.winner
        assert d.lottery.entry_draw == draw("week", f"L{i}", "entry")
        n = decide(never, lead, seed="week")
        assert n.by == "route" and not n.lottery.entered


def test_lottery_off_skips_the_draw():
    c = small("lottery 100% among available reps  pick least loaded")
    d = decide(c, {"id": "L1"}, seed="week", lottery=False)
    assert d.by == "route" and d.lottery is None


def test_weighted_lottery_follows_weights():
    c = small("lottery 100% among available reps by weight  pick least loaded")
    wins = {"a": 0, "b": 0, "c": 0, "d": 0}
    for i in range(6000):
        wins[decide(c, {"id": f"L{i}"}, seed="s").rep] += 1
    # weights 3, 1, 1, 1: a should win about half the draws
    assert 0.46 < wins["a"] / 6000 < 0.54
    assert all(0.13 < wins[r] / 6000 < 0.20 for r in "bcd")


def test_draw_index_edges():
    assert draw_index(0.0, None, 3) == 0 and draw_index(0.999999, None, 3) == 2
    assert draw_index(0.5, [1.0, 1.0], 2) == 1 and draw_index(0.49, [1.0, 1.0], 2) == 0


def test_require_and_prefer_fall_back_in_order():
    c = small("require skill(x) >= 1  prefer new, then mid  pick least loaded")
    assert decide(c, {"id": "1"}).rep == "c"
    busy = State(open={"c": 5, "d": 2})  # both new reps full
    d = decide(c, {"id": "1"}, busy, trace=True)
    assert d.rep == "b"
    prefer = next(t for t in d.trace if isinstance(t, ev.Prefer))
    assert prefer.option == 1  # the second option (`mid`) was used


def test_require_nobody_left_queues_unassigned_with_reason():
    c = small("require skill(x) >= 3 and load < 0.5  pick least loaded")
    d = decide(c, {"id": "1"}, State(open={"a": 3}), trace=True)
    assert (d.rep, d.queue) == (None, "unassigned")
    assert d.trace[-1] == ev.Unassigned("no rep qualified and the route has no `otherwise`")


def test_least_loaded_tie_breaks():
    c = small("pick least loaded")
    # lowest load wins
    assert decide(c, {"id": "1"}, State(open={"a": 1, "b": 1, "c": 1, "d": 1})).rep == "a"  # d: 1/2, others 1/5, then team order
    # same load: fewer open wins (d has capacity 2: 1/2 = 0.5, c 0/5)
    assert decide(c, {"id": "1"}, State(open={"a": 2, "b": 2, "c": 2, "d": 1})).rep == "a"
    # equal load and open: longest since last assignment
    st = State(open={"a": 1, "b": 1, "c": 1, "d": 2}, last={"a": 30.0, "b": 10.0, "c": 20.0})
    assert decide(c, {"id": "1"}, st).rep == "b"
    # never assigned counts as the longest
    st = State(open={"a": 1, "b": 1, "c": 1, "d": 2}, last={"a": 30.0, "b": 10.0})
    assert decide(c, {"id": "1"}, st).rep == "c"


def test_round_robin_rotates_through_apply_and_skips_unavailable():
    c = small("pick round robin")
    state = State(away=frozenset({"b"}))
    got = []
    for i in range(5):
        d = decide(c, {"id": str(i)}, state)
        got.append(d.rep)
        state = apply(state, d, at=float(i))
    assert got == ["a", "c", "d", "a", "c"]
    assert state.cursors["route:t"] == "c"


def test_weighted_is_smooth_weighted_round_robin():
    c = small("pick weighted", team="rep a veteran weight 5\n rep b mid weight 1\n rep c new weight 1")
    state = State()
    got = []
    for i in range(7):
        d = decide(c, {"id": str(i)}, state)
        got.append(d.rep)
        state = apply(state, d, at=float(i))
    # nginx's smooth weighted round robin for weights 5, 1, 1
    assert got == ["a", "a", "b", "a", "c", "a", "a"]


def test_random_pick_is_a_verifiable_draw():
    c = small("pick random")
    d1 = decide(c, {"id": "L9"}, seed="s1")
    assert d1.rep == ["a", "b", "c", "d"][draw_index(draw("s1", "L9", "pick:route:t"), None, 4)]
    reps = {decide(c, {"id": "L9"}, seed=f"s{i}").rep for i in range(40)}
    assert reps == {"a", "b", "c", "d"}


def test_otherwise_route_and_cycles():
    text = """
    lead { id text  n int }
    score s { 2 when n > 5  1 otherwise }
    tiers { hi 2..2  lo 1..1 }
    team { rep a veteran
      skills x 1
      rep b new }
    route hi { require skill(x) >= 3  pick least loaded  otherwise route lo }
    route lo { prefer new  pick least loaded }
    """
    c = load_text(text, "o.policy").compiled
    d = decide(c, {"id": "1", "n": 9}, trace=True)
    assert (d.tier, d.route, d.rep) == ("hi", "lo", "b")
    assert ev.GotoRoute("hi", "lo") in d.trace


def test_otherwise_queue(emea):
    d = decide(
        emea.compiled, emea_lead(seats=900, source="referral", segment="enterprise"), State(open={"anna": 10, "bruno": 10}), lottery=False
    )
    assert (d.rep, d.queue, d.tier) == (None, "hot_backlog", "hot")


def test_everyone_unavailable_is_queued_never_dropped(emea):
    c = emea.compiled
    state = State(away=frozenset(c.rep_names))
    for lead in (emea_lead(), emea_lead(seats=900), emea_lead(source="partner", segment="enterprise")):
        d = decide(c, lead, state)
        assert d.rep is None and d.queue is not None


def test_same_inputs_same_decision(inbound):
    lead = {
        "id": "L-2",
        "company": "G",
        "employees": 1500,
        "budget": "stated",
        "authority": "decision_maker",
        "timing_months": 2,
        "industry": "finance",
        "segment": "enterprise",
        "country": "JP",
    }
    a = decide(inbound.compiled, lead, State(open={"farah": 3}), "seed-1", trace=True)
    b = decide(inbound.compiled, dict(lead), State(open={"farah": 3}), "seed-1", trace=True)
    assert a.summary() == b.summary() and a.trace == b.trace and a.lottery == b.lottery
    assert a.trace and all(type(e).__module__ == "policyd.engine.trace" for e in a.trace)


def test_state_transitions():
    c = small("pick least loaded")
    s0 = State()
    d = decide(c, {"id": "1"}, s0)
    s1 = apply(s0, d, at=100.0)
    assert s0.open == {} and s1.open == {"a": 1} and s1.last == {"a": 100.0}
    assert close(s1, "a").open == {"a": 0}
    assert close(s0, "a") is s0  # nothing open: unchanged
    assert set_away(s1, "b", True).away == {"b"} and set_away(set_away(s1, "b", True), "b", False).away == frozenset()


def test_next_holder_takes_the_least_loaded_of_the_rest():
    c = small("pick least loaded")
    d = decide(c, {"id": "1"}, State(open={"b": 1}))
    assert d.rep == "a"
    state = State(open={"a": 1, "b": 1})
    assert next_holder(c, state, d, ["a"], 1).rep == "c"
    assert next_holder(c, state, d, ["a", "c"], 2).rep == "d"
    assert next_holder(c, state, d, ["a", "c", "d"], 3).rep == "b"
    assert next_holder(c, state, d, ["a", "b", "c", "d"], 4) is None


def test_state_json_round_trip_and_errors():
    s = State(open={"a": 2}, away=frozenset({"b"}), last={"a": 1.5}, cursors={"route:t": "a"}, wrr={"route:t": {"a": -1.0}})
    assert State.from_json(s.to_json()) == s
    with pytest.raises(StateError, match="unknown state key 'opened'"):
        State.from_json({"opened": {}})
    with pytest.raises(StateError, match=r"open.a: expected a whole number, got \"2\""):
        State.from_json({"open": {"a": "2"}})
    with pytest.raises(StateError, match="open.a: open count must be 0 or more, got -1"):
        State.from_json({"open": {"a": -1}})


def test_seed_id_names_the_seed_without_revealing_it():
    c = small("lottery 100% among available reps  pick least loaded")
    d = decide(c, {"id": "L1"}, seed="secret-seed", seed_id="2026-W48")
    assert d.lottery.seed_id == "2026-W48" and d.lottery.winner_draw == draw("secret-seed", "L1", "winner")
    from policyd.explain.explain import render

    assert "secret-seed" not in render(c, d, "json") and "secret-seed" not in render(c, d, "text")
