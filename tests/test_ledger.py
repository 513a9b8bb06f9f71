"""A Ledger moves by the same transitions as a State, in place, and never changes a decision's state.

A decision made from a ledger keeps a snapshot built only when read; these tests make
decisions, move the ledger on (past the journal's bound too), and hold every
decision's `state` equal to the State the immutable transitions give at that moment,
and its rebuild equal to the decision.
"""

from __future__ import annotations

import gc
import weakref

from hypothesis import given, settings
from hypothesis import strategies as st

import policyd
from policyd.checks.load import load_text
from policyd.engine.decide import decide, rebuild
from policyd.engine.ledger import Ledger
from policyd.engine.state import State, apply, close, credit, reassign, set_away, with_open
from policyd.engine.transitions import JOURNAL_LIMIT


def compiled(pick: str = "round robin"):
    text = f"""
    lead {{ id text  n int }}
    score s {{ 1 otherwise }}
    tiers {{ t 1..1 }}
    team {{ capacity default 3
      rep a new
      rep b new
      rep c mid capacity 2
      rep d mid }}
    route t {{ prefer new
      pick {pick} }}
    """
    loaded = load_text(text, "ledger.policy")
    assert loaded.errors == [], loaded.errors
    return loaded.compiled


class _Placed:
    """A move to `rep` with no rotation update (as an override makes)."""

    def __init__(self, rep: str):
        self.rep, self.updates = rep, ()


ops = st.lists(
    st.tuples(st.sampled_from(["decide", "close", "away", "back", "reassign", "credit", "open"]), st.integers(0, 3)),
    min_size=1,
    max_size=60,
)


def same(a, b) -> None:
    assert (a.rep, a.queue, tuple(a.picked_from), a.updates, a.by) == (b.rep, b.queue, tuple(b.picked_from), b.updates, b.by)


@settings(max_examples=150, deadline=None)
@given(steps=ops, pick=st.sampled_from(["least loaded", "round robin", "weighted"]))
def test_a_ledger_moves_as_states_do_and_its_decisions_keep_their_state(steps, pick):
    c = compiled(pick)
    state = State(open={"a": 1})
    ledger = Ledger(state)
    kept = []  # (decision from the ledger, the State it was made from)
    for k, (op, i) in enumerate(steps):
        rep = "abcd"[i]
        if op == "decide":
            lead = {"id": f"L{k}", "n": k}
            d, e = decide(c, lead, state, "seed"), decide(c, lead, ledger, "seed")
            same(d, e)
            same(e, decide(c, lead, State.from_json(state.to_json()), "seed"))  # the ledger's kept ranks, read afresh
            kept.append((e, state))
            state, moved = apply(state, d, float(k)), apply(ledger, e, float(k))
        elif op == "close":
            state, moved = close(state, rep), close(ledger, rep)
        elif op in ("away", "back"):
            state, moved = set_away(state, rep, op == "away"), set_away(ledger, rep, op == "away")
        elif op == "reassign":
            old = "abcd"[(i + 1) % 4]
            state, moved = reassign(state, old, _Placed(rep), float(k)), reassign(ledger, old, _Placed(rep), float(k))
        elif op == "credit":
            key = f"month:2026-{1 + k // 10:02d}"  # a new period now and then drops the old one
            state, moved = credit(state, key, rep, 1), credit(ledger, key, rep, 1)
        else:
            state, moved = with_open(state, {rep: i}), with_open(ledger, {rep: i})
        assert moved is ledger  # moved in place
        assert ledger.snapshot() == state
    for e, before in kept:
        assert e.state == before and e.state.__class__ is State
        again = rebuild(c, e)
        same(again, e)


def test_a_decision_keeps_its_state_however_far_the_ledger_moves():
    """Past the journal's bound the ledger closes the segment; the states held are built from it."""
    c = compiled()
    ledger = policyd.Ledger()
    d = decide(c, {"id": "L0", "n": 0}, ledger, "seed")
    want = ledger.snapshot()
    held, states = [], []
    state = want
    for k in range(JOURNAL_LIMIT):
        e = decide(c, {"id": f"L{k + 1}", "n": k}, ledger, "seed")
        if k % 500 == 0:
            held.append(e)
            states.append(state)
        state = close(apply(state, e, float(k)), e.rep)
        policyd.close(policyd.apply(ledger, e, float(k)), e.rep)
    assert ledger.snapshot() == state
    assert d.state == want and rebuild(c, d).rep == d.rep
    assert [e.state for e in held] == states
    assert ledger._journal is None or len(ledger._journal) <= JOURNAL_LIMIT + 8


def test_a_journal_segment_lives_only_while_a_snapshot_in_it_does():
    """Memory stays flat: the segments of decisions dropped unread are freed, a held one's is kept."""
    c = compiled()
    ledger = policyd.Ledger()
    segments = []  # a weak reference to every segment a decision was made in
    kept = None
    for k in range(5 * JOURNAL_LIMIT):
        e = decide(c, {"id": f"L{k}", "n": k}, ledger, "seed")
        segments.append(weakref.ref(e._state.segment))
        if k == JOURNAL_LIMIT:
            kept, kept_state = e, ledger.snapshot()
        policyd.close(policyd.apply(ledger, e, float(k)), e.rep)
    del e
    gc.collect()
    alive = {id(s) for r in segments if (s := r()) is not None}
    assert alive == {id(kept._state.segment), id(ledger._segment)}
    held = weakref.ref(kept._state.segment)
    assert held() is not ledger._segment  # a closed segment, kept by the snapshot alone
    assert kept.state == kept_state
    gc.collect()
    assert held() is None  # built on read, and its segment let go


def test_a_ledger_never_writes_the_state_it_started_from_nor_a_snapshot():
    c = compiled()
    start = State(open={"a": 1}, cursors={"route:t": "a"})
    ledger = Ledger(start)
    d = decide(c, {"id": "L1", "n": 1}, ledger, "seed")
    snap = ledger.snapshot()
    apply(ledger, d, 5.0)
    credit(ledger, "month:2026-12", "b", 2)
    assert start == State(open={"a": 1}, cursors={"route:t": "a"})
    assert snap == State(open={"a": 1}, cursors={"route:t": "a"}) == d.state
    assert ledger.open["b"] == 1 and ledger.counts == {"month:2026-12": {"b": 2}}


def test_the_immutable_transitions_leave_their_state_alone():
    c = compiled()
    state = State(open={"a": 1})
    d = decide(c, {"id": "L1", "n": 1}, state, "seed")
    after = apply(state, d, 1.0)
    assert d.rep == "a" and state == State(open={"a": 1}) and after.open == {"a": 2}
    assert close(after, "a") == State(open={"a": 1}, last={"a": 1.0}, cursors={"route:t": "a"})
    assert after.open == {"a": 2} and state.open == {"a": 1}
