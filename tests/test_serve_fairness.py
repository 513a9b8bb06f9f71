"""The daemon's /v1/fairness and the replay review measure the same leads the same way."""

from __future__ import annotations

from policyd.replay.fairness import figures
from policyd.replay.records import HistoryRow
from policyd.replay.replay import Replay

from .serve_support import HIGH, Clock, ThreadServer, lead, make_token, publish

MID = {"employees": 300, "budget": "considering", "authority": "influencer"}


def test_daemon_review_and_replay_agree_on_the_same_leads(tmp_path):
    db = tmp_path / "fair.db"
    publish(db)
    tok = make_token(db, "assign")
    clock = Clock()
    start = clock()
    leads = [lead(f"F-{i}", **(HIGH if i % 4 == 0 else MID if i % 4 == 1 else {})) for i in range(60)]
    arrivals = []
    with ThreadServer(db, clock=clock, sla_interval=3600, seed_fn=lambda now: "policyd") as srv, srv.client(tok) as c:
        for raw in leads:
            arrivals.append(clock())
            assert c.post("/v1/assign", json=raw).status_code == 201
            clock.advance(300)
        daemon = c.get("/v1/fairness", params={"since": start, "until": clock()}).json()
        compiled = srv.runtime.policy.compiled
    # the same leads, at the same times, through replay (the review's figures are made by the same Tally)
    replay = Replay([("daemon policy", compiled)], seed="policyd")
    replay.run(HistoryRow(i + 1, f"line {i + 1}", raw, raw["id"], t) for i, (raw, t) in enumerate(zip(leads, arrivals)))
    review = figures(replay.lanes[0].tally)
    assert daemon["counts"] == {r["rep"]: r["count"] for r in review["reps"]}
    assert (daemon["cv"], daemon["gini"], daemon["max_min_ratio"]) == (
        review["fairness"]["all"]["cv"],
        review["fairness"]["all"]["gini"],
        review["fairness"]["all"]["max_min"],
    )
    assert daemon["assigned"] == review["assigned"] == 60
    assert daemon["cv"] > 0  # the leads were not spread perfectly evenly: the figures are not trivially equal
