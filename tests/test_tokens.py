"""Tokens: printed once, stored as sha256 only, roles ordered read < assign < admin."""

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
    assert listing.stdout == "1\tassign\tcrm\n"
    kinds = conn.execute("select kind, data from audit").fetchall()
    assert kinds == [("token_create", '{"name":"crm","role":"assign"}')]


def test_unknown_role_and_empty_name(tmp_path):
    db = tmp_path / "t.db"
    r = CliRunner().invoke(main, ["token", "create", "--db", str(db), "--role", "root", "--name", "x"])
    assert r.exit_code == 2 and "'root' is not one of 'read', 'assign', 'admin'" in r.output
    r = CliRunner().invoke(main, ["token", "create", "--db", str(db), "--role", "read", "--name", "  "])
    assert (r.exit_code, r.output) == (1, "policyd: a token needs a name (who or what uses it)\n")


def test_roles_are_ordered():
    admin, assign, read = (tokens.Identity("n", r) for r in ("admin", "assign", "read"))
    assert admin.can("admin") and admin.can("assign") and admin.can("read")
    assert not assign.can("admin") and assign.can("assign") and assign.can("read")
    assert not read.can("assign") and read.can("read")


def test_unknown_and_empty_tokens_identify_nobody(tmp_path):
    conn = connect(str(tmp_path / "t.db"))
    cache = tokens.TokenCache(conn)
    assert cache.identify(None) is None
    assert cache.identify("") is None
    assert cache.identify("pd_nope") is None
    secret = tokens.create(conn, "later", "read")  # created while the cache exists: still found
    assert cache.identify(secret) == tokens.Identity("later", "read")
