"""Shared helpers for the daemon tests (no tests here): a real server on a free loopback port.

`ThreadServer` runs uvicorn in a thread of the test process, so a test can inject
the clock; `ProcessServer` runs `policyd serve` as a child process, so a test can
kill it with SIGKILL. Both bind port 0 and talk over 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from policyd.storage import tokens
from policyd.storage.db import connect
from policyd.storage.store import Store

ROOT = Path(__file__).parent.parent
INBOUND = (ROOT / "policies" / "inbound.policy").read_text(encoding="utf-8")


def publish(db: str | Path, text: str = INBOUND, activate: bool = True, message: str = "test") -> int:
    store = Store(str(db))
    v, _ = store.publish("inbound.policy", {"inbound.policy": text}, message, "tests")
    if activate:
        store.activate(v.number, "tests")
    return v.number


def make_token(db: str | Path, role: str, name: str | None = None) -> str:
    return tokens.create(connect(str(db)), name or f"{role}-client", role)


def lead(i: int | str, **over) -> dict:
    """A valid lead for inbound.policy; low tier by default (score 4)."""
    out = {
        "id": f"L-{i}",
        "company": f"Company {i}",
        "employees": 20,
        "budget": "unknown",
        "authority": "info_gathering",
        "industry": "other",
        "segment": "smb",
        "country": "US",
    }
    out.update(over)
    return out


HIGH = {
    "employees": 1500,
    "budget": "stated",
    "authority": "decision_maker",
    "timing_months": 2,
    "industry": "finance",
    "segment": "enterprise",
}


class Clock:
    """A clock tests move by hand."""

    def __init__(self, t: float = 1_795_000_000.0):
        self.t = t
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.t

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.t += seconds


class ThreadServer:
    """uvicorn in a thread, on a free loopback port, with an injectable clock, configured as `policyd serve` is (serve.config)."""

    def __init__(self, db: str | Path, clock=time.time, sla_interval: float = 0.05, limits=None, **kw):
        import uvicorn

        from policyd.web.app import create_app
        from policyd.web.serve import Limits, bind, config

        self.app = create_app(str(db), clock=clock, sla_interval=sla_interval, **kw)
        self.sock = bind("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(config(self.app, limits or Limits()))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    @property
    def runtime(self):
        return self.app.state.daemon.runtime

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=20)

    def settle(self) -> list:
        """Run one clock tick now and wait for it (instead of waiting for the SLA loop)."""
        return self.runtime.tick().result(timeout=20)


class ProcessServer:
    """`policyd serve` as a child process (so it can be killed with SIGKILL); `env` adds to the test's environment
    (POLICYD_NOW, POLICYD_CLOCK_SPEED and POLICYD_CLOCK_FROM run it on a moving clock: cli/clock.py)."""

    def __init__(self, db: str | Path, *args: str, env: dict[str, str] | None = None):
        env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "policyd", "serve", "--db", str(db), "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        deadline = time.monotonic() + 30
        while True:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("policyd serve exited: " + "".join(self.lines))
            self.lines.append(line)
            m = re.search(r"serving http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
            if time.monotonic() > deadline:
                raise RuntimeError("policyd serve did not start")
        self.url = f"http://127.0.0.1:{self.port}"
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _read_rest(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=20)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._drain.join(timeout=5)
        return "".join(self.lines)

    def __enter__(self) -> ProcessServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def db_rows(db: str | Path, sql: str, params=()) -> list[tuple]:
    """Rows of a query, on a SQLite file or a PostgreSQL URL (SQLite's SQL, as the daemon writes it)."""
    conn = connect(str(db)) if str(db).startswith("postgresql://") else sqlite3.connect(str(db))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def http_request(method: str, path: str, body: bytes = b"", token: str | None = None, extra: str = "") -> bytes:
    """One HTTP/1.1 request as bytes (keep-alive), for tests that write raw or pipelined requests."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    length = f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\n" if body or method in ("POST", "PUT") else ""
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{length}{extra}\r\n".encode("latin-1") + body


def read_responses(sock, n: int, timeout: float = 20) -> list[tuple[int, dict[str, str], bytes]]:
    """Up to `n` responses (status, headers, body) read from a raw socket; fewer when the server closes it."""
    sock.settimeout(timeout)
    buf, out = b"", []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return out
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        size = int(headers["content-length"])
        while len(buf) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        out.append((int(lines[0].split()[1]), headers, buf[:size]))
        buf = buf[size:]
    return out


def closed_by_server(sock, timeout: float = 20) -> bool:
    """True once the server has closed the socket (EOF or reset), reading and dropping anything before."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def readme_block(heading: str) -> str:
    """The first ```sh block of the README section under `heading` (a `## ` or `### ` line)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_readme_script(block: str, tmp_path: Path, timeout: float = 120) -> tuple[str, str]:
    """Run a README block as written in a scratch copy of policies/, stopping what it started in the background.

    Returns (stdout, stderr); asserts the script exited 0."""
    import shutil

    script = "set -e\n" + block + '\nkill "$(jobs -p)"\nwait || true\n'
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("POLICYD_DB", None)
    proc = subprocess.Popen(
        ["bash", "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    return out, err


def hold_meeting(db: str | Path, clock, out: Path) -> str:
    """Commit the daemon's week and the bundled meeting week (W48) before they begin, then hold the
    W48 lottery meeting with `policyd distribute`; the meeting record's id."""
    from click.testing import CliRunner

    from policyd.cli.main import main
    from policyd.lottery import seeds

    for p in {seeds.period_of(clock()), "2026-W48"}:  # the daemon's week, and the meeting's (its leads arrived in W48)
        seeds.commit(str(db), p, now=seeds.period_start(p) - 60)  # `seed commit` refuses a week begun
    week = str(ROOT / "policies/leads/week-2026-W48.csv")
    args = ["distribute", "policies/inbound.policy", "--leads", week, "--period", "2026-W48", "--out", str(out), "--db", str(db)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    return r.stdout.splitlines()[-1].removeprefix("record ")
