"""Properties of every decision (hypothesis): determinism, and no rep over capacity."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyd.checks.load import load_path
from policyd.engine import trace as ev
from policyd.engine.decide import decide, rebuild
from policyd.engine.state import State, apply

from .conftest import POLICIES

INBOUND = load_path(POLICIES / "inbound.policy").compiled
EMEA = load_path(POLICIES / "emea.policy").compiled
NAMES = list(INBOUND.rep_names)

inbound_leads = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=8),
        "company": st.text(max_size=20),
        "employees": st.integers(min_value=0, max_value=20000),
        "budget": st.sampled_from(["stated", "considering", "unknown"]),
        "authority": st.sampled_from(["decision_maker", "influencer", "info_gathering"]),
        "industry": st.sampled_from(["it", "manufacturing", "finance", "retail", "health", "other"]),
        "segment": st.sampled_from(["enterprise", "smb"]),
        "country": st.sampled_from(["US", "JP", "DE"]),
    },
    optional={
        "timing_months": st.one_of(st.none(), st.integers(min_value=0, max_value=24)),
        "motion": st.sampled_from(["new_business", "expansion"]),
        "account_owner": st.sampled_from(NAMES),
        "language": st.sampled_from(["en", "ja", "de"]),
    },
)


def states(names, capacity):
    return st.builds(
        lambda opens, away, cursor: State(
            open={n: o for n, o in zip(names, opens) if o},
            away=frozenset(a for a, flag in zip(names, away) if flag),
            cursors={"route:medium": cursor} if cursor else {},
        ),
        st.tuples(*[st.integers(min_value=0, max_value=c) for c in capacity]),
        st.tuples(*[st.booleans() for _ in names]),
        st.one_of(st.none(), st.sampled_from(list(names))),
    )


inbound_states = states(INBOUND.rep_names, INBOUND.capacity)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lead=inbound_leads, state=inbound_states, seed=st.text(max_size=10), lottery=st.booleans())
def test_same_inputs_give_the_same_decision(lead, state, seed, lottery):
    a = decide(INBOUND, lead, state, seed, lottery=lottery, trace=True)
    b = decide(INBOUND, dict(lead), State.from_json(state.to_json()), seed, lottery=lottery, trace=True)
    assert a.summary() == b.summary()
    assert a.trace == b.trace
    assert a.lottery == b.lottery


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lead=inbound_leads, state=inbound_states, seed=st.text(max_size=10), lottery=st.booleans())
def test_the_fast_path_and_the_traced_path_decide_alike(lead, state, seed, lottery):
    fast = decide(INBOUND, lead, state, seed, lottery=lottery)
    traced = rebuild(INBOUND, fast)
    assert fast.trace is None and traced.trace
    assert fast == dataclasses.replace(traced, trace=None)  # every compared field: rep, queue, tier, by, draw, updates...
    assert fast.candidates == traced.candidates


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lead=inbound_leads, state=inbound_states, seed=st.text(max_size=10), lottery=st.booleans())
def test_a_chosen_rep_is_available_or_the_lead_is_queued_with_a_reason(lead, state, seed, lottery):
    d = decide(INBOUND, lead, state, seed, lottery=lottery)
    if d.rep is not None:
        i = INBOUND.rep_index[d.rep]
        assert d.rep not in state.away
        assert state.open.get(d.rep, 0) < INBOUND.capacity[i]
        assert d.queue is None
    else:
        assert d.queue is not None
        traced = decide(INBOUND, lead, state, seed, lottery=lottery, trace=True)
        assert any(isinstance(t, (ev.Unassigned, ev.OtherwiseQueue, ev.Queue)) for t in traced.trace)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leads=st.lists(inbound_leads, min_size=1, max_size=120), seed=st.text(max_size=6))
def test_a_stream_of_leads_never_pushes_a_rep_over_capacity(leads, seed):
    state = State()
    for k, lead in enumerate(leads):
        d = decide(INBOUND, lead, state, seed)
        state = apply(state, d, at=float(k))
        for rep, n in state.open.items():
            assert n <= INBOUND.capacity[INBOUND.rep_index[rep]]
    assert sum(state.open.values()) <= len(leads)


emea_leads = st.fixed_dictionaries(
    {
        "id": st.text(min_size=1, max_size=6),
        "company": st.text(max_size=10),
        "seats": st.integers(min_value=0, max_value=2000),
        "source": st.sampled_from(["web", "event", "partner", "referral"]),
        "segment": st.sampled_from(["enterprise", "smb"]),
    },
    optional={
        "language": st.sampled_from(["en", "de", "fr", "ja"]),
        "urgent": st.booleans(),
        "spam_score": st.floats(min_value=0, max_value=1),
        "owner": st.sampled_from(list(EMEA.rep_names)),
    },
)


@settings(max_examples=300, deadline=None)
@given(lead=emea_leads, state=states(EMEA.rep_names, EMEA.capacity), seed=st.text(max_size=6))
def test_emea_decisions_are_deterministic_and_respect_availability(lead, state, seed):
    a = decide(EMEA, lead, state, seed)
    assert a.summary() == decide(EMEA, dict(lead), state, seed).summary()
    if a.rep is not None:
        assert a.rep not in state.away
        assert state.open.get(a.rep, 0) < EMEA.capacity[EMEA.rep_index[a.rep]]
    else:
        assert a.queue in ("unassigned", "spam_review", "hot_backlog")


@settings(max_examples=300, deadline=None)
@given(
    opens=st.lists(st.integers(min_value=0, max_value=30), min_size=20, max_size=20),
    lasts=st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=5)), min_size=20, max_size=20),
    mask=st.lists(st.booleans(), min_size=20, max_size=20).filter(any),
)
def test_staged_least_loaded_equals_the_tuple_key_of_the_language_doc(opens, lasts, mask):
    import math

    from policyd.engine.picks import least_loaded

    names = INBOUND.rep_names
    state = State(last={n: float(t) for n, t in zip(names, lasts) if t is not None})
    cands = [i for i, keep in enumerate(mask) if keep]
    cap = INBOUND.capacity
    expected = min(cands, key=lambda i: (opens[i] / cap[i], opens[i], state.last.get(names[i], -math.inf), i))
    assert least_loaded(INBOUND, opens, state, cands) == expected
