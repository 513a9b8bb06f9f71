"""SLA reassignment with an injected clock, through a real server."""

from __future__ import annotations

import json

from policyd.storage import audit
from policyd.storage.db import connect

from .serve_support import HIGH, Clock, ThreadServer, db_rows, lead, make_token, publish


def _audit(db, kinds):
    rows = db_rows(db, "select kind, actor, data from audit order by seq")
    return [(k, a, json.loads(d)) for k, a, d in rows if k in kinds]


def test_high_lead_moves_twice_then_escalates(db_target):
    db = db_target
    publish(db)
    tok = make_token(db, "assign")
    clock = Clock()
    # sla_interval is long: the test drives ticks itself, after moving the clock
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(tok) as c:
        d = c.post("/v1/assign", json=lead("S-1", **HIGH)).json()
        first = d["rep"]
        assert d["tier"] == "high" and first is not None
        assert d["deadline"] is not None
        clock.advance(2 * 3600 - 1)
        assert srv.settle() == []  # one second early: nothing moves
        clock.advance(2)
        steps = srv.settle()
        assert len(steps) == 1 and steps[0]["kind"] == "reassign" and steps[0]["from"] == first
        second = steps[0]["to"]
        assert second != first
        now = c.get("/v1/decisions/L-S-1").json()["decision"]
        assert (now["rep"], now["reassigned"], now["status"]) == (second, 1, "assigned")
        reps = {r["rep"]: r["open"] for r in c.get("/v1/reps").json()["reps"]}
        assert reps[first] == 0 and reps[second] == 1
        clock.advance(2 * 3600 + 1)
        steps = srv.settle()
        third = steps[0]["to"]
        assert third not in (first, second)
        clock.advance(2 * 3600 + 1)
        steps = srv.settle()
        assert steps == [
            {"kind": "escalate", "lead_id": "L-S-1", "from": third, "why": "not accepted after 2 reassignment(s), the most the SLA allows"}
        ]
        final = c.get("/v1/decisions/L-S-1").json()["decision"]
        assert (final["rep"], final["status"], final["queue"], final["deadline"]) == (None, "escalated", "escalated", None)
        assert sum(r["open"] for r in c.get("/v1/reps").json()["reps"]) == 0
    trail = _audit(db, {"assign", "sla_reassign", "sla_escalate"})
    assert [(k, d.get("from"), d.get("to", d.get("rep"))) for k, _, d in trail] == [
        ("assign", None, first),
        ("sla_reassign", first, second),
        ("sla_reassign", second, third),
        ("sla_escalate", third, None),
    ]
    assert audit.verify(connect(str(db))) == (len(db_rows(db, "select seq from audit")), [])


def test_low_tier_without_reassignments_escalates_at_once(db_target):
    db = db_target
    publish(db)
    tok = make_token(db, "assign")
    clock = Clock()
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(tok) as c:
        d = c.post("/v1/assign", json=lead("S-2")).json()
        assert d["tier"] == "low"
        clock.advance(24 * 3600 + 1)
        steps = srv.settle()
    assert steps == [
        {"kind": "escalate", "lead_id": "L-S-2", "from": d["rep"], "why": "not accepted after 0 reassignment(s), the most the SLA allows"}
    ]


def test_accepting_stops_the_timer(db_target):
    db = db_target
    publish(db)
    tok = make_token(db, "assign")
    clock = Clock()
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(tok) as c:
        d = c.post("/v1/assign", json=lead("S-3", **HIGH)).json()
        assert c.post("/v1/decisions/L-S-3/accept").status_code == 200
        clock.advance(10 * 3600)
        assert srv.settle() == []
        assert c.get("/v1/decisions/L-S-3").json()["decision"]["rep"] == d["rep"]


def test_timers_survive_a_restart(db_target):
    """The deadline is in the database: a new server acts on it."""
    db = db_target
    publish(db)
    tok = make_token(db, "assign")
    clock = Clock()
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(tok) as c:
        first = c.post("/v1/assign", json=lead("S-4", **HIGH)).json()["rep"]
    clock.advance(3 * 3600)
    # a second server, with the background loop on (every 20 ms), picks the deadline up by itself
    with ThreadServer(db, clock=clock, sla_interval=0.02) as srv, srv.client(tok) as c:
        import time

        deadline = time.monotonic() + 10
        while True:
            now = c.get("/v1/decisions/L-S-4").json()["decision"]
            if now["reassigned"] == 1:
                break
            assert time.monotonic() < deadline, "the SLA loop did not reassign after the restart"
            time.sleep(0.02)
        assert now["rep"] != first


def test_away_time_ends_by_the_clock(db_target):
    db = db_target
    publish(db)
    tok = make_token(db, "admin")
    clock = Clock()
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(tok) as c:
        c.put("/v1/reps/quinn/away", json={"until": clock() + 600, "reason": "dentist"})
        clock.advance(599)
        assert srv.settle() == []
        clock.advance(2)
        assert srv.settle() == [{"kind": "back", "rep": "quinn"}]
        reps = {r["rep"]: r for r in c.get("/v1/reps").json()["reps"]}
        assert reps["quinn"]["away"] is False
    assert [k for k, _, _ in _audit(db, {"away", "back"})] == ["away", "back"]
