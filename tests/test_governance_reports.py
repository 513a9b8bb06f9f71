"""The governance reports a person reads in a terminal (syrupy snapshots, each read as an ops manager would)."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from policyd.cli.main import main
from policyd.storage import approvals, audit, schedule
from policyd.storage.db import connect, write_lock
from policyd.storage.store import Store

from .serve_support import INBOUND


def day(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def test_what_waits_for_approval_and_what_is_scheduled(tmp_path, snapshot):
    db = tmp_path / "p.db"
    store = Store(db)
    gated = INBOUND.replace("  review every 3 months\n", "  review every 3 months\n  approve versions by another\n")
    one = store.publish("inbound.policy", {"inbound.policy": gated}, "quarterly weights", "dana", now=day("2026-11-02T09:00:00"))[0]
    approvals.approve_version(store, one.number, "lee", now=day("2026-11-02T10:00:00"))
    store.activate(one.number, "dana", now=day("2026-11-02T11:00:00"))
    two = store.publish(
        "inbound.policy",
        {"inbound.policy": gated.replace("lottery 30%", "lottery 25%")},
        "less lottery",
        "dana",
        now=day("2026-11-20T16:30:00"),
    )[0]
    conn = connect(str(db))
    with write_lock(conn):
        log = audit.Appender(conn)
        request = {"lead_id": "L-118", "team": "inbound_b2b", "rep": "alice", "reason": "she closed their last deal"}
        approvals.request_override(
            conn, log, day("2026-11-24T14:05:00"), "ops", request, "`approve overrides of lottery`: the lottery drew it"
        )
        log.finish()
    three = store.publish("inbound.policy", {"inbound.policy": INBOUND}, "no four eyes", "kim", now=day("2026-11-25T08:00:00"))[0]
    approvals.approve_version(store, three.number, "lee", now=day("2026-11-25T09:00:00"))
    schedule.schedule(store, [three.number], day("2026-12-07T09:00:00"), "dana", now=day("2026-11-25T09:30:00"))
    env = {"POLICYD_DB": str(db)}
    waiting = CliRunner().invoke(main, ["approvals"], env=env)
    assert waiting.exit_code == 0
    assert f"@{two.number}" in waiting.stdout and "#" in waiting.stdout
    assert waiting.stdout == snapshot(name="approvals")
    planned = CliRunner().invoke(main, ["schedule"], env=env)
    assert planned.stdout == snapshot(name="schedule")


def test_the_review_due_warning(tmp_path, snapshot):
    db = tmp_path / "p.db"
    store = Store(db)
    v = store.publish("inbound.policy", {"inbound.policy": INBOUND}, "m", "dana")[0]
    store.activate(v.number, "dana", now=day("2026-08-03T09:00:00"))
    res = CliRunner().invoke(main, ["check", "@active", "--as-of", "2026-12-01"], env={"POLICYD_DB": str(db)})
    assert res.exit_code == 0
    assert "G001" in res.stderr
    assert res.stderr == snapshot
