"""Teams on a shared PostgreSQL database: one team's decisions queue for its row, another team's do not wait."""

from __future__ import annotations

import threading
import time
from collections import Counter

import psycopg
import pytest
from click.testing import CliRunner

from policyd.cli.main import main

from .serve_support import HIGH, Clock, ThreadServer, db_rows, lead, make_token
from .test_serve_teams import two_teams

WAIT = 30  # seconds a future may take before the test gives up (a failure, never a pass)


class Holder:
    """Another writer, by hand: a transaction holding one team's row until `release`."""

    def __init__(self, url: str, team: str):
        self.conn = psycopg.connect(url)
        self.conn.execute("insert into rt_team_lock (team, writes) values (%s, 0) on conflict (team) do nothing", (team,))
        self.conn.commit()
        self.conn.execute("select writes from rt_team_lock where team = %s for update", (team,))

    def release(self) -> None:
        self.conn.commit()
        self.conn.close()


@pytest.fixture
def teams(pg_url):
    two_teams(pg_url)
    return pg_url


def test_a_team_held_elsewhere_does_not_stop_another_teams_decisions_at_another_daemon(teams):
    """A daemon waits for the team another writer holds (its one writer thread with it); a second daemon deciding
    for another team does not wait: the database is not locked as a whole."""
    clock = Clock()
    with ThreadServer(teams, clock=clock, sla_interval=3600) as a, ThreadServer(teams, clock=clock, sla_interval=3600) as b:
        a.runtime.refresh().result(timeout=WAIT)
        b.runtime.refresh().result(timeout=WAIT)
        held = Holder(teams, "emea")
        try:
            blocked = a.runtime.assign(lead("E-1", **HIGH), "tests", team="emea")
            row, created = b.runtime.assign(lead("I-1", **HIGH), "tests", team="inbound_b2b").result(timeout=WAIT)
            assert created and row["team"] == "inbound_b2b" and row["rep"] is not None  # committed while emea is held
            assert not blocked.done()
        finally:
            held.release()
        row, created = blocked.result(timeout=WAIT)
        assert created and row["team"] == "emea" and row["rep"].startswith("eu_")
    r = CliRunner().invoke(main, ["audit", "verify", "--db", teams])
    assert r.exit_code == 0 and "chain intact" in r.output, r.output


def test_a_batch_that_would_wait_for_a_second_team_tries_that_operation_again_next(teams):
    """Only the first team of a batch waits, so no two daemons can wait for each other; the one that could not
    have its team goes first in the next batch, and every operation is answered once."""
    with ThreadServer(teams, clock=Clock(), sla_interval=3600) as srv:
        rt = srv.runtime
        rt.refresh().result(timeout=WAIT)
        gate = threading.Event()
        busy = rt.submit(lambda tx: gate.wait(WAIT))  # holds the writer, so the next two share one batch
        held = Holder(teams, "emea")
        try:
            first = rt.assign(lead("I-2", **HIGH), "tests", team="inbound_b2b")
            second = rt.assign(lead("E-2", **HIGH), "tests", team="emea")
            gate.set()
            busy.result(timeout=WAIT)
            assert first.result(timeout=WAIT)[1]
            assert rt.retries >= 1 and not second.done()  # put back, now waiting for emea as its batch's first team
        finally:
            held.release()
        assert second.result(timeout=WAIT)[0]["team"] == "emea"
    assign = Counter(k for (k,) in db_rows(teams, "select kind from audit where kind = 'assign'"))
    assert assign["assign"] == 2
    r = CliRunner().invoke(main, ["audit", "verify", "--db", teams])
    assert r.exit_code == 0 and "chain intact" in r.output, r.output


def test_a_daemon_reads_a_team_again_only_when_another_wrote_to_it(teams):
    clock = Clock()
    tok = make_token(teams, "assign")
    with (
        ThreadServer(teams, clock=clock, sla_interval=3600) as a,
        ThreadServer(teams, clock=clock, sla_interval=3600) as b,
        a.client(tok) as ca,
        b.client(tok) as cb,
    ):
        assert ca.post("/v1/teams/emea/assign", json=lead("E-3", **HIGH)).status_code == 201
        assert ca.post("/v1/teams/inbound_b2b/assign", json=lead("I-3", **HIGH)).status_code == 201
        before = dict(b.runtime.states)
        assert cb.post("/v1/teams/emea/assign", json=lead("E-4", **HIGH)).status_code == 201
        # b read emea again (a wrote to it) and saw a's lead before placing its own
        assert sum(b.runtime.states["emea"].open.values()) == 2
        assert b.runtime.states["inbound_b2b"] is before["inbound_b2b"]  # not touched, not read
        assert cb.post("/v1/teams/emea/assign", json=lead("E-5", **HIGH)).status_code == 201
        assert sum(b.runtime.states["emea"].open.values()) == 3
    writes = dict(db_rows(teams, "select team, writes from rt_team_lock"))
    assert writes == {"emea": 3, "inbound_b2b": 1}


def test_a_command_that_locks_the_whole_database_still_runs_alone(teams):
    """A command's `BEGIN IMMEDIATE` takes the database's write lock whole, and still runs alone: the daemons'
    batches, which hold it shared, wait for it."""
    from policyd.storage.engines.postgres import WRITE_LOCK

    with ThreadServer(teams, clock=Clock(), sla_interval=3600) as srv:
        rt = srv.runtime
        rt.refresh().result(timeout=WAIT)
        old = psycopg.connect(teams)
        try:
            old.execute(f"select pg_advisory_xact_lock({WRITE_LOCK})")
            waiting = rt.assign(lead("I-9", **HIGH), "tests", team="inbound_b2b")
            other = psycopg.connect(teams, autocommit=True)
            try:  # the batch asks for the lock shared, and is not granted it while the old writer holds it
                asked = "select count(*) from pg_locks where locktype = 'advisory' and mode = 'ShareLock' and not granted"
                deadline = time.monotonic() + WAIT
                while other.execute(asked).fetchone()[0] != 1 and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert other.execute(asked).fetchone()[0] == 1
                assert not waiting.done()
            finally:
                other.close()
        finally:
            old.commit()
            old.close()
        assert waiting.result(timeout=WAIT)[1]
