"""Broken storage, said in words: damaged, empty, read-only and full databases, through the CLI and a real server.

Tests run as root, where chmod does not stop a write, so a failing disk is made two
ways: errors injected at the storage layer (a connection whose writes raise what
SQLite raises on a failing or full disk), and, where this machine lets a test mount
one, a real small filesystem (tmpfs) that fills up or is remounted read-only.
"""

from __future__ import annotations

import gc
import os
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.daemon.runtime import Runtime
from policyd.storage import db as dbfile
from policyd.storage import lease, tokens
from policyd.storage.errors import StoreError
from policyd.storage.store import Store

from .serve_support import INBOUND, ProcessServer, ThreadServer, lead, make_token, publish

REAL_CONNECT = sqlite3.connect


def cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    assert "Traceback" not in r.output and r.exception is None or isinstance(r.exception, SystemExit), r.output
    return r.exit_code, r.output


@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    """A database the daemon wrote: 300 decisions, their audit records, a token."""
    db = tmp_path_factory.mktemp("decided") / "good.db"
    publish(db)
    make_token(db, "assign")
    rt = Runtime(str(db))
    rt.start()
    try:
        for f in [rt.assign(lead(i), "crm") for i in range(300)]:
            f.result()
    finally:
        rt.stop()
    conn = REAL_CONNECT(str(db))
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    return db


def copy(src, dst):
    shutil.copyfile(src, dst)
    return dst


COMMANDS = (
    ("audit", "verify"),
    ("audit", "export"),
    ("token", "create", "--role", "read", "--name", "x"),
    ("token", "list"),
    ("serve", "--port", "0"),
)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_truncated_database(decided, tmp_path, command):
    db = copy(decided, tmp_path / "cut.db")
    os.truncate(db, os.path.getsize(db) // 2)
    code, out = cli(*command, "--db", str(db))
    assert code == 2
    assert out.startswith(f"policyd: {db}: the database is damaged (")
    assert "restore it from a backup" in out and f"`sqlite3 {db} .recover`" in out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_garbage_bytes(decided, tmp_path, command):
    db = copy(decided, tmp_path / "garbled.db")
    with open(db, "r+b") as f:
        f.write(os.urandom(4096))  # the header and the first page
    code, out = cli(*command, "--db", str(db))
    assert (code, out) == (
        2,
        f"policyd: {db}: not a policyd store (file is not a database): the file holds something else, or its first page "
        "was overwritten; point --db at the policyd database, or restore this one from a backup\n",
    )


def test_garbage_inside_is_found_before_serving(decided, tmp_path):
    db = copy(decided, tmp_path / "inside.db")
    with open(db, "r+b") as f:
        f.seek(os.path.getsize(db) // 2)
        f.write(os.urandom(16 * 4096))
    code, out = cli("serve", "--port", "0", "--db", str(db))
    assert code == 2 and out.startswith(f"policyd: {db}: the database is damaged (")
    assert "restore it from a backup" in out


@pytest.mark.parametrize("command", [*COMMANDS, ("audit", "checkpoint", "--key", "k.key")], ids=lambda c: " ".join(c[:2]))
def test_a_zero_length_file_is_refused_never_made_a_new_database(tmp_path, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "empty.db"
    db.touch()
    code, out = cli(*command, "--db", str(db))
    assert (code, out) == (
        2,
        f"policyd: {db}: the file is empty (0 bytes), so it is not a policyd database, and policyd will not make it a new one: "
        "if it should hold your data it was truncated (a failed copy, a full disk), so restore it from a backup; "
        "to start a new database instead, delete the empty file (or point --db at a path that does not exist yet)\n",
    )
    assert db.stat().st_size == 0 and not (tmp_path / "empty.db-wal").exists()


def test_a_zero_length_file_through_the_store_and_a_missing_one(tmp_path):
    db = tmp_path / "empty.db"
    db.touch()
    with pytest.raises(dbfile.EmptyDatabase):
        Store(db)
    code, out = cli("publish", "policies/inbound.policy", "-m", "x", "--db", str(db))
    assert code == 1 and "the file is empty (0 bytes)" in out and db.stat().st_size == 0
    code, _ = cli("token", "create", "--role", "read", "--name", "x", "--db", str(tmp_path / "new.db"))
    assert code == 0  # a path with no file is a new database, as ever


def test_a_file_another_opener_is_creating_is_waited_for(tmp_path):
    """Two processes opening a new file at once: the second sees it empty for a moment, and waits."""
    db = tmp_path / "racing.db"
    db.touch()

    def create_late():
        time.sleep(0.2)
        conn = REAL_CONNECT(str(db))
        conn.execute("pragma journal_mode=wal")
        conn.close()

    t = threading.Thread(target=create_late)
    t.start()
    dbfile.connect(db).close()
    t.join()


# ---------------------------------------------------------------- injected I/O errors
class Faults:
    error: str | None = None
    path: str = ""


WRITES = ("insert", "update", "delete", "replace")


class FaultyConnection(sqlite3.Connection):
    """Writes raise what SQLite raises on a failing disk, while `Faults.error` is set."""

    def execute(self, sql, *args):
        if Faults.error and sql.lstrip()[:7].lower().startswith(WRITES):
            raise sqlite3.OperationalError(Faults.error)
        return super().execute(sql, *args)

    def executemany(self, sql, *args):
        if Faults.error and sql.lstrip()[:7].lower().startswith(WRITES):
            raise sqlite3.OperationalError(Faults.error)
        return super().executemany(sql, *args)


@pytest.fixture
def faulty(monkeypatch, tmp_path):
    """Connections to tmp_path's databases get FaultyConnection (the storage layer opens them all through sqlite3.connect)."""

    def connect(database, *args, **kwargs):
        if str(database).startswith(str(tmp_path)):
            kwargs["factory"] = FaultyConnection
        return REAL_CONNECT(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    Faults.error = None
    yield Faults
    Faults.error = None


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            "disk I/O error",
            "the disk failed reading or writing the database (disk I/O error): check the disk and its free space, then retry",
        ),
        ("database or disk is full", "the disk holding the database is full (database or disk is full): free space on it, then retry"),
    ],
)
def test_a_failing_disk_under_a_real_server(tmp_path, faulty, error, said):
    db = tmp_path / "f.db"
    publish(db)
    tok = make_token(db, "admin")
    with ThreadServer(db) as srv, srv.client(tok) as c, srv.client(None) as anyone:
        assert c.post("/v1/assign", json=lead(1)).status_code == 201
        assert anyone.get("/v1/health").json()["storage"] == {"status": "ok", "file": str(db)}
        faulty.error = error
        r = c.post("/v1/assign", json=lead(2))
        assert r.status_code == 503
        assert r.json() == {
            "error": "storage_unavailable",
            "message": f"{db}: {said}. Nothing was recorded for this request, so it may be sent again once the daemon's health is ok",
        }
        assert c.post("/v1/decisions/L-1/accept").status_code == 503
        assert c.get("/v1/decisions/L-1").status_code == 200  # reading still works
        h = anyone.get("/v1/health")
        assert h.status_code == 503
        body = h.json()
        assert body["status"] == "failing" and body["storage"]["status"] == "failing"
        assert body["storage"]["error"].startswith(f"{db}: {said}") and body["storage"]["failed_at"].endswith("Z")
        faulty.error = None
        r = c.post("/v1/assign", json=lead(2))
        assert (r.status_code, r.json()["replayed"]) == (201, False)  # nothing had been recorded: decided now, once
        h = anyone.get("/v1/health")
        assert (h.status_code, h.json()["status"], h.json()["storage"]["status"]) == (200, "degraded", "degraded")
        assert h.json()["storage"]["failures"] >= 2
    code, out = cli("audit", "verify", "--db", str(db))
    assert code == 0 and "the 2 decisions agree with it" in out


def health_once(anyone, want: int, deadline: float = 30.0) -> dict:
    """The health check's body once it answers `want`: the heartbeat thread gets to it in its own time, slower under load."""
    end = time.monotonic() + deadline
    while True:
        r = anyone.get("/v1/health")
        if r.status_code == want or time.monotonic() > end:
            assert r.status_code == want, r.json()
            return r.json()
        time.sleep(0.02)


def test_an_idle_daemon_notices_a_failing_disk_by_its_heartbeat(tmp_path, faulty, monkeypatch):
    """Only the daemon's heartbeat thread writes here: the SLA loop, whose batches report to the health as well, is
    put an hour off, and the test calls no beat of its own that one from the thread could overtake. The thread beats
    every 0.05 s instead of 5 s, and the test waits, with a deadline, for the health to show what it noticed."""
    monkeypatch.setattr(lease, "HEARTBEAT_EVERY", 0.05)
    db = tmp_path / "idle.db"
    publish(db)
    with ThreadServer(db, sla_interval=3600) as srv, srv.client(None) as anyone:
        assert anyone.get("/v1/health").json()["storage"]["status"] == "ok"
        faulty.error = "disk I/O error"
        body = health_once(anyone, 503)
        assert body["status"] == "failing" and body["storage"]["error"].startswith(f"{db}: the disk failed reading or writing")
        faulty.error = None
        body = health_once(anyone, 200)
        assert (body["status"], body["storage"]["status"]) == ("degraded", "degraded")
        assert body["storage"]["failures"] >= 1


def test_the_cli_on_a_database_it_cannot_write(tmp_path, faulty):
    db = tmp_path / "ro.db"
    publish(db)
    make_token(db, "read", "dash")
    faulty.error = "attempt to write a readonly database"
    for args in (("token", "create", "--role", "read", "--name", "x"), ("token", "revoke", "dash")):
        code, out = cli(*args, "--db", str(db))
        assert (code, out) == (
            2,
            f"policyd: {db}: the database cannot be written (attempt to write a readonly database): give this user write access "
            "to the file and its directory (SQLite also writes ro.db-wal and ro.db-shm beside it), or mount the disk read-write\n",
        )
    assert cli("token", "list", "--db", str(db))[0] == 0  # reading needs no write
    assert cli("audit", "verify", "--db", str(db))[0] == 0


def test_a_daemon_that_cannot_write_its_lease_does_not_start(tmp_path, faulty):
    db = tmp_path / "nolease.db"
    publish(db)
    faulty.error = "attempt to write a readonly database"
    code, out = cli("serve", "--port", "0", "--db", str(db))
    assert code == 2 and out.startswith(f"policyd: {db}: the database cannot be written (attempt to write a readonly database)")


def test_store_errors_wrap_sqlite_errors_in_words():
    assert isinstance(dbfile.EmptyDatabase("x"), StoreError)
    said = dbfile.explain("p.db", sqlite3.OperationalError("database is locked"))
    assert (
        said
        == "p.db: the database stayed locked by another process for 10 s (database is locked): retry; if it persists, find what holds it"
    )
    assert dbfile.explain("p.db", sqlite3.OperationalError("something new")) == "p.db: the database failed (something new)"


# ---------------------------------------------------------------- a real small disk
@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs, mounted for this test only (skipped where this machine does not allow it)."""
    where = tmp_path / "disk"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(where) -> None:
    with open(where / "filler", "wb", buffering=0) as f:  # unbuffered: nothing left to fail again on close
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def test_a_full_disk_under_policyd_serve(small_disk):
    db = small_disk / "p.db"
    publish(db)
    tok = make_token(db, "assign")
    with ProcessServer(db) as srv, srv.client(tok) as c, srv.client(None) as anyone:
        assert c.post("/v1/assign", json=lead(1)).status_code == 201
        fill(small_disk)
        answers = [c.post("/v1/assign", json=lead(i)) for i in range(2, 40)]  # the WAL's free pages go first
        full = [r for r in answers if r.status_code != 201]
        assert full and {r.status_code for r in full} == {503}
        assert full[0].json()["error"] == "storage_unavailable"
        assert full[0].json()["message"].startswith(f"{db}: the disk holding the database is full (database or disk is full)")
        h = anyone.get("/v1/health")
        assert (h.status_code, h.json()["status"]) == (503, "failing")
        os.remove(small_disk / "filler")
        r = c.post("/v1/assign", json=lead(99))
        assert r.status_code == 201
        h = anyone.get("/v1/health")
        assert (h.status_code, h.json()["status"]) == (200, "degraded")
    assert "Traceback" not in srv.stop()
    assert cli("audit", "verify", "--db", str(db))[0] == 0


def test_a_read_only_disk_through_the_cli(small_disk):
    db = small_disk / "p.db"
    store = Store(db)  # everything closed again, so the disk can be remounted read-only
    store.publish("inbound.policy", {"inbound.policy": INBOUND}, "test", "tests")
    store.close()
    conn = dbfile.connect(db)
    tokens.create(conn, "dash", "read")
    conn.close()
    gc.collect()
    done = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount the tmpfs read-only: {done.stderr.decode().strip()}")
    try:
        for args in (("token", "create", "--role", "read", "--name", "x"), ("serve", "--port", "0"), ("audit", "verify")):
            code, out = cli(*args, "--db", str(db))
            assert code == 2, out
            assert out.startswith(f"policyd: {db}: cannot open the policy store (unable to open database file): the file or its directory")
            assert "is read-only here" in out and "mount the disk read-write" in out
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], capture_output=True)
