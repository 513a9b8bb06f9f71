"""The outbox delivers signed lead events through a real loopback receiver that fails, times out and recovers, and across kill -9."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from policyd.daemon.outbox import OutboxConfig

from .serve_support import HIGH, ProcessServer, ThreadServer, db_rows, lead, make_token, publish

SECRET = "outbox-secret"


class Receiver:
    """A webhook receiver on a free loopback port; `script` says how it answers the next requests (then 200)."""

    def __init__(self, script: list[str] | None = None, port: int = 0):
        self.script = list(script or [])
        self.got: list[dict] = []  # every request that arrived, answered or not
        self.ok: list[dict] = []  # the ones answered 2xx
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Policyd-Timestamp"]
                good = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
                item = {
                    "delivery": int(self.headers["X-Policyd-Delivery"]),
                    "event": self.headers["X-Policyd-Event"],
                    "signed": hmac.compare_digest(good, self.headers["X-Policyd-Signature"]),
                    "body": json.loads(body),
                }
                with outer.lock:
                    outer.got.append(item)
                    action = outer.script.pop(0) if outer.script else "ok"
                if action == "slow":
                    time.sleep(1.5)  # longer than the daemon's timeout
                code = 500 if action == "fail" else 200
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    return  # the daemon gave up waiting
                if code == 200 and action == "ok":
                    with outer.lock:
                        outer.ok.append(item)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/policyd"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(cond, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def per_lead(items: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for x in items:
        out.setdefault(x["body"]["lead_id"], []).append(x["event"])
    return out


def test_events_reach_a_receiver_that_fails_times_out_and_recovers_in_order_per_lead(tmp_path):
    db = tmp_path / "policyd.db"
    publish(db)
    with Receiver(["fail", "fail", "slow"]) as rx:
        cfg = OutboxConfig((rx.url,), SECRET, timeout=0.5, backoff=0.05, max_backoff=0.2, interval=0.05)
        with ThreadServer(db, seed_fn=lambda now: "outbox", outbox=cfg) as srv:
            assign, admin = make_token(db, "assign"), make_token(db, "admin")
            with srv.client(assign) as c:
                a = c.post("/v1/assign", json=lead("O-1")).json()
                c.post("/v1/assign", json=lead("O-2", **HIGH))
                c.post("/v1/decisions/L-O-1/accept")
                c.post("/v1/decisions/L-O-1/close", json={"outcome": "won"})
            other = "quinn" if a["rep"] != "quinn" else "sam"
            with srv.client(admin) as c:
                assert c.post("/v1/decisions/L-O-2/override", json={"rep": other, "reason": "customer asked"}).status_code == 200
            wait_for(lambda: len(rx.ok) >= 5)
            with srv.client(admin) as c:
                metrics = c.get("/v1/metrics").text
                page = c.get("/dashboard").text
    assert per_lead(rx.ok) == {"L-O-1": ["lead.assigned", "lead.accepted", "lead.closed"], "L-O-2": ["lead.assigned", "lead.overridden"]}
    assert all(x["signed"] for x in rx.got)
    assert len(rx.got) >= 8  # two 500s and a timeout were retried
    closed = next(x["body"] for x in rx.ok if x["event"] == "lead.closed")
    assert (closed["rep"], closed["status"], closed["details"]["outcome"]) == (a["rep"], "won", "won")
    moved = next(x["body"] for x in rx.ok if x["event"] == "lead.overridden")
    assert (moved["rep"], moved["details"]["reason"]) == (other, "customer asked")
    assert 'policyd_outbox_events{state="delivered"} 5' in metrics and 'policyd_outbox_events{state="pending"} 0' in metrics
    assert 'policyd_outbox_attempts_total{result="failed"} 3' in metrics
    assert "Webhook deliveries" in page and "5 delivered" in page
    assert db_rows(db, "select count(*) from outbox where delivered_at is null") == [(0,)]


def test_events_survive_a_kill_9_and_reach_the_receiver_once_it_is_back(tmp_path):
    db = tmp_path / "policyd.db"
    publish(db)
    token = make_token(db, "assign")
    with Receiver() as probe:  # a port that is free once this receiver is gone
        port = probe.port
    url = f"http://127.0.0.1:{port}/hooks/policyd"
    os.environ["POLICYD_TEST_WEBHOOK_SECRET"] = SECRET
    args = ("--webhook", url, "--webhook-secret-env", "POLICYD_TEST_WEBHOOK_SECRET", "--webhook-timeout", "0.5")
    srv = ProcessServer(db, *args)
    try:
        with srv.client(token) as c:
            for i in range(3):
                assert c.post("/v1/assign", json=lead(f"K-{i}")).status_code == 201
            assert c.post("/v1/decisions/L-K-0/close", json={"outcome": "lost"}).status_code == 200
        wait_for(lambda: db_rows(db, "select count(*) from outbox where attempts > 0") >= [(3,)])  # tried: the receiver is down
    finally:
        srv.kill9()
    assert db_rows(db, "select count(*) from outbox where delivered_at is null") == [(4,)]
    with Receiver(port=port) as rx, ProcessServer(db, *args) as again:
        wait_for(lambda: len(rx.ok) >= 4, timeout=60)
        again.stop()
    assert per_lead(rx.ok) == {"L-K-0": ["lead.assigned", "lead.closed"], "L-K-1": ["lead.assigned"], "L-K-2": ["lead.assigned"]}
    assert sorted(x["delivery"] for x in rx.ok) == [1, 2, 3, 4]  # each event once the receiver answered
    assert db_rows(db, "select count(*) from outbox where delivered_at is null") == [(0,)]


@pytest.fixture(autouse=True)
def _clean_env():
    yield
    os.environ.pop("POLICYD_TEST_WEBHOOK_SECRET", None)


def test_an_sla_move_is_an_event_with_the_new_owner(tmp_path):
    from .serve_support import Clock

    db = tmp_path / "policyd.db"
    publish(db)
    clock = Clock()
    with Receiver() as rx:
        cfg = OutboxConfig((rx.url,), SECRET, timeout=2.0, backoff=0.05, interval=0.05)
        with ThreadServer(db, clock=clock, seed_fn=lambda now: "outbox-sla", outbox=cfg, sla_interval=3600) as srv:
            with srv.client(make_token(db, "assign")) as c:
                first = c.post("/v1/assign", json=lead("S-1", **HIGH)).json()
            wait_for(lambda: len(rx.ok) >= 1)
            clock.advance(2 * 3600 + 1)  # past the high tier's `respond within 2h`
            srv.settle()
            wait_for(lambda: len(rx.ok) >= 2)
    moved = rx.ok[1]["body"]
    assert [x["event"] for x in rx.ok] == ["lead.assigned", "lead.reassigned"]
    assert moved["details"]["from"] == first["rep"] and moved["rep"] == moved["details"]["to"] != first["rep"]
    assert moved["actor"] == "sla"
