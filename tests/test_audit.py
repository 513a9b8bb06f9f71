"""The hash-chained audit log: verify names edited, deleted and reordered records."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.storage import audit
from policyd.storage.db import connect


@pytest.fixture
def log_db(db_target):
    """Six records written through the Appender (one transaction each, as the daemon does).

    Of a kind that no table mirrors, so these tests see the chain alone (test_audit_tamper.py
    checks the decisions against real daemon records).
    """
    path = db_target
    conn = connect(str(path))
    for i in range(1, 7):
        audit.append_one(conn, 1000.0 + i, "note", "crm", {"lead_id": f"L-{i}", "rep": "alice" if i % 2 else "bob"})
    conn.close()
    return path


def _verify(path) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["audit", "verify", "--db", str(path)])
    return r.exit_code, r.output


def _sql(path, *statements):
    """Tamper with the log in one transaction, on either engine."""
    conn = connect(str(path))
    conn.execute("BEGIN IMMEDIATE")
    for s in statements:
        conn.execute(s)
    conn.execute("COMMIT")
    conn.close()


def test_intact_chain(log_db):
    code, out = _verify(log_db)
    assert code == 0
    assert out == f"{log_db}: 6 records, chain intact\n"
    rows = list(audit.records(connect(str(log_db))))
    assert rows[0]["prev"] == audit.GENESIS
    assert all(b["prev"] == a["hash"] for a, b in zip(rows, rows[1:]))


def test_edited_record_is_named(log_db):
    _sql(log_db, """update audit set data = '{"lead_id":"L-3","rep":"mallory"}' where seq = 3""")
    code, out = _verify(log_db)
    assert code == 1
    assert out == (
        f"{log_db}: record 3 was edited: its content does not match its hash\npolicyd: audit log is not intact: 1 problem in 6 records\n"
    )


def test_edited_time_or_actor_is_caught(log_db):
    _sql(log_db, "update audit set actor = 'someone-else' where seq = 5")
    assert "record 5 was edited" in _verify(log_db)[1]


def test_deleted_record_is_named(log_db):
    _sql(log_db, "delete from audit where seq = 4")
    code, out = _verify(log_db)
    assert code == 1
    assert f"{log_db}: record 4 deleted: record 5 does not chain to record 3\n" in out


def test_deleted_and_renumbered_is_still_caught(log_db):
    _sql(log_db, "delete from audit where seq = 2", "update audit set seq = seq - 1 where seq > 2")
    code, out = _verify(log_db)
    assert code == 1
    assert f"{log_db}: record 2 does not chain to record 1: a record before it was deleted or edited\n" in out


def test_deleted_last_record_is_caught_by_the_head(log_db):
    _sql(log_db, "delete from audit where seq = 6")
    code, out = _verify(log_db)
    assert code == 1
    assert f"{log_db}: record 6 deleted from the end: the head says the log ends at record 6\n" in out


def test_reordered_records_are_named(log_db):
    _sql(
        log_db,
        "update audit set seq = -1 where seq = 3",
        "update audit set seq = 3 where seq = 4",
        "update audit set seq = 4 where seq = -1",
    )
    code, out = _verify(log_db)
    assert code == 1
    assert f"{log_db}: record 3 is out of order: it was written after record 4, not after record 2\n" in out


def test_export_is_json_lines_in_order(log_db, tmp_path):
    r = CliRunner().invoke(main, ["audit", "export", "--db", str(log_db)])
    assert r.exit_code == 0
    lines = [json.loads(line) for line in r.output.splitlines()]
    assert [x["seq"] for x in lines] == [1, 2, 3, 4, 5, 6]
    assert lines[2]["data"] == {"lead_id": "L-3", "rep": "alice"}
    assert set(lines[0]) == {"seq", "at", "kind", "actor", "data", "prev", "hash"}
    out = tmp_path / "a.jsonl"
    r = CliRunner().invoke(main, ["audit", "export", "--db", str(log_db), "-o", str(out)])
    assert r.exit_code == 0 and out.read_text().splitlines() == [json.dumps(x, ensure_ascii=False, sort_keys=True) for x in lines]


def test_missing_database_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(main, ["audit", "verify", "--db", str(tmp_path / "nope.db")])
    assert r.exit_code == 1
    assert r.output == f"policyd: no database at {tmp_path / 'nope.db'}\n"


def test_hash_is_sha256_of_previous_hash_and_canonical_json():
    import hashlib

    h = audit.chain_hash(audit.GENESIS, 1.5, "k", "a", {"b": 1, "a": [1, "é"]})
    body = '{"actor":"a","at":1.5,"data":{"a":[1,"é"],"b":1},"kind":"k"}'
    assert h == hashlib.sha256((audit.GENESIS + body).encode()).hexdigest()


def test_verify_while_the_daemon_appends(tmp_path):
    """Records and head are read together: a busy daemon never looks like a deleted tail."""
    import threading

    from .serve_support import ThreadServer, lead, make_token, publish

    db = tmp_path / "busy.db"
    publish(db)
    tok = make_token(db, "assign")
    stop = threading.Event()
    with ThreadServer(db) as srv:

        def load():
            with srv.client(tok) as c:
                i = 0
                while not stop.is_set():
                    c.post("/v1/assign", json=lead(f"V-{i}"))
                    i += 1

        t = threading.Thread(target=load)
        t.start()
        try:
            conn = connect(str(db))
            seen = [0]
            import time

            deadline = time.monotonic() + 20
            while seen[-1] < 200 and time.monotonic() < deadline:
                n, problems = audit.verify(conn)
                assert problems == []
                seen.append(n)
        finally:
            stop.set()
            t.join()
    assert seen[-1] >= 200 and len(set(seen)) > 5  # verified many times while records were being appended
