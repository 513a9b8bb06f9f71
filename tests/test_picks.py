"""The pick registry: each strategy chooses, continues an SLA move and is explained from one entry."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyd.checks.load import load_text
from policyd.engine import trace as ev
from policyd.engine.availability import available, blocker, open_counts
from policyd.engine.codegen import compile_policy
from policyd.engine.decide import decide
from policyd.engine.draw import draw, draw_index
from policyd.engine.picks import PICKS, UnknownPick, next_holder
from policyd.engine.state import State, apply, close, reassign, set_away
from policyd.explain.explain import explain
from policyd.lang import model as m
from policyd.lang.grammar import grammar_text


def team_policy(pick: str, reps: str, extra: str = "") -> object:
    """One tier, one route `t` with the given pick, a 1h SLA with two moves."""
    text = f"""
    lead {{ id text  n int }}
    score s {{ 1 otherwise }}
    tiers {{ t 1..1 }}
    team {{ capacity default 5
      {reps} }}
    route t {{ {extra} pick {pick} }}
    sla {{ t respond within 1h, reassign at most 2 times }}
    """
    loaded = load_text(text, "picks.policy")
    assert loaded.errors == [], loaded.errors
    return loaded.compiled


WEIGHTED = "rep a new weight 1\n rep b new weight 9\n rep c new weight 5"
FOUR = "rep a new\n rep b new\n rep c new\n rep d new"


def moves(c, state: State, d, n: int) -> list[str]:
    """Let the lead go n times, as the daemon's SLA does: close the holder, ask, reassign."""
    holder, tried, out = d.rep, [d.rep], []
    for attempt in range(1, n + 1):
        move = next_holder(c, close(state, holder), d, tried, attempt)
        if move is None:
            out.append(None)
            break
        state = reassign(state, holder, move, float(attempt))
        holder = move.rep
        tried.append(holder)
        out.append(holder)
    return out


# ---------------------------------------------------------------- the registry
def test_every_grammar_pick_is_in_the_registry_and_parses_to_it():
    grammar = grammar_text()
    rule = grammar[grammar.index("pick_kind:") : grammar.index("queue_name:")]
    assert sorted(re.findall(r"-> pick_(\w+)", rule)) == sorted(PICKS)
    for s in PICKS.values():
        c = team_policy(s.sample or s.words, FOUR)
        step = c.policy.routes[0].steps[0]
        assert step == m.Pick(s.name) if not s.sample else step.kind == s.name


def test_an_unknown_pick_fails_when_compiled_not_when_deciding():
    c = team_policy("least loaded", FOUR)
    route = c.policy.routes[0]
    bad = m.Policy(**{**vars_of(c.policy), "routes": (m.Route(route.tier, None, (m.Pick("fastest"),), route.span),)})
    with pytest.raises(UnknownPick, match="unknown pick `fastest`; expected one of least loaded, round robin, weighted, random, shares"):
        compile_policy(bad)


def vars_of(p: m.Policy) -> dict:
    return {f: getattr(p, f) for f in p.__dataclass_fields__}


def test_the_id_check_names_the_pick_as_written():
    text = """
    lead { n int }
    score s { 1 otherwise }
    tiers { t 1..1 }
    team { rep a new }
    route t { pick random }
    """
    msgs = [d.message for d in load_text(text, "r.policy").errors]
    assert msgs == ["`pick random` draws from the lead's `id`, but the lead has no `id` field"]


# ---------------------------------------------------------------- SLA moves, per strategy
def test_weighted_moves_on_by_the_weighted_rotation():
    """The issue's example: weights 1, 9, 5; b gets the lead, and when b misses the SLA it goes to c."""
    c = team_policy("weighted", WEIGHTED)
    d = decide(c, {"id": "L1", "n": 1})
    assert d.rep == "b"
    state = apply(State(), d, 0.0)
    assert moves(c, state, d, 3) == ["c", "a", None]


def test_weighted_moves_update_the_rotation_weights():
    c = team_policy("weighted", WEIGHTED)
    d = decide(c, {"id": "L1", "n": 1})
    state = close(apply(State(), d, 0.0), "b")
    move = next_holder(c, state, d, ["b"], 1)
    # smooth weighted round robin over a and c from the current weights {a: 1, b: -6, c: 5}
    assert move.updates == (("wrr", "route:t", {"a": 2.0, "b": -6.0, "c": 4.0}),)
    assert reassign(state, None, move, 1.0).wrr["route:t"] == {"a": 2.0, "b": -6.0, "c": 4.0}


def test_round_robin_moves_on_from_the_cursor_not_to_the_least_loaded():
    c = team_policy("round robin", FOUR)
    state = State()
    decisions = []
    for i in range(5):  # a, b, c, d, then a again
        d = decide(c, {"id": f"L{i}", "n": 1}, state)
        decisions.append(d)
        state = apply(state, d, float(i))
    assert [d.rep for d in decisions] == ["a", "b", "c", "d", "a"]
    state = close(state, "c")  # c now has the fewest open leads: least loaded would move the lead to c
    assert moves(c, state, decisions[-1], 1) == ["b"]
    move = next_holder(c, close(state, "a"), decisions[-1], ["a"], 1)
    assert move.updates == (("cursor", "route:t", "b"),)


def test_random_moves_are_verifiable_draws_with_the_attempt_in_the_purpose():
    c = team_policy("random", FOUR)
    d = decide(c, {"id": "L7", "n": 1}, seed="week-seed")
    assert d.rep == "abcd"[draw_index(draw("week-seed", "L7", "pick:route:t"), None, 4)]
    state = apply(State(), d, 0.0)
    got = moves(c, state, d, 3)
    left = [r for r in "abcd" if r != d.rep]
    for attempt, rep in enumerate(got, start=1):
        assert rep == left[draw_index(draw("week-seed", "L7", f"pick:route:t:reassign:{attempt}"), None, len(left))]
        left.remove(rep)


def test_least_loaded_moves_keep_the_staged_tie_breaks():
    c = team_policy("least loaded", "rep a new capacity 2\n rep b new capacity 10\n rep c new capacity 10")
    state = State(open={"a": 1, "b": 1, "c": 1}, last={"b": 10.0, "c": 20.0})
    d = decide(c, {"id": "L1", "n": 1}, state)
    assert d.rep == "b"  # b and c tie on load and open count; b waited longer
    state = apply(state, d, 30.0)
    assert moves(c, state, d, 1) == ["c"]  # a's load is 1/2, c's 1/10: not team order


def test_a_move_skips_reps_who_are_away_or_full_and_ends_when_nobody_is_left():
    c = team_policy("round robin", FOUR)
    d = decide(c, {"id": "L1", "n": 1})
    assert d.rep == "a"
    state = set_away(State(open={"c": 5}), "b", True)
    assert next_holder(c, state, d, ["a"], 1).rep == "d"
    assert next_holder(c, state, d, ["a", "d"], 2) is None


def test_a_lottery_placement_moves_by_least_loaded():
    c = team_policy("round robin", FOUR, extra="lottery 100% among available reps")
    d = decide(c, {"id": "L1", "n": 1}, seed="s")
    assert d.by == "lottery"
    left = [r for r in "abcd" if r != d.rep]
    state = State(open={left[0]: 2, left[1]: 1})
    assert next_holder(c, state, d, [d.rep], 1).rep == left[2]


# ---------------------------------------------------------------- explanations ask the strategy
def test_the_explanation_of_a_pick_is_the_strategys():
    c = team_policy("least loaded", FOUR)
    state = State(open={"a": 1, "b": 1, "c": 2}, last={"a": 5.0, "b": 3.0})
    d = decide(c, {"id": "L1", "n": 1}, state)
    assert d.rep == "d"
    x = explain(c, d, "c")
    pick = x["stages"][0]["steps"][-1]
    assert pick["summary"] == "d (load 0/5 = 0.00) from 4 candidates"
    assert [r["why"] for r in pick["removed"]] == [
        "not picked: load 1/5 = 0.20, higher than d's 0.00",
        "not picked: load 1/5 = 0.20, higher than d's 0.00",
        "not picked: load 2/5 = 0.40, higher than d's 0.00",
    ]
    tie = decide(c, {"id": "L2", "n": 1}, State(open={"a": 1, "b": 1, "c": 1, "d": 1}, last={"a": 5.0, "b": 3.0, "c": 3.0, "d": 9.0}))
    assert tie.rep == "b"
    why = {r["rep"]: r["why"] for r in explain(c, tie)["stages"][0]["steps"][-1]["removed"]}
    assert why["a"] == "not picked: same load and open count as b, assigned more recently"
    assert why["c"].endswith("b comes first in team order")


@pytest.mark.parametrize("kind", sorted(PICKS))
def test_every_strategy_explains_its_pick_and_who_waits(kind):
    s = PICKS[kind]
    c = team_policy(s.sample or s.words, FOUR)
    d = decide(c, {"id": "L3", "n": 1}, State(open={"a": 1}), "seed")
    pick = explain(c, d)["stages"][0]["steps"][-1]
    assert pick["text"] == f"pick {s.sample or s.words}" and pick["summary"].startswith(d.rep)
    traced = decide(c, {"id": "L3", "n": 1}, State(open={"a": 1}), "seed", trace=True)
    assert next(e for e in traced.trace if isinstance(e, ev.Pick)).kind == s.name
    if s.each_reason:
        assert len(pick["removed"]) == 3
    else:
        assert pick["removed"] == [] and "wait their turn" in pick["summary"]


# ---------------------------------------------------------------- availability, written once
@settings(max_examples=200, deadline=None)
@given(
    opens=st.lists(st.integers(min_value=0, max_value=6), min_size=4, max_size=4),
    away=st.lists(st.booleans(), min_size=4, max_size=4),
    caps=st.lists(st.integers(min_value=0, max_value=5), min_size=4, max_size=4),
)
def test_the_generated_seat_agrees_with_available_and_blocker(opens, away, caps):
    reps = "\n ".join(f"rep {n} new capacity {cap}" for n, cap in zip("abcd", caps))
    c = team_policy("least loaded", reps)
    state = State(open={n: o for n, o in zip("abcd", opens) if o}, away=frozenset(n for n, f in zip("abcd", away) if f))
    O, A = c.seat(state.open, state.away)
    assert O == open_counts(c, state)
    assert A == available(c, O, state.away) == c.avail_only(state.open, state.away)
    assert A == [i for i in range(4) if blocker(c, state, i) is None]
