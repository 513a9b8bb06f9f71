"""Tampering with a daemon's database behind its audit log, each kind reported in words by `audit verify`.

The database is written by the daemon's own runtime (real records, real rows); then
someone with write access to the file edits it. The chain alone catches edits of a
record; the cross-check catches the tables moved behind the log; a checkpoint signed
with a key outside the database catches the rest (a cut tail with its head reset, a
re-chained log, a forged append dated into the past it covers).
"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.daemon.runtime import Runtime
from policyd.storage import audit

from .serve_support import lead, publish


@pytest.fixture
def served(tmp_path):
    """Six leads decided by the daemon's runtime (records 2-7, after its activation), one accepted (8), one closed (9),
    one overridden (10); a rep away and back at the end (11, 12)."""
    db = tmp_path / "d.db"
    publish(db)
    rt = Runtime(str(db))
    rt.start()
    try:
        rows = [rt.assign(lead(i), "crm").result()[0] for i in range(1, 7)]
        rt.accept("L-1", "crm").result()
        rt.close_lead("L-2", "won", "crm").result()
        names = rt.compiled_for(1).rep_names
        other = next(n for n in names if n not in {r["holder"] for r in rows})
        rt.override("L-3", other, "knows the account", "ops").result()
        rt.set_away(other, time.time() + 3600, "training", "ops").result()
        rt.set_away(other, None, "", "ops").result()
    finally:
        rt.stop()
    return {"db": db, "holders": {r["lead_id"]: r["holder"] for r in rows}, "other": other, "key": tmp_path / "audit.key", "dir": tmp_path}


def verify(db, *args) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["audit", "verify", "--db", str(db), *map(str, args)])
    assert "Traceback" not in r.output
    return r.exit_code, r.output


def checkpoint(s) -> str:
    out = s["dir"] / f"cp-{time.monotonic_ns()}.json"
    r = CliRunner().invoke(main, ["audit", "checkpoint", "--db", str(s["db"]), "--key", str(s["key"]), "-o", str(out)])
    assert r.exit_code == 0, r.output
    return str(out)


def sql(db, *statements, params=()) -> None:
    conn = sqlite3.connect(str(db), isolation_level=None)
    for st in statements:
        conn.execute(st, params)
    conn.close()


def rechain(db) -> None:
    """What someone with write access does to make the chain verify again: every hash recomputed, the head reset."""
    conn = sqlite3.connect(str(db), isolation_level=None)
    prev = audit.GENESIS
    for seq, at, kind, actor, data in conn.execute("select seq, at, kind, actor, data from audit order by seq").fetchall():
        h = audit.chain_hash(prev, at, kind, actor, json.loads(data))
        conn.execute("update audit set prev = ?, hash = ? where seq = ?", (prev, h, seq))
        prev = h
    conn.execute("insert or replace into audit_head (id, seq, hash) values (1, (select max(seq) from audit), ?)", (prev,))
    conn.close()


def last_seq(db) -> int:
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute("select max(seq) from audit").fetchone()[0]
    finally:
        conn.close()


def test_an_untouched_log_verifies_with_its_decisions_and_checkpoint(served):
    db = served["db"]
    code, out = verify(db)
    n = last_seq(db)
    assert (code, out) == (0, f"{db}: {n} records, chain intact; the 6 decisions agree with it\n")
    cp = checkpoint(served)
    code, out = verify(db, "--checkpoint", cp, "--key", served["key"])
    assert code == 0 and f"; it extends checkpoint {cp} (record {n}, made 20" in out


def test_every_record_and_the_head_deleted(served):
    sql(served["db"], "delete from audit", "delete from audit_head")
    code, out = verify(served["db"])
    assert code == 1 and "chain intact" not in out
    assert f"{served['db']}: the audit log is empty, but the decisions table holds 6 decisions: its records were deleted\n" in out


def test_the_audit_tables_dropped(served):
    sql(served["db"], "drop table audit", "drop table audit_head")
    code, out = verify(served["db"])
    assert code == 1
    assert "the audit log table is missing (dropped?), but the decisions table holds 6 decisions: no record can be checked\n" in out
    assert "the audit head table is missing (dropped?): a cut at the end of the log cannot be seen without it\n" in out


def test_only_the_head_deleted(served):
    sql(served["db"], "delete from audit_head")
    code, out = verify(served["db"])
    assert code == 1 and f"the audit head is missing although the log holds {last_seq(served['db'])} records: it was deleted" in out


def test_a_decisions_holder_edited(served):
    was = served["holders"]["L-4"]
    sql(served["db"], "update rt_decisions set holder = 'mallory' where lead_id = 'L-4'")
    code, out = verify(served["db"])
    assert code == 1
    assert (
        f"lead L-4: the decisions table says holder mallory, but the audit log (record 5) says holder {was}: the row was edited behind the log\n"
        in out
    )


def test_a_closed_lead_reopened_and_a_decision_rewritten(served):
    sql(
        served["db"],
        "update rt_decisions set status = 'assigned' where lead_id = 'L-2'",
        "update rt_decisions set rep = 'mallory', holder = 'mallory' where lead_id = 'L-5'",
    )
    code, out = verify(served["db"])
    assert code == 1
    assert "lead L-2: the decisions table says status assigned, but the audit log (records 3, 9) says status won" in out
    assert "lead L-5: the decisions table says rep mallory, holder mallory, but the audit log (record 6) says rep " in out
    assert ": the decision as made was edited\n" in out


def test_a_decision_row_deleted_or_added_behind_the_log(served):
    db = served["db"]
    sql(db, "delete from rt_decisions where lead_id = 'L-6'")
    sql(
        db,
        "insert into rt_decisions (lead_id, version, at, seed, lottery, lead, snapshot, rep, by, holder, status, tried, updated_at)"
        " select 'L-99', version, at, seed, lottery, lead, snapshot, rep, by, holder, status, tried, updated_at from rt_decisions"
        " where lead_id = 'L-5'",
    )
    code, out = verify(db)
    assert code == 1
    assert "lead L-6 was assigned in record 7, but its decision row is missing (deleted?)\n" in out
    assert "lead L-99 has a decision (held by " in out and "but no assign record in the audit log" in out


def test_the_away_table_edited(served):
    sql(served["db"], "insert into rt_away (rep, until, reason, at) values ('erin', 1e10, 'x', 0)")
    code, out = verify(served["db"])
    assert code == 1 and "rep erin: the away table says away until 10000000000.0, but the audit log says not away" in out


def test_the_tail_cut_and_the_head_reset_is_caught_by_a_checkpoint(served):
    db = served["db"]
    cp = checkpoint(served)
    n = last_seq(db)
    # the last two records (a rep away, then back) leave no trace in the tables: a cut that the tables cannot show
    sql(db, f"delete from audit where seq > {n - 2}")
    sql(db, f"update audit_head set seq = {n - 2}, hash = (select hash from audit where seq = {n - 2})")
    assert verify(db)[0] == 0  # the documented limit of a log that anchors itself
    code, out = verify(db, "--checkpoint", cp, "--key", served["key"])
    assert code == 1
    assert f"the log was cut: checkpoint {cp} (made 20" in out and f") anchors record {n}, but the log now ends at record {n - 2}\n" in out


def test_a_re_chained_edit_is_caught_by_a_checkpoint(served):
    db = served["db"]
    cp = checkpoint(served)
    sql(db, """update audit set data = json_set(data, '$.reason', 'the customer asked') where kind = 'override'""")
    rechain(db)
    assert verify(db)[0] == 0  # every hash recomputed: the chain alone cannot tell
    code, out = verify(db, "--checkpoint", cp, "--key", served["key"])
    assert code == 1
    n = last_seq(db)
    assert f"the log was rewritten before checkpoint {cp} (made 20" in out
    assert f"record {n}'s hash is now " in out and f"records up to {n} were edited, deleted, inserted or re-chained\n" in out


def _forge_override(db, lead_id: str, to: str, at: float, row_too: bool) -> None:
    conn = sqlite3.connect(str(db), isolation_level=None)
    seq, prev = conn.execute("select seq, hash from audit order by seq desc limit 1").fetchone()
    data = {"lead_id": lead_id, "from": None, "to": to, "reason": "forged"}
    h = audit.chain_hash(prev, at, "override", "ops", data)
    conn.execute(
        "insert into audit (seq, at, kind, actor, data, prev, hash) values (?, ?, 'override', 'ops', ?, ?, ?)",
        (seq + 1, at, audit.canonical(data), prev, h),
    )
    conn.execute("update audit_head set seq = ?, hash = ?", (seq + 1, h))
    if row_too:
        conn.execute("update rt_decisions set holder = ?, status = 'assigned', current_queue = null where lead_id = ?", (to, lead_id))
    conn.close()


def test_a_forged_append_is_caught_by_the_tables_or_by_its_date(served):
    db = served["db"]
    cp = checkpoint(served)
    made = json.loads(open(cp).read())["made_at"]
    _forge_override(db, "L-6", "mallory", made - 3600, row_too=False)
    code, out = verify(db)
    assert code == 1 and "lead L-6: the decisions table says holder " in out and "says holder mallory" in out
    # forged with the row to match: the chain and the tables agree, the checkpoint's time does not
    sql(db, "update rt_decisions set holder = 'mallory' where lead_id = 'L-6'")
    assert verify(db)[0] == 0
    code, out = verify(db, "--checkpoint", cp, "--key", served["key"])
    n = last_seq(db)
    assert code == 1
    assert f"record {n} comes after record {n - 1}, which checkpoint {cp} (made 20" in out
    assert "before that checkpoint was made: it was appended later and back-dated\n" in out


def test_a_checkpoint_from_another_key_or_edited_proves_nothing(served, tmp_path):
    db = served["db"]
    cp = checkpoint(served)
    other = tmp_path / "other.key"
    other.write_text("f" * 64 + "\n")
    code, out = verify(db, "--checkpoint", cp, "--key", other)
    assert code == 1 and f"checkpoint {cp} was not signed with this key, or it was edited since: it proves nothing about the log\n" in out
    data = json.loads(open(cp).read())
    data["seq"] -= 2  # move the anchor back, to hide a cut
    open(cp, "w").write(json.dumps(data))
    code, out = verify(db, "--checkpoint", cp, "--key", served["key"])
    assert code == 1 and "was not signed with this key, or it was edited since" in out


def test_checkpoint_needs_a_key_and_an_intact_log(served, tmp_path):
    db = served["db"]
    r = CliRunner().invoke(main, ["audit", "checkpoint", "--db", str(db)], env={"POLICYD_AUDIT_KEY": ""})
    assert r.exit_code == 1 and "a checkpoint needs its key file: --key FILE (or $POLICYD_AUDIT_KEY)" in r.output
    r = CliRunner().invoke(
        main, ["audit", "verify", "--db", str(db), "--checkpoint", str(tmp_path / "none.json"), "--key", str(tmp_path / "k")]
    )
    assert r.exit_code == 1 and "cannot read the checkpoint key" in r.output
    (tmp_path / "k").write_text("a" * 64)
    (tmp_path / "x.json").write_text('{"hello": 1}')
    r = CliRunner().invoke(
        main, ["audit", "verify", "--db", str(db), "--checkpoint", str(tmp_path / "x.json"), "--key", str(tmp_path / "k")]
    )
    assert r.exit_code == 1 and "not a policyd audit checkpoint" in r.output
    key = tmp_path / "new.key"
    r = CliRunner().invoke(main, ["audit", "checkpoint", "--db", str(db), "--key", str(key)])
    assert r.exit_code == 0 and json.loads(r.stdout)["kind"] == "policyd-audit-checkpoint"
    assert f"created a new checkpoint key in {key}" in r.stderr and oct(key.stat().st_mode & 0o777) == "0o600"
    sql(db, "update rt_decisions set holder = 'mallory' where lead_id = 'L-4'")
    r = CliRunner().invoke(main, ["audit", "checkpoint", "--db", str(db), "--key", str(key)])
    assert r.exit_code == 1 and "no checkpoint made: the audit log is not intact (1 problems in" in r.output
