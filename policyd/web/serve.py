"""Serving: the listening socket, uvicorn (the only module that imports it) and the connection guard.

`policyd serve` calls `run`; tests run the same app in a thread of their own
(tests/serve_support.py) through `bind`, `app.create_app` and `config`.

uvicorn times out idle keep-alive connections but not a request that arrives
slowly, and its `limit_concurrency` answers 503 to every new request once the
connections are full, health checks included. So the HTTP protocol is
uvicorn's httptools one with a guard (`Guarded`, one timer per connection):

- the request line and headers must arrive within `header_timeout` seconds of
  the connection (or of the request's first byte on a kept-alive one) and be
  at most MAX_HEADER_BYTES; else 408 (or 431) and the connection is closed;
- the body must arrive within `body_timeout` of the headers; else 408 (when no
  answer has started) and close, and the endpoint sees a disconnect;
- beyond `max_connections`, a new connection first evicts the connection that
  has waited longest without a request being served (idle, or still sending
  headers); when every connection is busy in the app it gets 503 at once. So
  slow or idle clients can never hold the port against a health check.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ..storage.engines import redact
from .app import create_app

log = logging.getLogger(__name__)
MAX_HEADER_BYTES = 64 * 1024
FD_RESERVE = 64  # descriptors kept for the database, logs and the listening socket


@dataclass(frozen=True)
class Limits:
    """How long a request may take to arrive, and how many connections are held at once."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive: float = 5.0
    max_connections: int = 1000


def fd_capped(limits: Limits) -> Limits:
    """`limits` with max_connections under the process's file descriptor limit (each connection holds one)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return limits
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = soft - FD_RESERVE if soft != resource.RLIM_INFINITY else limits.max_connections
    if limits.max_connections <= room:
        return limits
    log.warning("max connections lowered from %d to %d: the file descriptor limit is %d", limits.max_connections, max(room, 1), soft)
    return Limits(limits.header_timeout, limits.body_timeout, limits.keep_alive, max(room, 1))


def _answer(status: int, message: str) -> bytes:
    body = message.encode("ascii")
    head = b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body)
    return STATUS_LINE[status] + head + body


class Guarded(HttpToolsProtocol):
    """uvicorn's httptools protocol with read timeouts, a header size limit and a connection limit (module doc)."""

    limits = Limits()

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.refused = False
        self.reading_headers = True  # from the connection (or a request's first byte) to the end of its headers
        self.since = self.loop.time()  # since when it has waited without a request in the app
        self.header_bytes = 0
        self.timer: asyncio.TimerHandle | None = None
        if len(self.connections) > self.limits.max_connections and not self._evict_one():
            self._refuse()
            return
        self._arm(self.limits.header_timeout, self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # ------------------------------------------------------------ the connection limit
    def _rank(self) -> tuple[int, float] | None:
        """How readily this connection is evicted (lower first); None while a request of it is in the app."""
        if self.refused:
            return (0, self.since)
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return (2 if self.reading_headers else 1, self.since)  # idle first, then slow headers
        if cycle.more_body and not cycle.response_started:
            return (3, self.since)  # a body still arriving: nothing was decided yet
        return None

    def _evict_one(self) -> bool:
        """Close the connection that waited longest with no request in the app; False when every other one is busy."""
        ranked = [(r, id(c), c) for c in self.connections if c is not self and (r := getattr(c, "_rank", lambda: None)()) is not None]
        if not ranked:
            return False
        _, _, oldest = min(ranked)
        if oldest.cycle is not None and not oldest.cycle.response_complete:
            oldest.cycle.disconnected = True
            oldest.cycle.message_event.set()
        oldest.transport.close()
        self.connections.discard(oldest)  # gone now, though its connection_lost comes on a later loop turn
        return True

    def _refuse(self) -> None:
        """503 at once; what the client sends meanwhile is read and dropped, so the answer is not lost to a reset."""
        self.refused = True
        self.logger.warning("connection limit (%d) reached with every connection busy: 503", self.limits.max_connections)
        self.transport.write(_answer(503, "Service Unavailable: too many connections"))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._arm(1.0, self.transport.close)

    # ------------------------------------------------------------ timers
    def _arm(self, seconds: float, fn) -> None:
        self._disarm()
        self.timer = self.loop.call_later(seconds, fn)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _header_timeout(self) -> None:
        self.timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a pipelined request is late: close after the answer in progress
            self.flow.pause_reading()
            return
        self.transport.write(_answer(408, f"Request Timeout: the headers did not arrive within {self.limits.header_timeout:g} s"))
        self.transport.close()

    def _body_timeout(self) -> None:
        self.timer = None
        cycle = self.cycle
        if self.transport.is_closing() or cycle is None or not cycle.more_body:
            return
        if self.pipeline or self.flow.read_paused:  # not read because of us (queued, or the app reads slowly)
            self._arm(self.limits.body_timeout, self._body_timeout)
            return
        if not cycle.response_started:
            self.transport.write(_answer(408, f"Request Timeout: the body did not arrive within {self.limits.body_timeout:g} s"))
        cycle.disconnected = True  # the endpoint reading the body sees a disconnect; its answer is dropped
        cycle.message_event.set()
        self.transport.close()

    # ------------------------------------------------------------ parser callbacks
    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        super().data_received(data)
        if self.reading_headers and not self.transport.is_closing():
            self.header_bytes += len(data)  # a chunk that ends the headers is not counted: it may hold the body
            if self.header_bytes > MAX_HEADER_BYTES:
                self._disarm()
                self.transport.write(_answer(431, f"Request Header Fields Too Large: the limit is {MAX_HEADER_BYTES} bytes"))
                self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self.reading_headers:
            self.reading_headers, self.header_bytes = True, 0
            self._arm(self.limits.header_timeout, self._header_timeout)

    def on_headers_complete(self) -> None:
        self.reading_headers = False
        super().on_headers_complete()
        self._arm(self.limits.body_timeout, self._body_timeout)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.since = self.loop.time()


def guarded(limits: Limits) -> type[Guarded]:
    """The protocol class for one server with these limits."""
    return type("Guarded", (Guarded,), {"limits": limits})


def config(app: Any, limits: Limits = Limits(), **kw: Any) -> uvicorn.Config:
    """uvicorn's configuration for `app`, guarded by `limits` (the one place both `run` and the tests build it)."""
    return uvicorn.Config(
        app,
        http=guarded(limits),
        ws="none",
        timeout_keep_alive=limits.keep_alive,  # type: ignore[arg-type]
        log_level="warning",
        access_log=False,
        lifespan="on",
        **kw,
    )


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so port 0 gives a free port we can print."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=TCP matters: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without
    # it a response written in two parts waits ~40 ms for the client's delayed ACK (Nagle)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    # listen now, not when uvicorn starts serving after the lifespan: "serving" is printed during
    # the lifespan, and a client that connects on that line must queue, not be refused
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(
    db: str,
    host: str = "127.0.0.1",
    port: int = 8377,
    sla_interval: float = 1.0,
    log_access: bool = False,
    limits: Limits = Limits(),
    **app_options: Any,
) -> None:
    """Serve until interrupted; prints `policyd: serving http://HOST:PORT` to stderr once ready."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # the event loop and the writer thread share the GIL: hand it over sooner than the default 5 ms
    sys.setswitchinterval(0.001)
    limits = fd_capped(limits)
    sock = bind(host, port)
    actual = sock.getsockname()[1]

    def ready() -> None:
        pol = app.state.daemon.runtime.policy
        what = f"version {pol.version}" if pol else "no active version yet (run `policyd activate @N`)"
        print(f"policyd: serving http://{host}:{actual} ({what}, database {redact(db)})", file=sys.stderr, flush=True)

    app = create_app(db, sla_interval=sla_interval, log_access=log_access, on_ready=ready, **app_options)
    uvicorn.Server(config(app, limits, timeout_graceful_shutdown=5)).run(sockets=[sock])
