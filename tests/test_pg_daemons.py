"""Several daemons on one PostgreSQL database: no rep overbooked, each decision and SLA step once, one audit chain (faults: test_pg_faults.py)."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.storage import audit
from policyd.storage.db import connect
from policyd.storage.errors import StorageFailure
from policyd.storage.store import Store

from .serve_support import HIGH, INBOUND, Clock, ProcessServer, ThreadServer, db_rows, lead, make_token, publish

CAP = 2
SMALL = (
    INBOUND.replace("capacity default 25", f"capacity default {CAP}")
    .replace("capacity 30", f"capacity {CAP}")
    .replace("capacity 15", f"capacity {CAP}")
)


def _assign(client, i: int) -> tuple[int, dict]:
    r = client.post("/v1/assign", json=lead(f"N-{i}", **HIGH))
    return r.status_code, r.json()


def test_two_daemon_processes_never_overbook_a_rep_nor_lose_or_repeat_a_decision(pg_url):
    publish(pg_url, SMALL)
    tok = make_token(pg_url, "assign")
    n = 60
    with ProcessServer(pg_url) as a, ProcessServer(pg_url) as b, a.client(tok) as ca, b.client(tok) as cb:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda i: _assign(ca if i % 2 else cb, i), range(n)))
            again = list(pool.map(lambda i: _assign(cb if i % 2 else ca, i), range(0, n, 5)))  # the same leads, at the other daemon
    assert [s for s, _ in answers] == [201] * n  # created
    decided = {d["lead_id"]: d for _, d in answers}
    assert len(decided) == n
    for status, d in again:
        assert status == 200 and (d["rep"], d["queue"]) == (decided[d["lead_id"]]["rep"], decided[d["lead_id"]]["queue"])
    stored = db_rows(pg_url, "select lead_id, rep, queue, holder, status from rt_decisions")
    assert sorted(r[0] for r in stored) == sorted(decided)  # each answered lead stored once
    assert all((r[1], r[2]) == (decided[r[0]]["rep"], decided[r[0]]["queue"]) for r in stored)
    held = Counter(r[3] for r in stored if r[3] is not None and r[4] in ("assigned", "accepted"))
    assert held and max(held.values()) <= CAP, held  # nobody over capacity
    assert sum(held.values()) < n  # the rest wait in a queue: the capacity was reached
    kinds = Counter(k for (k,) in db_rows(pg_url, "select kind from audit"))
    assert kinds["assign"] == n and kinds["activate"] == 1
    r = CliRunner().invoke(main, ["audit", "verify", "--db", pg_url])
    assert r.exit_code == 0 and "chain intact" in r.output


def test_two_daemons_run_each_sla_step_once_and_both_pick_up_an_activation(pg_url):
    publish(pg_url)
    tok = make_token(pg_url, "assign")
    clock = Clock()
    with (
        ThreadServer(pg_url, clock=clock, sla_interval=3600) as a,
        ThreadServer(pg_url, clock=clock, sla_interval=3600) as b,
        a.client(tok) as ca,
        b.client(tok) as cb,
    ):
        ids = []
        for i in range(10):
            d = (ca if i % 2 else cb).post("/v1/assign", json=lead(f"T-{i}", **HIGH)).json()
            assert d["rep"] is not None
            ids.append(d["lead_id"])
        clock.advance(2 * 3600 + 1)
        ticks = [a.runtime.tick(), b.runtime.tick(), a.runtime.tick(), b.runtime.tick()]
        steps = [s for t in ticks for s in t.result(timeout=30)]
        assert sorted(s["lead_id"] for s in steps if s["kind"] == "reassign") == sorted(ids)  # each lead moved once
        store = Store(pg_url)
        v, _ = store.publish("inbound.policy", {"inbound.policy": INBOUND + "\n# v2\n"}, "v2", "tests")
        store.activate(v.number, "tests")
        store.close()
        for srv in (a, b):  # each picks it up (compiled away from its writer, then switched between two batches)
            deadline = time.monotonic() + 20
            while srv.runtime.policy.version != v.number and time.monotonic() < deadline:
                srv.settle()
                time.sleep(0.05)
            assert srv.runtime.policy.version == v.number
        d = cb.post("/v1/assign", json=lead("T-after", **HIGH)).json()
        assert d["version"] == v.number
    trail = db_rows(pg_url, "select kind, data from audit order by seq")
    moved = Counter(json.loads(data)["lead_id"] for kind, data in trail if kind == "sla_reassign")
    assert moved == dict.fromkeys(ids, 1)
    assert [json.loads(data)["version"] for kind, data in trail if kind == "activate"] == [1, v.number]
    assert audit.verify(connect(pg_url)) == (len(trail), [])


def test_a_daemon_that_loses_its_database_answers_503_then_recovers_by_itself(pg_url):
    from .pg_server import Proxy

    proxy = Proxy(pg_url)
    try:
        publish(proxy.url)
        tok = make_token(proxy.url, "assign")
        with ThreadServer(proxy.url, clock=Clock(), sla_interval=3600) as srv, srv.client(tok) as c:
            assert c.post("/v1/assign", json=lead("P-1", **HIGH)).status_code == 201
            proxy.cut()
            r = c.post("/v1/assign", json=lead("P-2", **HIGH))
            assert r.status_code == 503, r.text
            assert "PostgreSQL database" in r.json()["message"] and "cannot reach the server" in r.json()["message"]
            with pytest.raises(StorageFailure, match="cannot reach the server"):
                srv.settle()  # the writer's batch (an SLA tick) fails too, and the health says so
            health = c.get("/v1/health")
            assert health.status_code == 503 and health.json()["storage"]["status"] == "failing"
            proxy.restore()
            deadline = time.monotonic() + 30
            while (r := c.post("/v1/assign", json=lead("P-2", **HIGH))).status_code != 201 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert r.status_code == 201  # nothing was recorded for the refused try, so the retry decides it
            assert c.post("/v1/assign", json=lead("P-3", **HIGH)).status_code == 201
            assert c.get("/v1/health").status_code == 200
    finally:
        proxy.close()
    assert sorted(r[0] for r in db_rows(pg_url, "select lead_id from rt_decisions")) == ["L-P-1", "L-P-2", "L-P-3"]
    assert audit.verify(connect(pg_url))[1] == []


def test_two_daemons_send_each_webhook_event_once(pg_url):
    from policyd.daemon.outbox import OutboxConfig

    from .test_outbox import SECRET, Receiver, wait_for

    publish(pg_url)
    tok = make_token(pg_url, "assign")
    with Receiver() as rx:
        cfg = OutboxConfig((rx.url,), SECRET, timeout=2.0, backoff=0.05, interval=0.02)
        with (
            ThreadServer(pg_url, seed_fn=lambda now: "hooks", outbox=cfg) as a,
            ThreadServer(pg_url, seed_fn=lambda now: "hooks", outbox=cfg) as b,
            a.client(tok) as ca,
            b.client(tok) as cb,
        ):
            for i in range(20):
                assert (ca if i % 2 else cb).post("/v1/assign", json=lead(f"W-{i}")).status_code == 201
            wait_for(lambda: len(rx.ok) >= 20)
            time.sleep(0.3)  # time enough for a second send, were there one
    assert sorted(x["body"]["lead_id"] for x in rx.got) == sorted(f"L-W-{i}" for i in range(20))
    assert Counter(x["delivery"] for x in rx.got).most_common(1)[0][1] == 1
    assert db_rows(pg_url, "select count(*) from outbox where delivered_at is null") == [(0,)]
