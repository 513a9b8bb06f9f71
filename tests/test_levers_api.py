"""The daemon's read API shows the levers: quota and caps per rep, shares per route.

Through a real server with the clock held at 1 December 2026 10:00 UTC, on the small
shares-and-quota team of tests/test_review_levers.py with `cap default 5 per day`:
L1 goes to ann (veteran, the level furthest below 50%) and closes won at 600, L2 to
bob (mid), L3 to ann again. So ann has used 2 of 5 today and made 600 of 2,000 this
month; the route's shares stand at veteran 2, mid 1 of 3.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from .serve_support import Clock, ThreadServer, make_token, publish
from .test_review_levers import OLD

POLICY = OLD.replace("  capacity default 10\n", "  capacity default 10\n  cap default 5 per day\n")


@pytest.fixture(scope="module")
def reads(tmp_path_factory):
    db = tmp_path_factory.mktemp("levers_api") / "d.db"
    publish(db, POLICY)
    tok = make_token(db, "admin")
    now = datetime(2026, 12, 1, 10, tzinfo=UTC).timestamp()
    with ThreadServer(db, clock=Clock(now), sla_interval=3600) as srv, srv.client(tok) as c:
        placed = [c.post("/v1/assign", json={"id": "L1", "value": 600}).json()["rep"]]
        assert c.post("/v1/decisions/L1/close", json={"outcome": "won"}).status_code == 200
        placed += [c.post("/v1/assign", json={"id": f"L{i}", "value": 100}).json()["rep"] for i in (2, 3)]
        srv.settle()
        reps = {r["rep"]: r for r in c.get("/v1/reps").json()["reps"]}
        fairness = c.get("/v1/fairness").json()
    return placed, reps, fairness


def test_reps_show_quota_and_caps_now(reads):
    placed, reps, _ = reads
    assert placed == ["ann", "bob", "ann"]
    assert reps["ann"]["quota"] == {"target": 2000, "unit": "value", "period": "month", "won": 600, "attainment": 0.3}
    assert reps["bob"]["quota"]["won"] == 0 and reps["bob"]["quota"]["target"] == 1000
    assert reps["ann"]["caps"] == {"day": {"limit": 5, "used": 2}}
    assert reps["cy"]["caps"] == {"day": {"limit": 5, "used": 0}}


def test_fairness_shows_each_shares_route_against_its_targets(reads):
    (s,) = reads[2]["shares"]
    assert (s["name"], s["per"], s["period"], s["counted"]) == ("all", "month", "month:2026-12", 3)
    assert [(lv["level"], lv["target"], lv["count"]) for lv in s["levels"]] == [("veteran", 0.5, 2), ("mid", 0.5, 1)]
    assert s["levels"][0]["realized"] == pytest.approx(2 / 3)


def test_reps_without_levers_read_null(tmp_path):
    db = tmp_path / "plain.db"
    publish(db)
    with ThreadServer(db, clock=Clock()) as srv, srv.client(make_token(db, "read")) as c:
        rep = c.get("/v1/reps").json()["reps"][0]
        shares = c.get("/v1/fairness").json()["shares"]
    assert rep["quota"] is None and rep["caps"] is None and shares == []
