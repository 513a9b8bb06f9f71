"""Databases written by earlier releases open with today's code: every row kept, the daemon serves them.

The dumps under tests/data/daemon/ were made by the code of commits 7a82320 (the flat
layout, period seeds) and 0f06a3e (before decisions named their period seed), see
tests/data/daemon/make_old_databases.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from policyd.lottery import seeds
from policyd.storage import audit, db, tokens
from policyd.storage.store import Store

from .serve_support import Clock, ThreadServer, db_rows

DATA = Path(__file__).parent / "data" / "daemon"
TOKENS = {"read": "pd_fixture-read-token", "assign": "pd_fixture-assign-token", "admin": "pd_fixture-admin-token"}
T0 = 1_795_000_000.0


def restore(dump: str, path: Path) -> Path:
    conn = sqlite3.connect(str(path))
    conn.executescript((DATA / dump).read_text(encoding="utf-8"))
    conn.close()
    return path


def table_counts(path: Path) -> dict[str, int]:
    names = [r[0] for r in db_rows(path, "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")]
    return {n: db_rows(path, f'select count(*) from "{n}"')[0][0] for n in names}


@pytest.mark.parametrize("dump", ["layout-7a82320.sql", "layout-0f06a3e.sql"])
def test_an_old_database_migrates_and_keeps_every_row(tmp_path, dump):
    path = restore(dump, tmp_path / "old.db")
    before = table_counts(path)
    old_decisions = db_rows(
        path, "select lead_id, version, rep, holder, status, tier, by, lead, snapshot, seed from rt_decisions order by id"
    )
    old_audit = db_rows(path, "select seq, kind, actor, data, hash from audit order by seq")
    conn = db.connect(str(path))
    assert db.applied(conn) == db.migration_names()
    after = table_counts(path)
    assert {t: n for t, n in after.items() if t in before and t != "_sqlite_migrations"} == {
        t: n for t, n in before.items() if t != "_sqlite_migrations"
    }
    assert {"tokens", "audit", "rt_decisions", "lottery_seeds", "lottery_records"} <= set(after)
    assert db_rows(path, "select lead_id, version, rep, holder, status, tier, by, lead, snapshot, seed from rt_decisions order by id") == (
        old_decisions
    )
    assert db_rows(path, "select seq, kind, actor, data, hash from audit order by seq") == old_audit
    assert audit.verify(conn) == (len(old_audit), [])
    cache = tokens.TokenCache(conn)
    assert {r: cache.identify(t).role for r, t in TOKENS.items()} == {"read": "read", "assign": "assign", "admin": "admin"}
    store = Store(path)
    assert [v.number for v in store.versions()] == [2, 1] and store.active().number == 1
    assert [a.number for a in reversed(store.activation_log())] == [2, 1]
    # a second open finds nothing to do
    assert db.migrate(conn) == []
    conn.close()


def test_the_decided_queue_is_kept_apart_from_where_the_lead_is_now(tmp_path):
    """Escalated leads had their queue overwritten with `escalated`: the decision's queue comes back from its audit record."""
    path = restore("layout-7a82320.sql", tmp_path / "old.db")
    escalated_before = db_rows(path, "select lead_id from rt_decisions where status = 'escalated' order by id")
    assert escalated_before and db_rows(path, "select distinct queue from rt_decisions where status = 'escalated'") == [("escalated",)]
    db.connect(str(path)).close()
    rows = db_rows(path, "select lead_id, rep, queue, current_queue from rt_decisions where status = 'escalated' order by id")
    assert [r[0] for r in rows] == [r[0] for r in escalated_before]
    assert all(rep is not None and queue is None and current == "escalated" for _, rep, queue, current in rows)


@pytest.mark.parametrize("dump", ["layout-7a82320.sql", "layout-0f06a3e.sql"])
def test_the_daemon_serves_an_old_database(tmp_path, dump, caplog):
    path = restore(dump, tmp_path / "old.db")
    period = seeds.period_of(T0)
    clock = Clock(T0 + 2 * 86400)
    if dump == "layout-0f06a3e.sql":  # made before period seeds: commit one now, as an operator would
        seeds.commit(str(path), period, now=seeds.period_start(period) - 60)
    with ThreadServer(path, clock=clock, sla_interval=3600) as srv:
        with srv.client(TOKENS["read"]) as c:
            health = c.get("/v1/health").json()
            assert (health["status"], health["version"], health["lottery"]["seed"]) == ("ok", 1, "committed")
            old = c.get("/v1/decisions/L-4", params={"why_not": "quinn"}).json()
            assert old["decision"]["rep"] is None and old["decision"]["status"] == "escalated"
            assert [h["kind"] for h in old["history"]] == ["assign", "override", "sla_escalate"]
            assert old["explanation"]["now"]["moved"] is True
            reps = {r["rep"]: r for r in c.get("/v1/reps").json()["reps"]}
            assert reps["erin"]["away"] is True
            assert c.get("/v1/queues").json()["queues"]["escalated"]["count"] == 4
        with srv.client(TOKENS["assign"]) as c:
            r = c.post(
                "/v1/assign",
                json={
                    "id": "L-after",
                    "company": "After",
                    "employees": 20,
                    "budget": "unknown",
                    "authority": "info_gathering",
                    "industry": "other",
                    "segment": "smb",
                    "country": "US",
                },
            )
            assert r.status_code == 201 and r.json()["rep"] is not None
            assert r.json()["seed_id"] == period
    assert not [rec for rec in caplog.records if rec.levelname == "ERROR"]
    n, problems = audit.verify(db.connect(str(path)))
    assert problems == [] and n > 21


def test_a_database_of_m020_migrates_and_its_refused_requests_name_no_team(tmp_path):
    """A file made before m021 (its refused requests kept no team) gains the column; the rows kept say none, which
    means what they meant then: re-submitted through the front door."""
    path = tmp_path / "m020.db"
    db.connect(str(path)).close()
    conn = sqlite3.connect(str(path))  # the file as the chain up to m020 left it
    conn.execute("alter table intake_refused drop column team")
    conn.execute("delete from _sqlite_migrations where name = 'm021_refused_requests_keep_their_team'")
    conn.execute("drop table rt_team_lock")  # and the migrations after m021
    conn.execute("delete from _sqlite_migrations where name = 'm022_team_locks'")
    conn.execute(
        "insert into intake_refused (at, source, kind, reasons, body, headers) values (?, 'crm', 'mapping', '[]', '{}', '{}')", (T0,)
    )
    conn.commit()
    conn.close()
    assert "team" not in [r[1] for r in db_rows(path, "pragma table_info(intake_refused)")]
    conn = db.connect(str(path))
    assert db.applied(conn) == db.migration_names() and "m021_refused_requests_keep_their_team" in db.migration_names()
    assert db_rows(path, "select source, team from intake_refused") == [("crm", None)]
    assert db.migrate(conn) == []
    conn.close()
