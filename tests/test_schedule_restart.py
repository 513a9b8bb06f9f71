"""A scheduled activation survives the daemon: due while no daemon runs, it is in force from the restart, dated at its time."""

from __future__ import annotations

import time

from policyd.storage import schedule
from policyd.storage.store import Store

from .serve_support import INBOUND, ProcessServer, db_rows, lead, make_token, publish


def wait_until(t: float) -> None:
    while time.time() < t:
        time.sleep(min(0.1, max(t - time.time(), 0)))


def test_a_schedule_that_fell_due_while_the_daemon_was_down_is_in_force_after_the_restart(tmp_path):
    db = tmp_path / "p.db"
    one = publish(db)
    two = publish(db, INBOUND.replace("lottery 30%", "lottery 25%"), activate=False)
    three = publish(db, INBOUND.replace("lottery 30%", "lottery 20%"), activate=False)
    token = make_token(db, "admin", "dana")
    first = ProcessServer(db)
    with first.client(token) as c:
        assert c.post("/v1/assign", json=lead(1)).json()["version"] == one
    due2 = time.time() + 2
    schedule.schedule(Store(db), [two], due2, "dana")  # made while the first daemon runs
    first.kill9()  # a crash, not a clean stop: the schedule is in the file, not in the daemon
    first.stop()
    wait_until(due2 + 0.2)  # it falls due while no daemon runs
    with ProcessServer(db) as second:
        with second.client(token) as c:
            assert c.get("/v1/health").json()["version"] == two
            assert c.post("/v1/assign", json=lead(2)).json()["version"] == two
            due3 = time.time() + 4
            assert c.post("/v1/activate", json={"version": three, "at": due3}).status_code == 202
            assert c.post("/v1/assign", json=lead(3)).json()["version"] == two  # before its time
            wait_until(due3 + 0.05)
            assert c.post("/v1/assign", json=lead(4)).json()["version"] == three  # the first decision after it
            statuses = [s["status"] for s in c.get("/v1/schedule").json()]
    assert statuses == ["done", "done"]
    assert db_rows(db, "select lead_id, version from rt_decisions order by id") == [
        ("L-1", one),
        ("L-2", two),
        ("L-3", two),
        ("L-4", three),
    ]
    acts = db_rows(db, "select number, at from activations order by id")
    assert [n for n, _ in acts] == [one, two, three]
    assert abs(acts[1][1] - due2) < 1e-6 and abs(acts[2][1] - due3) < 1e-6  # dated at their times, not when the daemon noticed
