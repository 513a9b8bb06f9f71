"""Governance through the real daemon: overrides held for a second person, scheduled activations, who overrides whom."""

from __future__ import annotations

import datetime as dt
import threading
import time

from policyd.storage import audit
from policyd.storage.db import connect
from policyd.storage.store import Store

from .serve_support import HIGH, INBOUND, Clock, ThreadServer, db_rows, lead, make_token, publish

MONDAY = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC).timestamp()  # 2026-W49


def header(*clauses: str) -> str:
    return INBOUND.replace("  review every 3 months\n", "  review every 3 months\n" + "".join(f"  {c}\n" for c in clauses), 1)


def kinds(db) -> list[tuple[str, str]]:
    return [(r["kind"], r["actor"]) for r in audit.records(connect(str(db))) if r["kind"] not in ("assign", "activate")]


def test_an_override_the_policy_holds_waits_for_a_second_person(db_target):
    db = db_target  # a SQLite file, then a PostgreSQL database
    publish(db, header("approve overrides of lottery", "approve overrides over 1 per week"))
    ops, lee = make_token(db, "admin", "ops"), make_token(db, "admin", "lee")
    with ThreadServer(db, clock=Clock(MONDAY), sla_interval=3600, seed_fn=lambda now: "fixed seed") as srv:
        with srv.client(ops) as c, srv.client(lee) as c2:
            for i in (1, 2):
                assert c.post("/v1/assign", json=lead(i)).json()["rep"] in ("nadia", "omar")
            first = c.post("/v1/decisions/L-1/override", json={"rep": "uma", "reason": "knows the account"})
            assert (first.status_code, first.json()["rep"]) == (200, "uma")  # ops's first this week: under the limit
            held = c.post("/v1/decisions/L-2/override", json={"rep": "uma", "reason": "same account"})
            assert held.status_code == 202
            body = held.json()
            assert body["status"] == "pending_approval"
            assert body["approval"]["rule"] == "`approve overrides over 1 per week`: ops has made 1 override this week"
            assert c.get("/v1/decisions/L-2").json()["decision"]["rep"] == "omar"  # not moved yet
            # a request the override itself would refuse is refused now, in its words, and nothing is held
            same = c.post("/v1/decisions/L-1/override", json={"rep": "uma", "reason": "again"})
            assert (same.status_code, same.json()["message"]) == (409, "lead L-1 is already with uma")
            nobody = c.post("/v1/decisions/L-1/override", json={"rep": "nadja", "reason": "x"})
            assert (nobody.status_code, nobody.json()["message"]) == (404, "no rep named 'nadja' in version 1; did you mean nadia?")
            # the lottery's decisions: find a high lead the draw decided (the seed is fixed, so this is deterministic)
            drawn = plain = None
            for i in range(1, 40):
                d = c.post("/v1/assign", json=lead(f"H-{i}", **HIGH)).json()
                if d["decided"]["by"] == "lottery" and drawn is None:
                    drawn = d
                elif d["decided"]["by"] != "lottery" and plain is None:
                    plain = d
                if drawn and plain:
                    break
            assert drawn and plain
            target = "alice" if drawn["rep"] != "alice" else "carol"
            lottery = c2.post(f"/v1/decisions/{drawn['lead_id']}/override", json={"rep": target, "reason": "alice has the account"})
            assert lottery.status_code == 202
            assert lottery.json()["approval"]["rule"] == "`approve overrides of lottery`: the lottery drew it"
            other = "alice" if plain["rep"] != "alice" else "carol"
            ok = c2.post(f"/v1/decisions/{plain['lead_id']}/override", json={"rep": other, "reason": "by the rules, not drawn"})
            assert ok.status_code == 200  # lee's first this week, not drawn by the lottery
            listed = c.get("/v1/approvals").json()
            assert [(x["lead_id"], x["by"]) for x in listed["overrides"]] == [("L-2", "ops"), (drawn["lead_id"], "lee")]
            ops_id, lee_id = (x["id"] for x in listed["overrides"])
            selfish = c.post(f"/v1/approvals/{ops_id}/approve")
            assert (selfish.status_code, selfish.json()["error"]) == (403, "self_approval")
            assert (
                selfish.json()["message"]
                == f"ops asked for override {ops_id}, so ops cannot approve it: a second person approves an override"
            )
            approved = c2.post(f"/v1/approvals/{ops_id}/approve")
            assert approved.status_code == 200, approved.text
            assert (approved.json()["status"], approved.json()["decision"]["rep"]) == ("approved", "uma")
            assert c.get("/v1/decisions/L-2").json()["decision"]["rep"] == "uma"
            rejected = c.post(f"/v1/approvals/{lee_id}/reject")
            assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
            assert c.get(f"/v1/decisions/{drawn['lead_id']}").json()["decision"]["rep"] == drawn["rep"]
            again = c2.post(f"/v1/approvals/{ops_id}/approve")
            assert (again.status_code, again.json()["message"]) == (409, f"override request {ops_id} is approved already (by lee)")
            assert c.get("/v1/approvals").json()["overrides"] == []
            assert c.post("/v1/approvals/999/approve").status_code == 404
    assert kinds(db) == [
        ("override", "ops"),
        ("override_request", "ops"),
        ("override_request", "lee"),
        ("override", "lee"),
        ("override_approve", "lee"),
        ("override", "ops"),
        ("override_reject", "ops"),
    ]
    moved = [r for r in audit.records(connect(str(db))) if r["kind"] == "override" and r["data"]["lead_id"] == "L-2"]
    assert moved[0]["data"] == {"lead_id": "L-2", "from": "omar", "to": "uma", "reason": "same account", "approved_by": "lee"}
    assert audit.verify(connect(str(db)))[1] == []


def test_a_scheduled_set_switches_exactly_at_its_time_while_leads_keep_coming(db_target):
    db = db_target  # a SQLite file, then a PostgreSQL database
    one = publish(db)
    two = publish(db, INBOUND.replace("lottery 30%", "lottery 25%"), activate=False)
    admin, crm = make_token(db, "admin", "dana"), make_token(db, "assign", "crm")
    clock = Clock(MONDAY)
    due = MONDAY + 600
    with ThreadServer(db, clock=clock, sla_interval=0.02) as srv:
        with srv.client(admin) as c:
            r = c.post("/v1/activate", json={"versions": [f"@{two}"], "at": "2026-11-30T10:10:00Z"})
            assert r.status_code == 202, r.text
            assert r.json()["scheduled"]["due"] == "2026-11-30T10:10:00Z"
            assert [s["status"] for s in c.get("/v1/schedule").json()] == ["pending"]
        stop = threading.Event()
        sent: list[str] = []

        def flow() -> None:
            with srv.client(crm) as cc:
                i = 0
                while not stop.is_set():
                    i += 1
                    assert cc.post("/v1/assign", json=lead(f"F-{i}")).status_code == 201
                    sent.append(f"L-F-{i}")

        t = threading.Thread(target=flow)
        t.start()
        for _ in range(40):  # the clock crosses the due time in 30 s steps while the leads flow, a few leads each step
            seen = len(sent)
            clock.advance(30)
            give_up = time.monotonic() + 10
            while len(sent) < seen + 2 and time.monotonic() < give_up and t.is_alive():
                time.sleep(0.005)
        stop.set()
        t.join(timeout=30)
        with srv.client(admin) as c:
            assert [s["status"] for s in c.get("/v1/schedule").json()] == ["done"]
            assert c.get("/v1/health").json()["version"] == two
    rows = db_rows(db, "select at, version from rt_decisions order by id")
    assert len(rows) == len(sent) and any(at < due for at, _ in rows) and any(at >= due for at, _ in rows)
    assert [v for at, v in rows] == [two if at >= due else one for at, _ in rows]  # each decision names the version in force at its time
    store = Store(db)
    log = store.activation_log()
    assert (log[0].number, log[0].at, log[0].by) == (two, due, "dana")
    records = [r for r in audit.records(connect(str(db))) if r["kind"] in ("schedule", "schedule_done", "activate")]
    assert [r["kind"] for r in records] == ["activate", "schedule", "schedule_done", "activate"]
    assert records[-1]["data"]["activated_at"] == due


def test_who_overrides_whom_on_the_week_page_and_in_fairness(tmp_path):
    db = tmp_path / "p.db"
    publish(db)
    crm, ops, lee = make_token(db, "assign", "crm"), make_token(db, "admin", "ops"), make_token(db, "admin", "lee")
    viewer = make_token(db, "read", "viewer")
    with ThreadServer(db, clock=Clock(MONDAY), sla_interval=3600) as srv:
        with srv.client(crm) as c:
            # low leads go to the new reps, least loaded first, in team order
            assert [c.post("/v1/assign", json=lead(i)).json()["rep"] for i in range(1, 7)] == [
                "nadia",
                "omar",
                "priya",
                "quinn",
                "rosa",
                "sam",
            ]
        with srv.client(ops) as c:
            assert [c.post("/v1/assign", json=lead(i)).json()["rep"] for i in (7, 8)] == ["tomas", "uma"]
            for lid, rep in (("L-1", "tomas"), ("L-2", "tomas")):
                assert c.post(f"/v1/decisions/{lid}/override", json={"rep": rep, "reason": "r"}).status_code == 200
        with srv.client(lee) as c:
            for lid, rep in (("L-3", "uma"), ("L-1", "uma")):
                assert c.post(f"/v1/decisions/{lid}/override", json={"rep": rep, "reason": "r"}).status_code == 200
        with srv.client(viewer) as c:
            fig = c.get("/v1/fairness", params={"since": "2026-11-30T00:00:00Z", "until": "2026-12-07T00:00:00Z"}).json()
            page = c.get("/week", params={"week": "2026-W49"}).text
    # By hand: crm placed L-1..L-6 by the rules; ops placed L-7, L-8 by the rules and moved L-1 nadia->tomas,
    # L-2 omar->tomas; lee moved L-3 priya->uma and L-1 again, tomas->uma. So 4 overrides, all of low leads;
    # compliance: crm 6/(6+0) = 1, ops 2/(2+2) = 0.5, lee 0/(0+2) = 0.
    # Gained: tomas 2 (L-1, L-2), uma 2 (L-3, L-1); lost: nadia, omar, priya and tomas 1 each.
    assert fig["override_figures"] == {
        "total": 4,
        "by_actor": [
            {"actor": "lee", "placed_by_rules": 0, "overrides": 2, "rule_compliance": 0.0},
            {"actor": "ops", "placed_by_rules": 2, "overrides": 2, "rule_compliance": 0.5},
            {"actor": "crm", "placed_by_rules": 6, "overrides": 0, "rule_compliance": 1.0},
        ],
        "per_rep": [
            {"rep": "tomas", "gained": 2, "lost": 1},
            {"rep": "uma", "gained": 2, "lost": 0},
            {"rep": "nadia", "gained": 0, "lost": 1},
            {"rep": "omar", "gained": 0, "lost": 1},
            {"rep": "priya", "gained": 0, "lost": 1},
        ],
        "gained": [{"rep": "tomas", "leads": 2}, {"rep": "uma", "leads": 2}],
        "lost": [{"rep": "nadia", "leads": 1}, {"rep": "omar", "leads": 1}, {"rep": "priya", "leads": 1}, {"rep": "tomas", "leads": 1}],
        "by_tier": [{"tier": "low", "overrides": 4}],
    }
    assert "<p>4 overrides this week.</p>" in page
    assert '<tr><td>ops</td><td class="num">2</td><td class="num">2</td><td class="num">50%</td></tr>' in page
    assert '<tr><td>crm</td><td class="num">0</td><td class="num">6</td><td class="num">100%</td></tr>' in page
    assert '<tr><td>tomas</td><td class="num">2</td><td class="num">1</td></tr>' in page
    assert '<tr><td>low</td><td class="num">4</td></tr>' in page


def test_the_dashboard_lists_what_waits_and_says_when_the_review_is_due(tmp_path):
    db = tmp_path / "p.db"
    store = Store(db)
    one = store.publish("inbound.policy", {"inbound.policy": INBOUND}, "m", "dana")[0].number
    store.activate(one, "dana", now=MONDAY - 100 * 86400)  # 2026-08-22: `review every 3 months` fell due on 2026-11-22
    gated = store.publish("inbound.policy", {"inbound.policy": header("approve versions by another")}, "four eyes", "dana")[0].number
    viewer = make_token(db, "read", "viewer")
    clock = Clock(MONDAY - 9 * 86400)  # 2026-11-21: not due yet
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv:
        with srv.client(viewer) as c:
            early = c.get("/dashboard").text
            clock.advance(9 * 86400)
            late = c.get("/dashboard").text
            pending = c.get("/v1/approvals").json()
    assert "Review due." not in early
    assert "review due: @1 says `review every 3 months` and has been active since 2026-08-22, so it was due 2026-11-22, 8 days ago" in late
    assert f"<td>version @{gated}</td><td>dana</td>" in late and "No activation is scheduled." in late
    assert [(x["version"], x["rule"]) for x in pending["versions"]] == [(gated, "`approve versions by another`")]


def test_a_scheduled_set_across_two_teams_switches_both_between_the_same_two_decisions(tmp_path):
    import re

    from policyd.storage import schedule
    from policyd.storage.store import load_bundle
    from policyd.storage.teams import activate_set

    reps = tuple(load_bundle("inbound.policy", {"inbound.policy": INBOUND}).compiled.rep_names)

    def emea(text: str) -> str:  # the same policy as team emea, every rep renamed (a rep belongs to one team)
        return re.sub(r"\b(" + "|".join(reps) + r")\b", r"eu_\1", text.replace("policy inbound_b2b", "policy emea", 1))

    db = tmp_path / "p.db"
    store = Store(db)
    put = lambda name, text: store.publish(f"{name}.policy", {f"{name}.policy": text}, "m", "dana")[0].number  # noqa: E731
    a1, b1 = put("inbound", INBOUND), put("emea", emea(INBOUND))
    a2, b2 = put("inbound", INBOUND.replace("lottery 30%", "lottery 25%")), put("emea", emea(INBOUND.replace("lottery 30%", "lottery 20%")))
    activate_set(store, [a1, b1], "dana", now=MONDAY - 60)
    schedule.schedule(store, [f"inbound_b2b@{a2}", f"emea@{b2}"], MONDAY + 300, "dana", now=MONDAY)
    clock = Clock(MONDAY)
    crm = make_token(db, "assign", "crm")
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(crm) as c:
        for step, team in enumerate(
            ["inbound_b2b", "emea"] * 4
        ):  # 50 s apart: the set falls due exactly at the 7th decision (MONDAY + 300)
            clock.t = MONDAY + 50 * step
            assert c.post(f"/v1/teams/{team}/assign", json=lead(f"{team}-{step}")).status_code == 201
    got = db_rows(db, "select team, at, version from rt_decisions order by id")
    # before MONDAY + 300 each team decides with its first version, from it with the scheduled one: never a mix
    assert [(t, v) for t, _, v in got] == [
        ("inbound_b2b", a1),
        ("emea", b1),
        ("inbound_b2b", a1),
        ("emea", b1),
        ("inbound_b2b", a1),
        ("emea", b1),
        ("inbound_b2b", a2),
        ("emea", b2),
    ]
    log = store.activation_log()
    assert {(x.policy, x.number, x.at) for x in log[:2]} == {("inbound_b2b", a2, MONDAY + 300), ("emea", b2, MONDAY + 300)}
