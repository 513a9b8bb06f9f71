"""The runtime's single writer: group commit, one failing operation in a batch, rebuild on start."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyd.daemon.runtime import Runtime
from policyd.engine.decide import decide
from policyd.engine.schema import LeadError
from policyd.engine.state import State
from policyd.lottery import seeds
from policyd.storage import audit
from policyd.storage.db import connect
from policyd.storage.errors import Conflict, DomainError

from .serve_support import HIGH, INBOUND, Clock, db_rows, lead, publish


def started(db, *, seed: bool = True) -> Runtime:
    """A runtime over a fresh store; with `seed`, the clock's period has a committed seed to draw with."""
    publish(db)
    clock = Clock()
    if seed:
        seeds.commit(str(db), seeds.period_of(clock()), now=seeds.period_start(seeds.period_of(clock())) - 60)
    r = Runtime(str(db), clock=clock)
    r.start()
    return r


@pytest.fixture
def rt(tmp_path):
    r = started(tmp_path / "rt.db")
    yield r
    r.stop()


def test_concurrent_operations_share_commits(rt):
    """Many callers at once: every decision lands, in fewer transactions than decisions."""
    futures = []
    lock = threading.Lock()

    def burst(n: int):
        for i in range(50):
            f = rt.assign(lead(f"{n}-{i}"), "t")
            with lock:
                futures.append(f)

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = [f.result(timeout=30) for f in futures]
    assert len({row["lead_id"] for row, created in rows if created}) == 400
    assert db_rows(rt.path, "select count(*) from rt_decisions") == [(400,)]
    assert rt.batch_ops >= 400
    assert rt.batches < rt.batch_ops  # group commit happened


def test_a_refused_operation_does_not_spoil_its_batch(rt):
    """Operations queued together: the bad one fails alone, the others commit."""
    rt.call(lambda tx: None)  # the writer is idle now
    gate = threading.Event()
    blocker = rt.submit(lambda tx: gate.wait(10))  # holds the writer so the next three queue up together
    good1 = rt.assign(lead("B-1"), "t")
    bad = rt.assign(lead("B-2", employees="many"), "t")
    accept_unknown = rt.accept("L-nobody", "t")
    good2 = rt.assign(lead("B-3"), "t")
    gate.set()
    blocker.result(timeout=10)
    assert good1.result(timeout=10)[1] is True
    assert good2.result(timeout=10)[1] is True
    with pytest.raises(LeadError):
        bad.result(timeout=10)
    with pytest.raises(Exception, match="no decision for lead 'L-nobody'"):
        accept_unknown.result(timeout=10)
    ids = [r[0] for r in db_rows(rt.path, "select lead_id from rt_decisions order by id")]
    assert ids == ["L-B-1", "L-B-3"]
    assert sum(rt.state.open.values()) == 2
    n, problems = audit.verify(connect(rt.path))
    assert problems == [] and n >= 2


def test_state_is_rebuilt_from_the_database(tmp_path):
    db = tmp_path / "rb.db"
    publish(db)
    clock = Clock()
    a = Runtime(str(db), clock=clock)
    a.start()
    for i in range(30):
        a.assign(lead(f"R-{i}"), "t").result()
    a.close_lead("L-R-0", "won", "t").result()
    a.set_away("quinn", clock() + 3600, "training", "t").result()
    with pytest.raises(Conflict):
        a.close_lead("L-R-0", "lost", "t").result()
    before = a.state
    a.stop()
    b = Runtime(str(db), clock=clock)
    b.start()
    try:
        after = b.state
        assert {k: v for k, v in after.open.items() if v} == {k: v for k, v in before.open.items() if v}
        assert after.away == before.away == frozenset({"quinn"})
        assert after.cursors == before.cursors and after.last == before.last and after.wrr == before.wrr
        assert b.away_until["quinn"] == (clock() + 3600, "training")
        stored = State.from_json(json.loads(db_rows(db, "select state from rt_team_state")[0][0]))
        assert stored.to_json() == after.to_json()
    finally:
        b.stop()


def test_daemon_decisions_equal_a_replay_through_the_same_core(rt):
    """The stored leads, replayed in order through Compiled.decide and state.apply, give the same reps."""
    from policyd.engine.state import apply

    clock = rt.clock
    for i in range(60):
        over = HIGH if i % 3 == 0 else ({"employees": 300, "budget": "considering", "authority": "influencer"} if i % 3 == 1 else {})
        rt.assign(lead(f"P-{i}", **over), "t").result()
        clock.advance(7)
    rows = db_rows(rt.path, "select lead, seed_id, at, rep, queue, version, snapshot from rt_decisions order by id")
    c = rt.compiled_for(1)
    state = State()
    for raw, period, at, rep, queue, version, snapshot in rows:
        assert version == 1 and period == "2026-W47"
        assert json.loads(snapshot) == state.to_json()  # the state the daemon used is the replay's state
        d = decide(c, json.loads(raw), state, seeds.seed_for_period(rt.path, period))
        assert (d.rep, d.queue) == (rep, queue)
        state = apply(state, d, at)
    assert state.to_json() == rt.state.to_json()
    assert len({r[3] for r in rows if r[3]}) > 5  # the run spread leads over many reps


def test_no_committed_seed_still_assigns_with_the_lottery_off(tmp_path):
    """A lead is never dropped: without the period's seed it is decided by the rules, and the row says why."""
    db = tmp_path / "noseed.db"
    r = started(db, seed=False)
    try:
        rows = [r.assign(lead(f"N-{i}", **HIGH), "t").result()[0] for i in range(20)]
        assert all(row["rep"] for row in rows) and {row["by"] for row in rows} <= {"route", "exception"}
        note = "no committed seed for 2026-W47: lottery steps are skipped (run `policyd seed commit --period 2026-W47`)"
        assert {(row["lottery"], row["lottery_note"]) for row in rows} == {(0, note)}
        assert r.counters["lottery_off"] == 20
        seeds.commit(
            str(db), "2026-W47", now=seeds.period_start("2026-W47") - 60
        )  # committed by another process: the next batch draws with it
        drawn = [r.assign(lead(f"S-{i}", **HIGH), "t").result()[0] for i in range(40)]
        assert {(row["lottery"], row["seed_id"], row["lottery_note"]) for row in drawn} == {(1, "2026-W47", None)}
        assert any(row["by"] == "lottery" for row in drawn)
        seeds.reveal(str(db), "2026-W47")  # a revealed seed could be steered: no new draws with it
        [after] = [r.assign(lead("R-1", **HIGH), "t").result()[0]]
        assert after["lottery"] == 0 and "already revealed" in after["lottery_note"]
        assert seeds.seed_for_period(str(db), "2026-W47", allow_revealed=True) not in json.dumps(after["lottery_note"])
    finally:
        r.stop()


# ---------------------------------------------------------------- random operation sequences
REPS = ["alice", "erin", "nadia", "omar", "quinn", "tomas"]
TINY = (
    INBOUND.replace("capacity default 25", "capacity default 2").replace("capacity 30", "capacity 2").replace("capacity 15", "capacity 1")
)
OPS = st.one_of(
    st.tuples(st.just("assign"), st.integers(0, 15), st.sampled_from(["low", "high", "owner"])),
    st.tuples(st.just("close"), st.integers(0, 15), st.sampled_from(["won", "lost"])),
    st.tuples(st.just("accept"), st.integers(0, 15), st.none()),
    st.tuples(st.just("override"), st.integers(0, 15), st.sampled_from(REPS)),
    st.tuples(st.just("away"), st.sampled_from(REPS), st.integers(0, 3)),
    st.tuples(st.just("wait"), st.integers(1, 3 * 3600), st.none()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, max_size=30))
def test_any_sequence_keeps_state_decisions_and_audit_in_step(tmp_path_factory, ops):
    """Whatever happens (refusals included): open counts equal the decisions holding reps, nobody is over
    capacity, the audit chain is intact, and a restart rebuilds the same state."""
    db = tmp_path_factory.mktemp("seq") / "s.db"
    publish(db, TINY)
    clock = Clock()
    rt = Runtime(str(db), clock=clock)
    rt.start()
    try:
        for kind, a, b in ops:
            try:
                if kind == "assign":
                    extra = {"low": {}, "high": HIGH, "owner": {"account_owner": "quinn"}}[b]
                    rt.assign(lead(a, **extra), "t").result()
                elif kind == "close":
                    rt.close_lead(f"L-{a}", b, "t").result()
                elif kind == "accept":
                    rt.accept(f"L-{a}", "t").result()
                elif kind == "override":
                    rt.override(f"L-{a}", b, "test", "t").result()
                elif kind == "away":
                    rt.set_away(a, clock() + 3600 * b if b else None, "", "t").result()
                else:
                    clock.advance(a)
                    rt.tick().result()
            except DomainError:
                pass
        c = rt.compiled_for(1)
        held = dict(
            db_rows(
                db,
                "select holder, count(*) from rt_decisions where holder is not null and status in ('assigned', 'accepted') group by holder",
            )
        )
        assert {k: v for k, v in rt.state.open.items() if v} == held
        for rep, n in held.items():
            assert n <= c.capacity[c.rep_index[rep]], rep
        assert audit.verify(connect(str(db)))[1] == []
        before = rt.state.to_json()
    finally:
        rt.stop()
    again = Runtime(str(db), clock=clock)
    again.start()
    try:
        after = again.state.to_json()
        assert {k: v for k, v in after["open"].items() if v} == {k: v for k, v in before["open"].items() if v}
        assert {k: after[k] for k in ("away", "last", "cursors", "wrr")} == {k: before[k] for k in ("away", "last", "cursors", "wrr")}
    finally:
        again.stop()


def test_a_new_version_is_compiled_away_from_the_writer(tmp_path):
    """Activating a policy that takes long to compile never holds up decisions: the old version decides until the new one is ready."""
    from policyd.checks.load import load_text
    from policyd.storage.store import Store

    db = tmp_path / "slow.db"
    publish(db)
    v2 = publish(db, INBOUND.replace("capacity default 25", "capacity default 26"), activate=False, message="v2")
    release = threading.Event()
    compiling = threading.Event()

    def loader(version: int):
        if version == v2:
            compiling.set()
            assert release.wait(30), "the test never released the compile"
        return load_text(Store(str(db)).get(version).files["inbound.policy"], "inbound.policy").compiled

    r = Runtime(str(db), clock=Clock(), loader=loader)
    r.start()
    try:
        assert r.assign(lead("before"), "t").result(timeout=10)[0]["version"] == 1
        Store(str(db)).activate(v2, "ops")  # by another process: the daemon finds it in its next batch
        assert r.assign(lead("during-0"), "t").result(timeout=10)[0]["version"] == 1
        assert compiling.wait(10) and r.versions.compiling() == [v2]
        during = [r.assign(lead(f"during-{i}"), "t").result(timeout=5)[0] for i in range(1, 20)]
        assert {row["version"] for row in during} == {1}  # the writer kept deciding while v2 compiled
        release.set()
        for _ in range(100):
            row = r.assign(lead(f"after-{_}"), "t").result(timeout=10)[0]
            if row["version"] == v2:
                break
        assert row["version"] == v2 and r.versions.compiling() == []
        log = list(audit.records(connect(str(db))))
        switch = next(i for i, rec in enumerate(log) if rec["kind"] == "activate" and rec["data"]["version"] == v2)
        decided = [rec["data"]["lead_id"] for rec in log[switch:] if rec["kind"] == "assign"]
        assert decided and not any(x.startswith("L-during") for x in decided)  # recorded when it took over, not before
    finally:
        release.set()
        r.stop()
