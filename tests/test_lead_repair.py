"""Leads decided before ids had a safe alphabet ("a/b", "") hold a rep's place no URL can free: the CLI frees them."""

from __future__ import annotations

import logging

from click.testing import CliRunner

from policyd.cli.main import main
from policyd.daemon.runtime import Runtime
from policyd.storage import audit
from policyd.storage.db import connect

from .serve_support import Clock, ThreadServer, db_rows, lead, publish


def _old_database(tmp_path):
    """A daemon database holding leads an earlier release let in (the runtime itself never refused them)."""
    db = tmp_path / "old.db"
    publish(db)
    r = Runtime(str(db), clock=Clock())
    r.start()
    try:
        for lid in ("a/b", "", "L-ok"):
            r.assign(lead(1, id=lid), "crm").result(timeout=10)
    finally:
        r.stop()
    return db


def test_unreachable_leads_are_named_on_start_listed_and_closed(tmp_path, caplog):
    db = _old_database(tmp_path)
    with caplog.at_level(logging.WARNING, logger="policyd.daemon.runtime"):
        r = Runtime(str(db), clock=Clock())
        r.start()
        r.stop()
    assert "2 open lead(s) have ids no URL can name ('a/b', '')" in caplog.text
    runner = CliRunner()
    listed = runner.invoke(main, ["lead", "list", "--unreachable", "--db", str(db)])
    assert listed.exit_code == 0 and [line.split("  ")[0] for line in listed.stdout.splitlines()] == ["'a/b'", "''"]
    assert listed.stderr == "2 open leads no URL can name\n"
    [(holder,)] = db_rows(db, "select holder from rt_decisions where lead_id = 'a/b'")
    closed = runner.invoke(main, ["lead", "close", "a/b", "--outcome", "lost", "--db", str(db)])
    assert closed.exit_code == 0, closed.output
    assert closed.stdout == f"closed 'a/b' (lost); {holder} has a place free again\n"
    assert db_rows(db, "select status from rt_decisions where lead_id = 'a/b'") == [("lost",)]
    last = list(audit.records(connect(str(db))))[-1]
    assert (last["kind"], last["data"]["lead_id"], last["actor"].startswith("cli:")) == ("close", "a/b", True)
    assert runner.invoke(main, ["lead", "close", "", "--outcome", "lost", "--db", str(db)]).exit_code == 0
    again = runner.invoke(main, ["lead", "list", "--unreachable", "--db", str(db)])
    assert again.stdout == "" and again.stderr == "0 open leads no URL can name\n"
    verify = runner.invoke(main, ["audit", "verify", "--db", str(db)])
    assert verify.exit_code == 0, verify.output


def test_closing_from_the_cli_is_refused_while_a_daemon_serves(tmp_path):
    db = _old_database(tmp_path)
    with ThreadServer(db, clock=Clock()):
        r = CliRunner().invoke(main, ["lead", "close", "a/b", "--outcome", "lost", "--db", str(db)])
    assert r.exit_code != 0
    assert "serves" in r.stderr or "daemon" in r.stderr
    assert db_rows(db, "select status from rt_decisions where lead_id = 'a/b'") == [("assigned",)]
    unknown = CliRunner().invoke(main, ["lead", "close", "nope", "--outcome", "won", "--db", str(db)])
    assert unknown.exit_code == 1 and unknown.stderr == "policyd: no decision for lead 'nope'\n"
