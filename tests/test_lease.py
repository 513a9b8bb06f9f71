"""One daemon per database: a second `policyd serve` refuses and names the first; kill -9 never blocks a restart."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.daemon.runtime import Runtime
from policyd.storage import lease
from policyd.storage.db import connect

from .serve_support import INBOUND, ROOT, ProcessServer, db_rows, lead, make_token, publish


def serve_again(db, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """A second `policyd serve` on the same file, expected to stop by itself."""
    return subprocess.run(
        [sys.executable, "-m", "policyd", "serve", "--db", str(db), "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_a_second_daemon_on_the_same_file_refuses_and_names_the_first(tmp_path):
    db = tmp_path / "one.db"
    publish(db)
    tok = make_token(db, "assign")
    with ProcessServer(db) as first, first.client(tok) as c:
        assert c.post("/v1/assign", json=lead(1)).status_code == 201
        second = serve_again(db)
        assert second.returncode == 2
        err = second.stderr
        assert "Traceback" not in err
        assert err.startswith(f"policyd: {db} is already served by another daemon: pid {first.proc.pid} on host {socket.gethostname()}, ")
        assert f"at {first.url}, since " in err and " UTC" in err
        assert "overbook the reps: stop it first" in err and f"kill {first.proc.pid}" in err
        # the first one serves on, alone, and its lease row names it
        assert c.post("/v1/assign", json=lead(2)).status_code == 201
        assert db_rows(db, "select pid, address from daemon_lease") == [(first.proc.pid, first.url)]
        # the same port as the first: refused for the lease (before binding), not for the port
        again = serve_again(db, "--port", str(first.port))
        assert again.returncode == 2 and "already served by another daemon" in again.stderr
    assert db_rows(db, "select count(*) from daemon_lease") == [(0,)]  # a clean stop releases it
    assert os.path.exists(f"{db}-lock")  # the lock file stays (deleting it would let two daemons lock two files)


def test_kill_9_does_not_block_a_restart(tmp_path):
    db = tmp_path / "k.db"
    publish(db)
    tok = make_token(db, "assign")
    first = ProcessServer(db)
    try:
        with first.client(tok) as c:
            assert c.post("/v1/assign", json=lead(1)).status_code == 201
        dead = first.proc.pid
    finally:
        first.kill9()
    assert db_rows(db, "select pid from daemon_lease") == [(dead,)]  # the row outlives it; the OS lock does not
    t0 = time.monotonic()
    with ProcessServer(db) as again, again.client(tok) as c:
        assert time.monotonic() - t0 < 20
        assert any(f"took over the lease of a daemon that stopped without releasing it: pid {dead} " in line for line in again.lines)
        assert c.post("/v1/assign", json=lead(2)).status_code == 201
        assert c.get("/v1/decisions/L-1").status_code == 200
        assert db_rows(db, "select pid from daemon_lease") == [(again.proc.pid,)]
        assert serve_again(db).returncode == 2  # and the new one is protected as the first was


def test_cli_commands_keep_working_while_a_daemon_runs(tmp_path):
    db = tmp_path / "cli.db"
    publish(db)
    tok = make_token(db, "assign")
    run = CliRunner().invoke
    with ProcessServer(db) as srv, srv.client(tok) as c:
        assert c.post("/v1/assign", json=lead(1)).status_code == 201
        policy = tmp_path / "p2.policy"
        policy.write_text(INBOUND.replace("capacity default 25", "capacity default 24"), encoding="utf-8")
        for args in (
            ["publish", str(policy), "-m", "while serving"],
            ["versions"],
            ["activate", "@2"],
            ["token", "create", "--role", "read", "--name", "dash"],
            ["token", "list"],
            ["token", "revoke", "dash"],
            ["seed", "commit", "--period", "2031-W01"],
            ["audit", "verify"],
            ["audit", "checkpoint", "--key", str(tmp_path / "k.key"), "-o", str(tmp_path / "cp.json")],
            ["audit", "export"],
        ):
            r = run(main, [*args, "--db", str(db)])
            assert r.exit_code == 0, (args, r.output)
        deadline = time.monotonic() + 20
        while c.get("/v1/health").json()["version"] != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert c.post("/v1/assign", json=lead(2)).json()["version"] == 2


def test_a_second_runtime_in_the_same_process_is_refused_too(tmp_path):
    db = tmp_path / "rt.db"
    publish(db)
    a = Runtime(str(db))
    a.start()
    try:
        b = Runtime(str(db))
        with pytest.raises(lease.LeaseHeld) as err:
            b.start()
        assert f"pid {os.getpid()} on host" in err.value.message
        assert err.value.holder is not None and err.value.holder.pid == os.getpid()
    finally:
        a.stop()
    b = Runtime(str(db))
    b.start()  # once the first has stopped
    b.stop()


def _row(db, **over) -> None:
    values = {"nonce": "x", "pid": 999_999, "host": "other-host", "started_at": time.time() - 60, "address": "http://10.0.0.9:8377"}
    values["heartbeat_at"] = time.time()
    values.update(over)
    conn = connect(str(db))
    conn.execute(
        "insert or replace into daemon_lease (id, nonce, pid, host, started_at, address, heartbeat_at) values (1, ?, ?, ?, ?, ?, ?)",
        tuple(values.values()),
    )
    conn.close()


def test_a_live_lease_from_another_host_is_respected_a_stale_one_is_taken_over(tmp_path):
    """A file lock may not reach across hosts (a network disk): the heartbeat does."""
    db = tmp_path / "net.db"
    publish(db)
    _row(db)
    with pytest.raises(lease.LeaseHeld) as err:
        lease.acquire(db)
    msg = err.value.message
    assert "pid 999999 on host other-host, at http://10.0.0.9:8377" in msg and "last heartbeat 0 s ago" in msg
    assert f"its lease lapses {round(lease.STALE_AFTER)} s after its last heartbeat" in msg
    _row(db, heartbeat_at=time.time() - lease.STALE_AFTER - 1)
    held = lease.acquire(db, "http://127.0.0.1:1")
    try:
        assert held.took_over is not None and held.took_over.host == "other-host"
        assert db_rows(db, "select pid, host, address from daemon_lease") == [(os.getpid(), socket.gethostname(), "http://127.0.0.1:1")]
        assert json.loads(open(f"{db}-lock").read())["pid"] == os.getpid()  # the holder, also where no database is needed
        assert lease.holder(db).pid == os.getpid()
    finally:
        held.release()
    assert lease.holder(db) is None
    assert db_rows(db, "select count(*) from daemon_lease") == [(0,)]


def test_a_live_process_that_lost_its_lock_file_is_not_ignored(tmp_path):
    """Same host, lock free, but the row's process runs and beats: the lock file was deleted under it."""
    db = tmp_path / "rm.db"
    publish(db)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _row(db, pid=sleeper.pid, host=socket.gethostname())
        with pytest.raises(lease.LeaseHeld) as err:
            lease.acquire(db)
        assert f"pid {sleeper.pid}" in err.value.message and "was the lock file deleted or replaced?" in err.value.message
    finally:
        sleeper.kill()
        sleeper.wait()
    lease.acquire(db).release()  # its process is gone: taken over


def test_the_heartbeat_moves_and_reports_a_failed_write(tmp_path):
    db = tmp_path / "hb.db"
    publish(db)
    held = lease.acquire(db)
    try:
        before = db_rows(db, "select heartbeat_at from daemon_lease")[0][0]
        time.sleep(0.01)
        assert held.beat()
        assert db_rows(db, "select heartbeat_at from daemon_lease")[0][0] > before
        # another process took the row (say the lock file was replaced): the holder hears of it
        _row(db, nonce="someone-else", host=socket.gethostname())
        assert held.beat() and held.lost is not None and "another process took this database's lease row" in held.lost
    finally:
        held.release()
