"""The daemon as an ASGI app: the route table, the lifespan, the middleware.

JSON API under /v1 and the pages (the route table is web/routes.py; the OpenAPI
document is made from it), bearer-token auth with roles. Every change goes to the runtime's single writer.

Extension points (e.g. more pages, more dashboard sections):
`create_app(extra_routes=[...], dashboard_panels=[...])`, where a panel is a
callable `(runtime) -> {"title": str, "html": markupsafe.Markup}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from ..daemon import outbox as events
from ..daemon import sla
from ..daemon.intake import Sources
from . import governance, intake
from .auth import PAGE_HEADERS
from .errors import HANDLERS
from .routes import ENDPOINTS, ROUTES
from .state import Daemon

access_log = logging.getLogger("policyd.access")


def _with_security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Every answer says nosniff; every HTML answer (page, error page or `?format=html`) also gets the pages' CSP."""
    out = [*headers, (b"x-content-type-options", b"nosniff")]
    names = {k.lower() for k, _ in headers}
    if any(k.lower() == b"content-type" and v.lower().startswith(b"text/html") for k, v in headers):
        out += [(k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items() if k.lower().encode() not in names]
    return out


class Counting:
    """ASGI middleware: count responses by status, add the security headers and, when asked, log method, path
    (never the query), status, time."""

    def __init__(self, app, daemon_ref: Callable[[], Daemon], log_access: bool):
        self.app = app
        self.daemon_ref = daemon_ref
        self.log_access = log_access

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = [500]

        async def send_(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = _with_security_headers(list(message.get("headers", ())))
            await send(message)

        try:
            await self.app(scope, receive, send_)
        finally:
            d = self.daemon_ref()
            key = str(status[0])
            d.requests[key] = d.requests.get(key, 0) + 1
            if self.log_access:
                access_log.info("%s %s %s %.1fms", scope["method"], scope["path"], status[0], (time.perf_counter() - t0) * 1000)


def create_app(
    db: str,
    *,
    clock: Callable[[], float] = time.time,
    sla_interval: float = 1.0,
    extra_routes: Sequence[BaseRoute] = (),
    dashboard_panels: Sequence[Callable] = (),
    log_access: bool = False,
    on_ready: Callable[[], None] | None = None,
    seed_fn: Callable[[float], str] | None = None,
    sources: Sources | None = None,
    max_pending: int = 2000,
    outbox: events.OutboxConfig | None = None,
    policy: str | None = None,
) -> Starlette:
    """The daemon as an ASGI app over the SQLite file `db`.

    `seed_fn(now)` gives the lottery seed for a decision made at `now` (default: the
    period's committed seed); `extra_routes` and `dashboard_panels` let other
    features add pages without editing this module. `policy` names the policy to serve
    when the store holds several active ones (daemon/policy.py `Versions`).
    """
    daemon = Daemon(db, clock, sla_interval, dashboard_panels, seed_fn)
    daemon.runtime.versions.name = policy
    daemon.on_ready = on_ready
    daemon.sources = sources or Sources()
    daemon.max_pending = max_pending
    daemon.dashboard_panels.append(lambda runtime: intake.panel(daemon))
    daemon.dashboard_panels.append(lambda runtime: governance.panel(daemon))
    deliverer = None
    if outbox is not None:
        daemon.runtime.outbox = dataclasses.replace(outbox, owner_ids=daemon.sources.owner_ids)
        deliverer = events.Deliverer(db, daemon.runtime.outbox, daemon.runtime.submit, clock)
        daemon.runtime.on_commit = deliverer.wake.set
        daemon.deliverer = deliverer
        daemon.dashboard_panels.append(lambda runtime: intake.outbox_panel(daemon))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await asyncio.to_thread(lambda: None)  # the default executor exists before the writer starts
        daemon.open()
        if deliverer is not None:
            deliverer.start()
        task = asyncio.create_task(sla.run_loop(daemon.runtime.tick, sla_interval))
        if daemon.on_ready:
            daemon.on_ready()
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if deliverer is not None:
                await asyncio.to_thread(deliverer.stop)
            daemon.runtime.stop()

    app = Starlette(routes=[*ROUTES, *extra_routes], lifespan=lifespan, exception_handlers=dict(HANDLERS))
    app.state.daemon = daemon
    app.state.endpoints = ENDPOINTS
    app.add_middleware(Counting, daemon_ref=lambda: daemon, log_access=log_access)
    return app
