"""The daemon as an ASGI app: the route table, the lifespan, the middleware.

JSON API under /v1 (described at /v1/openapi.json, made from ENDPOINTS), three
HTML pages (the team dashboard, a decision's explanation, a lottery record),
bearer-token auth with roles. Every change goes to the runtime's single writer.

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
from . import api, audit_page, intake, log, openapi, pages, rep, week
from .auth import PAGE_HEADERS
from .decisions import FORMATS
from .endpoint import Endpoint, path, query
from .errors import HANDLERS
from .state import Daemon

access_log = logging.getLogger("policyd.access")

LEAD = path("lead_id", "the lead's id, percent-encoded", openapi.LEAD_ID_PATTERN)
REROUTE = query("reroute", "true: a lead id decided before with other values is decided again (audited); else 409", ("true", "false"))
ENDPOINTS: list[Endpoint] = [
    Endpoint("GET", "/v1/health", api.health, "getHealth", "Health (no token needed)", None, {200: "Health", 503: "Health"}),
    Endpoint("GET", "/v1/openapi.json", api.openapi_doc, "getOpenapi", "This document", "read", {200: "OpenAPI"}),
    Endpoint(
        "GET",
        "/v1/openapi-3.0.json",
        api.openapi30_doc,
        "getOpenapi30",
        "This API as OpenAPI 3.0, for Salesforce External Services (one operation per intake source)",
        "read",
        {200: "OpenAPI"},
    ),
    Endpoint(
        "POST",
        "/v1/assign",
        api.assign,
        "assignLead",
        "Decide who gets a lead (idempotent by lead id: a repeat answers 200 with the stored decision; a different lead, 409)",
        "assign",
        {201: "Decision", 200: "Decision"},
        (409, 422, 429, 503),
        body="Lead",
        params=(REROUTE,),
    ),
    Endpoint(
        "GET",
        "/v1/decisions/{lead_id}",
        api.get_decision,
        "getDecision",
        "A decision: where the lead is now, its moves, and why it was decided so",
        "read",
        {200: "Explained"},
        (400, 404),
        params=(
            LEAD,
            query("format", "json (default), text, md or html", tuple(FORMATS)),
            query("why_not", "also say why this rep does not hold the lead"),
        ),
        also=tuple(media.split(";")[0] for name, media in FORMATS.items() if name != "json"),
    ),
    Endpoint(
        "POST",
        "/v1/decisions/{lead_id}/accept",
        api.accept,
        "acceptLead",
        "The rep accepted the lead (stops the SLA timer)",
        "assign",
        {200: "Decision"},
        (404, 409, 422),
        body="Accept",
        body_required=False,
        params=(LEAD,),
    ),
    Endpoint(
        "POST",
        "/v1/decisions/{lead_id}/close",
        api.close_lead,
        "closeLead",
        "Close a lead as won or lost (frees capacity)",
        "assign",
        {200: "Decision"},
        (404, 409, 422),
        body="Close",
        params=(LEAD,),
    ),
    Endpoint(
        "POST",
        "/v1/decisions/{lead_id}/override",
        api.override,
        "overrideLead",
        "Move a lead to another rep, with a reason",
        "admin",
        {200: "Decision"},
        (404, 409, 422, 503),
        body="Override",
        params=(LEAD,),
    ),
    Endpoint("GET", "/v1/reps", api.list_reps, "listReps", "Reps with their load and availability", "read", {200: "Reps"}),
    Endpoint(
        "GET",
        "/v1/queues",
        api.list_queues,
        "listQueues",
        "Leads waiting without a rep (queued by the rules or escalated by the SLA), oldest first",
        "read",
        {200: "Queues"},
    ),
    Endpoint(
        "PUT",
        "/v1/reps/{rep}/away",
        api.set_away,
        "setAway",
        "Set a rep away until a time",
        "admin",
        {200: "AwayState"},
        (404, 422, 503),
        body="Away",
        params=(path("rep"),),
    ),
    Endpoint(
        "DELETE",
        "/v1/reps/{rep}/away",
        api.clear_away,
        "clearAway",
        "A rep is back",
        "admin",
        {200: "AwayState"},
        (404, 503),
        params=(path("rep"),),
    ),
    Endpoint(
        "GET",
        "/v1/fairness",
        api.get_fairness,
        "getFairness",
        "Assignments per rep over a window: counts, CV, Gini, max/min, rule compliance (the replay review's measures)",
        "read",
        {200: "Fairness"},
        (400,),
        params=(query("since", "ISO-8601 or epoch; default until - 7 days"), query("until", "default now")),
    ),
    Endpoint("GET", "/v1/metrics", api.metrics, "getMetrics", "Prometheus text metrics", "read", {200: "text/plain"}),
    Endpoint(
        "POST",
        "/v1/activate",
        api.activate,
        "activateVersion",
        "Activate a stored version (takes effect for the next decision)",
        "admin",
        {200: "Activated"},
        (404, 422),
        body="Activate",
    ),
    Endpoint(
        "POST",
        "/v1/intake",
        intake.intake,
        "intakeLead",
        "Decide a lead sent in a CRM's or form's own shape, through the daemon's --map mapping (signed, or an assign token)",
        None,
        {201: "IntakeDecision", 200: "IntakeDecision"},
        (400, 401, 404, 409, 413, 422, 429, 503),
        body="Payload",
        params=(REROUTE,),
    ),
    Endpoint(
        "POST",
        "/v1/intake/{source}",
        intake.intake,
        "intakeLeadFromSource",
        "Decide a lead sent in a source's shape, through the mapping given as --map SOURCE=FILE",
        None,
        {201: "IntakeDecision", 200: "IntakeDecision"},
        (400, 401, 404, 409, 413, 422, 429, 503),
        body="Payload",
        params=(path("source", "the source's name, as in --map NAME=FILE"), REROUTE),
    ),
    Endpoint(
        "GET",
        "/v1/refused",
        intake.list_refused,
        "listRefused",
        "Requests the daemon refused (signature, JSON, mapping, schema, conflict), newest first, with their reasons",
        "read",
        {200: "Refused"},
        (400,),
        params=(query("status", "refused (default), resubmitted or all", ("refused", "resubmitted", "all")),),
    ),
    Endpoint(
        "POST",
        "/v1/refused/resubmit",
        intake.resubmit_all,
        "resubmitAllRefused",
        "Decide again every waiting refused request (of one source), oldest first, with the mappings as they are now",
        "admin",
        {200: "Resubmitted"},
        (429,),
        params=(query("source", "only the requests of this source"),),
    ),
    Endpoint(
        "POST",
        "/v1/refused/{refused_id}/resubmit",
        intake.resubmit,
        "resubmitRefused",
        "Map and decide a refused request again, with the mapping as it is now",
        "admin",
        {201: "IntakeDecision", 200: "IntakeDecision"},
        (400, 404, 409, 422, 429, 503),
        params=(path("refused_id"),),
    ),
    Endpoint("GET", "/dashboard", pages.dashboard_page, "dashboardPage", "Team dashboard (HTML)", "read", {200: "text/html"}, page=True),
    Endpoint(
        "GET",
        "/decisions/{lead_id}",
        pages.decision_page,
        "decisionPage",
        "A decision's explanation page (HTML): where the lead is now, its moves, why it was decided so",
        "read",
        {200: "text/html"},
        (404,),
        params=(LEAD, query("why_not", "rep")),
        page=True,
    ),
    Endpoint(
        "GET",
        "/lottery/{record_id}",
        pages.lottery_page,
        "lotteryRecordPage",
        "A lottery meeting record page (HTML; the seed once its period is revealed; the page verifies itself)",
        "rep",
        {200: "text/html"},
        (404, 409),
        params=(path("record_id"),),
        page=True,
    ),
    # the routing log, a rep's own page, the manager's week, the audit trail (docs/security.md: what a rep token reads)
    Endpoint(
        "GET",
        "/v1/decisions",
        log.list_decisions,
        "listDecisions",
        "The routing log: decisions newest first, filtered by time, rep, tier and how decided, searched by lead id or company; paged, or all as CSV",
        "read",
        {200: "DecisionLog"},
        (400,),
        params=(
            query("since", "decided at or after (ISO-8601 or epoch)"),
            query("until", "decided before"),
            query("rep", "decided to this rep, or held by them now"),
            query("tier", "a tier of the version in force"),
            query("how", "how decided or moved (repeat, or comma-separated: any of them)", log.reads.HOW),
            query("q", "part of the lead id or the company"),
            query("limit", "rows per page (default 50, at most 500)"),
            query("offset", "rows to skip"),
            query("format", "json (default) or csv (every matching row)", ("json", "csv")),
        ),
        also=("text/csv",),
    ),
    Endpoint(
        "GET",
        "/v1/me",
        rep.me_json,
        "getMyLeads",
        "A rep's own leads this week and month, their share against the team and the target, their lottery entries and wins",
        "rep",
        {200: "RepPage"},
        (400, 403, 404),
        params=(query("rep", "tokens of role read and above: whose page"),),
    ),
    Endpoint(
        "GET",
        "/v1/me/leads/{lead_id}",
        rep.me_lead_json,
        "getMyLead",
        "A rep's own lead in full, or for another lead of this month why not them (no contact data)",
        "rep",
        {200: "RepLead"},
        (400, 403, 404),
        params=(LEAD, query("rep", "tokens of role read and above: whose view")),
    ),
    Endpoint(
        "GET",
        "/log",
        log.log_page,
        "logPage",
        "The routing log (HTML), with the API's filters and a CSV link",
        "read",
        {200: "text/html"},
        (400,),
        page=True,
    ),
    Endpoint(
        "GET",
        "/me",
        rep.me_page,
        "myLeadsPage",
        "My leads (HTML): a rep token's own page",
        "rep",
        {200: "text/html"},
        (400, 403, 404),
        params=(query("rep", "tokens of role read and above: whose page"),),
        page=True,
    ),
    Endpoint(
        "GET",
        "/me/leads/{lead_id}",
        rep.me_lead_page,
        "myLeadPage",
        "One of my leads in full, or why not me (HTML)",
        "rep",
        {200: "text/html"},
        (400, 403, 404),
        params=(LEAD, query("rep", "tokens of role read and above: whose view")),
        page=True,
    ),
    Endpoint(
        "GET",
        "/week",
        week.week_page,
        "weekPage",
        "The manager's week (HTML): figures per rep and level, the 12-week trend, before/after an activation",
        "read",
        {200: "text/html"},
        (400,),
        params=(query("week", "an ISO week, 2026-W48 (default: this week)"), query("activation", "a version number")),
        page=True,
    ),
    Endpoint(
        "GET",
        "/audit",
        audit_page.audit_page,
        "auditPage",
        "The audit trail (HTML), searchable by lead, rep, actor, kind and time",
        "read",
        {200: "text/html"},
        (400,),
        params=tuple(query(k, f"filter by {k}") for k in ("lead", "rep", "actor", "kind", "since", "until", "offset")),
        page=True,
    ),
    Endpoint("GET", "/", pages.root, "root", "To the dashboard", None, {307: "To /dashboard"}, documented=False),
]
ROUTES = [ep.route() for ep in ENDPOINTS]


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
