"""Tokens: printed once, stored as sha256 only, roles ordered rep < read < assign < admin."""

from __future__ import annotations

import hashlib

from click.testing import CliRunner

from policyd.cli.main import main
from policyd.storage import tokens
from policyd.storage.db import connect


def test_create_prints_the_token_once_and_stores_only_its_hash(tmp_path):
    db = tmp_path / "t.db"
    r = CliRunner().invoke(main, ["token", "create", "--db", str(db), "--role", "assign", "--name", "crm"])
    assert r.exit_code == 0
    secret = r.stdout.strip()
    assert secret.startswith("pd_") and len(secret) > 40
    assert r.stderr == "token 'crm' (role assign) created; it is shown only this once\n"
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.encode() not in raw and secret[3:].encode() not in raw
    conn = connect(str(db))
    assert conn.execute("select name, role, hash from tokens").fetchall() == [
        ("crm", "assign", hashlib.sha256(secret.encode()).hexdigest())
    ]
    who = tokens.TokenCache(conn).identify(secret)
    assert who == tokens.Identity("crm", "assign")
    listing = CliRunner().invoke(main, ["token", "list", "--db", str(db)])
    assert listing.stdout.splitlines()[0].split() == ["id", "role", "name", "status", "created", "expires", "last", "used"]
    assert listing.stdout.splitlines()[1].split()[:4] == ["1", "assign", "crm", "active"]
    kinds = conn.execute("select kind, data from audit").fetchall()
    assert kinds == [("token_create", '{"name":"crm","role":"assign"}')]


def test_unknown_role_and_empty_name(tmp_path):
    db = tmp_path / "t.db"
    r = CliRunner().invoke(main, ["token", "create", "--db", str(db), "--role", "root", "--name", "x"])
    assert r.exit_code == 2 and "'root' is not one of 'rep', 'read', 'assign', 'admin'" in r.output
    r = CliRunner().invoke(main, ["token", "create", "--db", str(db), "--role", "read", "--name", "  "])
    assert (r.exit_code, r.output) == (1, "policyd: a token needs a name (who or what uses it)\n")


def test_roles_are_ordered():
    admin, assign, read = (tokens.Identity("n", r) for r in ("admin", "assign", "read"))
    assert admin.can("admin") and admin.can("assign") and admin.can("read")
    assert not assign.can("admin") and assign.can("assign") and assign.can("read")
    assert not read.can("assign") and read.can("read")


def test_unknown_and_empty_tokens_identify_nobody(db_target):
    conn = connect(db_target)
    cache = tokens.TokenCache(conn)
    assert cache.identify(None) is None
    assert cache.identify("") is None
    assert cache.identify("pd_nope") is None
    secret = tokens.create(conn, "later", "read")  # created while the cache exists: still found
    assert cache.identify(secret) == tokens.Identity("later", "read")


# ---------------------------------------------------------------- expiry, revocation, last use
import json  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402

from .serve_support import ProcessServer, db_rows, lead, publish  # noqa: E402

NOW = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", NOW + 5400),
        ("12h", NOW + 43200),
        ("30d", NOW + 30 * 86400),
        ("2w", NOW + 14 * 86400),
        ("1d12h", NOW + 36 * 3600),
        ("1.5h", NOW + 5400),
        ("2027-02-01", 1_801_440_000.0),
        ("2027-02-01T18:00", 1_801_504_800.0),
        ("2027-02-01T18:00:00Z", 1_801_504_800.0),
        ("2027-02-01T19:00:00+01:00", 1_801_504_800.0),
    ],
)
def test_expiry_is_a_duration_or_a_date(text, expected):
    assert tokens.parse_expiry(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2020-01-01", "--expires 2020-01-01: 2020-01-01 00:00:00 UTC is in the past (now is 2027-01-15 08:00:00 UTC)"),
        ("0d", "--expires 0d: a token must last more than no time at all"),
        ("soon", "--expires 'soon': expected a duration (90m, 12h, 30d, 2w) or a date or time (2026-12-31, 2026-12-31T18:00:00Z)"),
        ("3M", "--expires '3M': expected a duration (90m, 12h, 30d, 2w) or a date or time (2026-12-31, 2026-12-31T18:00:00Z)"),
    ],
)
def test_a_bad_expiry_is_refused_in_words(text, message):
    with pytest.raises(tokens.TokenError) as err:
        tokens.parse_expiry(text, NOW)
    assert str(err.value) == message


def _cli(*args):
    return CliRunner().invoke(main, list(args))


def test_create_with_expiry_list_and_revoke_by_name_or_id(db_target):
    db = db_target
    r = _cli("token", "create", "--db", db, "--role", "assign", "--name", "crm", "--expires", "30d")
    assert r.exit_code == 0 and ", expires 20" in r.stderr and r.stderr.endswith("created; it is shown only this once\n")
    crm = r.stdout.strip()
    ops = _cli("token", "create", "--db", db, "--role", "admin", "--name", "ops").stdout.strip()
    listed = json.loads(_cli("token", "list", "--db", db, "--format", "json").stdout)
    assert [(t["id"], t["name"], t["status"], t["revoked_at"], t["last_used_at"]) for t in listed] == [
        (1, "crm", "active", None, None),
        (2, "ops", "active", None, None),
    ]
    assert abs(listed[0]["expires_at"] - (time.time() + 30 * 86400)) < 60 and listed[1]["expires_at"] is None
    text = _cli("token", "list", "--db", db).stdout.splitlines()
    assert text[1].split()[:4] == ["1", "assign", "crm", "active"] and "never" not in text[1].split()[6:8]
    assert text[2].split()[-2:] == ["never", "never"]  # no expiry, never used

    r = _cli("token", "revoke", "--db", db, "crm", "--by", "dana")
    assert (r.exit_code, r.stderr) == (0, "token 1 'crm' (role assign) revoked; a running daemon refuses it from now on\n")
    r = _cli("token", "revoke", "--db", db, "2")
    assert r.exit_code == 0 and "token 2 'ops' (role admin) revoked" in r.stderr
    r = _cli("token", "revoke", "--db", db, "crm")
    assert r.exit_code == 0 and r.stderr.startswith("token 1 'crm' was already revoked at 20") and r.stderr.endswith("; nothing to do\n")
    listed = json.loads(_cli("token", "list", "--db", db, "--format", "json").stdout)
    assert [(t["status"], t["revoked_by"]) for t in listed] == [("revoked", "dana"), ("revoked", listed[1]["revoked_by"])]
    assert (
        "revoked 20" in _cli("token", "list", "--db", db).stdout.splitlines()[1] and " by dana " in _cli("token", "list", "--db", db).stdout
    )
    cache = tokens.TokenCache(connect(db))
    assert cache.identify(crm) is None and cache.identify(ops) is None
    assert cache.refusal(crm).startswith("token 'crm' was revoked at ")
    # both revocations are in the audit log, which still verifies
    kinds = db_rows(db, "select kind, actor, json_extract(data, '$.name') from audit order by seq")
    assert kinds[2:] == [("token_revoke", "dana", "crm"), ("token_revoke", kinds[3][1], "ops")]
    assert _cli("audit", "verify", "--db", db).exit_code == 0


def test_revoke_refuses_an_unknown_or_shared_name(tmp_path):
    db = str(tmp_path / "t.db")
    for _ in range(2):
        _cli("token", "create", "--db", db, "--role", "read", "--name", "wall")
    r = _cli("token", "revoke", "--db", db, "wall")
    assert (r.exit_code, r.stderr) == (
        1,
        "policyd: 2 tokens are named 'wall' (ids 1, 2): revoke one by its id, or every one of them with --all\n",
    )
    r = _cli("token", "revoke", "--db", db, "nobody")
    assert (r.exit_code, r.stderr) == (1, "policyd: no token named 'nobody'; `policyd token list` shows them\n")
    r = _cli("token", "revoke", "--db", db, "9")
    assert (r.exit_code, r.stderr) == (1, "policyd: no token with id 9; `policyd token list` shows them\n")
    r = _cli("token", "revoke", "--db", db, "wall", "--all")
    assert r.exit_code == 0 and r.stderr.count("revoked;") == 2
    r = _cli("token", "revoke", "--db", str(tmp_path / "none.db"), "wall")
    assert (r.exit_code, r.stderr) == (1, f"policyd: no database at {tmp_path / 'none.db'}\n")


def test_expired_and_revoked_tokens_identify_nobody_at_once(db_target):
    conn = connect(db_target)
    clock = [NOW]
    cache = tokens.TokenCache(conn, clock=lambda: clock[0])
    short = tokens.create(conn, "short", "read", now=NOW, expires_at=NOW + 60)
    assert cache.identify(short) == tokens.Identity("short", "read")
    clock[0] = NOW + 60
    assert cache.identify(short) is None
    assert cache.refusal(short) == "token 'short' expired at 2027-01-15 08:01:00 UTC"
    keep = tokens.create(conn, "keep", "read")
    assert cache.identify(keep) is not None  # known now...
    conn.execute("delete from tokens where name = 'keep'")
    assert cache.identify(keep) is None  # ...and a deleted row counts at the next look: nothing is cached
    assert cache.refusal("pd_nope") == "unknown token" and cache.refusal(None) == "missing bearer token"


def test_last_use_is_written_in_batches(db_target):
    db = db_target
    conn = connect(db)
    cache = tokens.TokenCache(conn)
    cache.FLUSH_EVERY = 3600  # only the first use is written at once; the rest wait for the next batch
    secret = tokens.create(conn, "crm", "assign")
    cache.identify(secret)
    deadline = time.monotonic() + 10
    while db_rows(db, "select last_used_at from tokens")[0][0] is None and time.monotonic() < deadline:
        time.sleep(0.01)
    first = db_rows(db, "select last_used_at from tokens")[0][0]
    assert first is not None and abs(first - time.time()) < 60
    time.sleep(0.01)
    cache.identify(secret)
    assert db_rows(db, "select last_used_at from tokens")[0][0] == first  # noted, not yet written
    assert cache.flush() == 1
    assert db_rows(db, "select last_used_at from tokens")[0][0] > first


def _status(c) -> int:
    return c.get("/v1/reps").status_code


def test_against_a_running_daemon_revoked_expired_and_deleted_tokens_get_401_on_the_next_request(tmp_path):
    db = tmp_path / "live.db"
    publish(db)
    crm = _cli("token", "create", "--db", str(db), "--role", "assign", "--name", "crm").stdout.strip()
    brief = _cli("token", "create", "--db", str(db), "--role", "read", "--name", "brief", "--expires", "3s").stdout.strip()
    gone = _cli("token", "create", "--db", str(db), "--role", "read", "--name", "gone").stdout.strip()
    made = time.time()
    with ProcessServer(db) as srv, srv.client(crm) as c, srv.client(brief) as b, srv.client(gone) as g:
        assert c.post("/v1/assign", json=lead(1)).status_code == 201
        assert _status(b) == 200 and _status(g) == 200
        # last use is recorded (the first use at once, then in batches)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            used = {t["name"]: t["last_used_at"] for t in json.loads(_cli("token", "list", "--db", str(db), "--format", "json").stdout)}
            if all(used.values()):
                break
            time.sleep(0.1)
        assert all(used.values()) and all(made - 5 < t < time.time() + 1 for t in used.values()), used
        # revoked in another process: the very next request is refused
        assert _cli("token", "revoke", "--db", str(db), "crm").exit_code == 0
        r = c.post("/v1/assign", json=lead(2))
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert _status(c) == 401
        # a row deleted by hand: the same
        connect(str(db)).execute("delete from tokens where name = 'gone'")
        assert _status(g) == 401
        # expired: refused from its expiry on, with no restart
        time.sleep(max(0.0, made + 3.2 - time.time()))
        assert _status(b) == 401
    assert db_rows(db, "select count(*) from rt_decisions") == [(1,)]
