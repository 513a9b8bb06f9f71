"""Serving: the listening socket and uvicorn (the only module that imports it).

`policyd serve` calls `run`; tests run the same app in a thread of their own
(tests/serve_support.py) through `bind` and `app.create_app`.
"""

from __future__ import annotations

import logging
import socket
import sys

from .app import create_app


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so port 0 gives a free port we can print."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=TCP matters: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without
    # it a response written in two parts waits ~40 ms for the client's delayed ACK (Nagle)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run(db: str, host: str = "127.0.0.1", port: int = 8377, sla_interval: float = 1.0, log_access: bool = False) -> None:
    """Serve until interrupted; prints `policyd: serving http://HOST:PORT` to stderr once ready."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # the event loop and the writer thread share the GIL: hand it over sooner than the default 5 ms
    sys.setswitchinterval(0.001)
    sock = bind(host, port)
    actual = sock.getsockname()[1]

    def ready() -> None:
        pol = app.state.daemon.runtime.policy
        what = f"version {pol.version}" if pol else "no active version yet (run `policyd activate @N`)"
        print(f"policyd: serving http://{host}:{actual} ({what}, database {db})", file=sys.stderr, flush=True)

    app = create_app(db, sla_interval=sla_interval, log_access=log_access, on_ready=ready)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])
