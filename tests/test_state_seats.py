"""The team-ordered reading a state keeps (`State._seats`): moved by the transitions, never seen.

A decision stores the state's open counts, available reps and each rep's rank in
least loaded's order (team order) on the state, and `apply`, `close`, `credit` and `reassign` carry it moved by one rep. These
tests hold the kept reading equal to reading the state afresh after any chain of
transitions, and every decision on a state that keeps one equal to the decision on
the same state rebuilt from JSON (which keeps nothing).
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from policyd.checks.load import load_text
from policyd.engine.decide import decide
from policyd.engine.roster import NEVER, rank
from policyd.engine.state import State, apply, close, credit, reassign, set_away


def compiled(caps: list[int], pick: str = "least loaded"):
    reps = "\n ".join(f"rep {n} new capacity {cap}" for n, cap in zip("abcd", caps))
    text = f"""
    lead {{ id text  n int }}
    score s {{ 1 otherwise }}
    tiers {{ t 1..1 }}
    team {{ capacity default 5
      {reps} }}
    route t {{ pick {pick} }}
    """
    loaded = load_text(text, "seats.policy")
    assert loaded.errors == [], loaded.errors
    return loaded.compiled


def afresh(c, state: State) -> tuple:
    """The reading as a state that keeps none computes it, ranks in least loaded's order included."""
    O, A = c.seat(state.open, state.away)
    ranks = tuple(rank(c.capacity[i], O[i], state.last.get(name, NEVER), i) for i, name in enumerate(c.rep_names))
    return tuple(O), tuple(A), ranks


def same(a, b) -> None:
    assert (a.rep, a.queue, tuple(a.picked_from), a.updates, a.by) == (b.rep, b.queue, tuple(b.picked_from), b.updates, b.by)


class _Placed:
    """A move to `rep` with no rotation update (as an override makes)."""

    def __init__(self, rep: str):
        self.rep, self.updates = rep, ()


ops = st.lists(
    st.tuples(st.sampled_from(["decide", "close", "away", "back", "reassign", "credit"]), st.integers(min_value=0, max_value=3)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    caps=st.lists(st.integers(min_value=0, max_value=3), min_size=4, max_size=4),
    opens=st.lists(st.integers(min_value=0, max_value=4), min_size=4, max_size=4),
    steps=ops,
    pick=st.sampled_from(["least loaded", "round robin"]),
)
def test_the_kept_reading_equals_reading_afresh_after_any_transitions(caps, opens, steps, pick):
    c = compiled(caps, pick)
    state = State(open={n: o for n, o in zip("abcd", opens) if o})
    for k, (op, i) in enumerate(steps):
        rep = "abcd"[i]
        if op == "decide":
            lead = {"id": f"L{k}", "n": k}
            d = decide(c, lead, state, "seed")
            same(d, decide(c, lead, State.from_json(state.to_json()), "seed"))
            assert state._seats is not None and state._seats[1:] == afresh(c, state)
            state = apply(state, d, float(k))
        elif op == "close":
            state = close(state, rep)
        elif op in ("away", "back"):
            state = set_away(state, rep, op == "away")
        elif op == "reassign":
            state = reassign(state, "abcd"[(i + 1) % 4], _Placed(rep), float(k))
        else:
            state = credit(state, "month:2026-12", rep, 1)
        if state._seats is not None:
            assert state._seats[0] is c
            assert state._seats[1:] == afresh(c, state), (op, rep)


def test_a_reading_kept_for_one_team_is_not_read_by_another():
    wide, narrow = compiled([3, 3, 3, 3]), compiled([1, 1, 1, 1])
    state = State(open={"a": 1})
    assert decide(c=wide, lead={"id": "L1", "n": 1}, state=state, seed="s").rep == "b"
    assert state._seats[0] is wide
    # for the narrow team, a is at capacity: its own reading, not the wide team's
    d = decide(narrow, {"id": "L2", "n": 1}, state, "s")
    assert d.rep == "b" and tuple(d.picked_from) == (1, 2, 3)
    assert state._seats[0] is narrow


def test_the_kept_reading_is_not_part_of_the_value():
    c = compiled([2, 2, 2, 2])
    state = State(open={"a": 1})
    plain = State(open={"a": 1})
    d = decide(c, {"id": "L1", "n": 1}, state, "s")
    assert state._seats is not None and plain._seats is None
    assert state == plain and repr(state) == repr(plain) and state.to_json() == plain.to_json()
    assert apply(state, d, 1.0) == apply(plain, d, 1.0)
    assert replace(state, away=frozenset({"b"}))._seats is None  # `replace` may change anything: it keeps nothing
