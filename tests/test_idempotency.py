"""A retry that differs from the stored lead is a 409 naming the difference; a re-route is explicit and audited; overload is 429."""

from __future__ import annotations

import json
import threading

import pytest

from policyd.storage import audit
from policyd.storage.db import connect

from .serve_support import HIGH, Clock, ThreadServer, db_rows, lead, make_token, publish


@pytest.fixture
def srv(tmp_path):
    db = tmp_path / "policyd.db"
    publish(db)
    with ThreadServer(db, clock=Clock(), seed_fn=lambda now: "idem", max_pending=1) as s:
        s.db = db
        s.tokens = {r: make_token(db, r) for r in ("assign", "admin", "read")}
        yield s


def test_a_retry_with_a_different_body_is_a_409_naming_the_difference(srv):
    with srv.client(srv.tokens["assign"]) as c:
        first = c.post("/v1/assign", json=lead("I-1"))
        same = c.post("/v1/assign", json=lead("I-1"))
        other = c.post("/v1/assign", json=lead("I-1", employees=1500, company="Renamed"))
    assert (first.status_code, same.status_code, same.json()["replayed"]) == (201, 200, True)
    assert other.status_code == 409
    body = other.json()
    assert body["error"] == "conflict"
    assert body["message"].startswith("lead L-I-1 was decided with other values (company, employees); send it again with ?reroute=true")
    assert body["differences"] == [
        {"field": "company", "stored": "Company I-1", "sent": "Renamed"},
        {"field": "employees", "stored": 20, "sent": 1500},
    ]
    # nothing changed, and the refused retry is kept with its differences
    assert db_rows(srv.db, "select count(*), min(company) from (select json_extract(lead, '$.company') company from rt_decisions)") == [
        (1, "Company I-1")
    ]
    kept = db_rows(srv.db, "select kind, lead_id, reasons from intake_refused")
    assert [(k, lid, json.loads(r)) for k, lid, r in kept] == [("conflict", "L-I-1", body["differences"])]
    assert body["refused_id"] == 1


def test_a_reroute_decides_the_lead_again_frees_the_old_rep_and_is_audited(srv):
    with srv.client(srv.tokens["assign"]) as c:
        first = c.post("/v1/assign", json=lead("I-2")).json()
        moved = c.post("/v1/assign?reroute=true", json=lead("I-2", **HIGH))
        reps = {r["rep"]: r["open"] for r in c.get("/v1/reps").json()["reps"]}
        explained = c.get("/v1/decisions/L-I-2").json()
    assert moved.status_code == 201
    new = moved.json()
    assert (first["tier"], new["tier"], new["replayed"]) == ("low", "high", False)
    assert sum(reps.values()) == 1 and reps[new["rep"]] == 1  # the old holder let it go; one open lead in all
    assert explained["decision"]["decided"]["tier"] == "high"  # re-decided from the stored (new) lead: the same answer
    records = [r for r in audit.records(connect(srv.db)) if r["kind"] in ("assign", "reroute")]
    assert [r["kind"] for r in records] == ["assign", "reroute"]
    assert records[1]["data"]["from"] == first["rep"] and records[1]["data"]["changed"] == [
        "employees",
        "budget",
        "authority",
        "industry",
        "segment",
        "timing_months",
    ]
    assert records[1]["actor"] == "assign-client"
    count, problems = audit.verify(connect(srv.db))
    assert problems == [] and count > 0  # `policyd audit verify` follows the re-route


def test_overload_answers_429_with_retry_after_and_the_retry_is_decided(srv):
    gate, running = threading.Event(), threading.Event()
    rt = srv.runtime
    blocker = rt.submit(lambda tx: (running.set(), gate.wait(20)))  # the writer is busy with this one
    assert running.wait(20)
    filler = rt.submit(lambda tx: None)  # and one more waits: max_pending is 1
    try:
        with srv.client(srv.tokens["assign"]) as c:
            r = c.post("/v1/assign", json=lead("I-3"))
    finally:
        gate.set()
    blocker.result(timeout=20), filler.result(timeout=20)
    assert (r.status_code, r.headers["retry-after"], r.json()["error"]) == (429, "2", "overloaded")
    assert db_rows(srv.db, "select count(*) from rt_decisions") == [(0,)]  # nothing half-taken
    with srv.client(srv.tokens["assign"]) as c:
        again = c.post("/v1/assign", json=lead("I-3"))
        metrics = c.get("/v1/metrics").text
    assert again.status_code == 201
    assert 'policyd_events_total{event="overload_429"} 1' in metrics
