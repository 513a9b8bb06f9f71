"""The assignment daemon's HTTP API and pages (the only module that imports Starlette).

JSON API under /v1 (described at /v1/openapi.json), two HTML pages (a decision's
explanation, the team dashboard), bearer-token auth with roles. Every change goes
to the runtime's single writer (runtime.py); this module parses requests,
checks tokens and shapes answers. Errors are JSON bodies `{"error": CODE,
"message": TEXT}`; no traceback reaches a client.

Idempotency: POST /v1/assign with a lead id that was already decided answers 200
with the stored decision (and `"replayed": true`); a new decision answers 201.

Extension points for later work (e.g. lottery record pages, a seed commitment on
the dashboard): `create_app(extra_routes=[...], dashboard_panels=[...])`, where a
panel is a callable `(runtime) -> {"title": str, "html": markupsafe.Markup}`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import math
import re
import socket
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..daemon.runtime import Refused, Runtime, connect, ensure_schema, run_sla_loop
from ..engine.codegen import Compiled
from ..engine.schema import LeadError
from ..lottery import seeds
from ..storage import tokens

log = logging.getLogger(__name__)
access_log = logging.getLogger("policyd.access")

MAX_BODY = 64 * 1024
COOKIE = "policyd_token"
# pages need no script at all: forbid it, so a name that slipped past escaping could still not run
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
FORMATS = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status)


# ---------------------------------------------------------------------- request helpers
async def read_json(request: Request) -> Any:
    """The body as JSON, refusing bodies over MAX_BODY (413) and bad JSON (400)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise ApiError(413, "too_large", f"request body is {int(length)} bytes; the limit is {MAX_BODY}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, "too_large", f"request body is over the limit of {MAX_BODY} bytes")
    if not body.strip():
        raise ApiError(400, "bad_json", "empty body: expected a JSON object")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "bad_json", "body is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise ApiError(400, "bad_json", f"malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise ApiError(400, "bad_json", "JSON nested too deeply") from None


async def read_object(request: Request) -> dict:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "expected a JSON object")
    return data


MAX_TIME = 253402300799.0  # 9999-12-31T23:59:59Z


def parse_time(value: Any, name: str) -> float:
    """Seconds since the epoch from a number or an ISO-8601 text (naive means UTC), 1970..9999."""
    t = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        t = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            t = float(text)
        except ValueError:
            try:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
                t = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
            except (ValueError, OverflowError):
                t = None
    if t is None or not math.isfinite(t) or not 0 <= t <= MAX_TIME:
        raise ApiError(
            400,
            "bad_time",
            f"{name}: expected an ISO-8601 time (2026-11-24T09:00:00Z) or seconds since the epoch, got {json.dumps(value)}",
        )
    return t


def iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _token_from(request: Request, page: bool) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None
    if page:  # browsers: ?token= once, then the cookie it sets; the API takes the header only (no CSRF by cookie)
        return request.query_params.get("token") or request.cookies.get(COOKIE)
    return None


def needs(role: str, page: bool = False):
    """Check the bearer token (or, for pages, a cookie or ?token=) has at least `role`."""

    def wrap(fn):
        @wraps(fn)
        async def endpoint(request: Request):
            app: Daemon = request.app.state.daemon
            token = _token_from(request, page)
            who = app.tokens.identify(token)
            if who is None:
                msg = (
                    "missing bearer token: send `Authorization: Bearer TOKEN` (create one with `policyd token create`)"
                    if not token
                    else "unknown token"
                )
                if page:
                    return HTMLResponse(_page_error("Sign-in needed", msg + "; browsers may add ?token=TOKEN to the address once"), 401)
                return JSONResponse({"error": "unauthorized", "message": msg}, 401, headers={"WWW-Authenticate": "Bearer"})
            if not who.can(role):
                msg = f"token {who.name!r} has role {who.role}; this needs role {role} or higher"
                if page:
                    return HTMLResponse(_page_error("Not allowed", msg), 403)
                return error(403, "forbidden", msg)
            if page and request.query_params.get("token"):
                # swap the token in the address for a cookie, so it leaves the address bar and history
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                target = request.url.path + ("?" + urlencode(rest) if rest else "")
                response = RedirectResponse(target, 303)
                response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
                return response
            request.state.who = who
            response = await fn(request)
            if page:
                for key, value in PAGE_HEADERS.items():
                    response.headers.setdefault(key, value)  # a page may allow its own script by hash
            return response

        return endpoint

    return wrap


def _page_error(title: str, message: str) -> str:
    from ..render.jinja import render_template

    return render_template("page_error.html.j2", {"title": title, "message": message})


# ---------------------------------------------------------------------- the application state
class Daemon:
    """What the endpoints share: the runtime, a read connection, the token cache, counters."""

    def __init__(
        self,
        db: str,
        clock: Callable[[], float],
        sla_interval: float,
        dashboard_panels: Sequence[Callable] = (),
        seed_fn: Callable[[float], str] | None = None,
    ):
        self.db = db
        self.clock = clock
        self.sla_interval = sla_interval
        self.runtime = Runtime(db, clock=clock, seed_fn=seed_fn)
        self.dashboard_panels = list(dashboard_panels)
        self.requests: dict[str, int] = {}
        self.assign_seconds = 0.0
        self.assign_count = 0
        self.started = time.time()
        self.on_ready: Callable[[], None] | None = None

    def open(self) -> None:
        self.read = connect(self.db)
        ensure_schema(self.read)
        self.tokens = tokens.TokenCache(self.read)
        self.runtime.start()

    def row(self, lead_id: str) -> dict:
        return self.runtime.row(self.read, lead_id)


def decision_json(row: dict, replayed: bool | None = None) -> dict:
    out = {
        "lead_id": row["lead_id"],
        "rep": row["holder"],
        "status": row["status"],
        "queue": row["queue"],
        "decided": {"rep": row["rep"], "queue": row["queue"] if row["rep"] is None else None, "tier": row["tier"], "by": row["by"]},
        "tier": row["tier"],
        "by": row["by"],
        "version": row["version"],
        "at": iso(row["at"]),
        "deadline": iso(row["deadline"]),
        "reassigned": row["reassigned"],
        "overridden": bool(row["overridden"]),
        "override_reason": row["override_reason"],
        "seed_id": row.get("seed_id"),
        "lottery_note": row.get("lottery_note"),
        "explanation": f"/v1/decisions/{row['lead_id']}",
    }
    if replayed is not None:
        out["replayed"] = replayed
    return out


# ---------------------------------------------------------------------- endpoints
async def health(request: Request) -> Response:
    """Up and serving; `lottery` says whether the current period has a seed to draw with (public facts only)."""
    d: Daemon = request.app.state.daemon
    pol = d.runtime.policy
    if not d.runtime.alive():
        return JSONResponse({"status": "writer_stopped", "version": pol.version if pol else None}, 503)
    draw = await asyncio.to_thread(seeds.draw_seed, d.db, d.clock())
    return JSONResponse({"status": "ok" if pol else "no_active_version", "version": pol.version if pol else None, "lottery": draw.public()})


@needs("read")
async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


@needs("assign")
async def assign(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    lead = await read_object(request)
    t0 = time.perf_counter()
    row, created = await asyncio.wrap_future(d.runtime.assign(lead, request.state.who.name))
    d.assign_seconds += time.perf_counter() - t0
    d.assign_count += 1
    return JSONResponse(decision_json(row, replayed=not created), 201 if created else 200)


def _why_not(d: Daemon, c: Compiled, request: Request) -> str | None:
    who = request.query_params.get("why_not")
    if who is not None and who not in c.rep_index:
        from ..lang.diagnostics import did_you_mean

        guess = did_you_mean(who, c.rep_names)
        raise ApiError(404, "not_found", f"why_not={who}: no such rep" + (f"; did you mean {guess}?" if guess else ""))
    return who


def _history(d: Daemon, lead_id: str) -> list[dict]:
    rows = d.read.execute(
        "select seq, at, kind, actor, data from audit where json_extract(data, '$.lead_id') = ? order by seq", (lead_id,)
    ).fetchall()
    out = []
    for s, at, k, a, data in rows:
        d = json.loads(data)
        for key in ("deadline", "until"):
            if isinstance(d.get(key), (int, float)):
                d[key] = iso(d[key])
        out.append({"seq": s, "at": iso(at), "kind": k, "actor": a, "data": d})
    return out


@needs("read")
async def get_decision(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    row = d.row(request.path_params["lead_id"])
    fmt = request.query_params.get("format", "json")
    if fmt not in FORMATS:
        raise ApiError(400, "bad_format", f"format={fmt}: expected one of {', '.join(FORMATS)}")
    c, decision = d.runtime.redecide(row)
    why_not = _why_not(d, c, request)
    notes = [row["lottery_note"]] if row.get("lottery_note") else []
    if fmt == "json":
        from ..explain.explain import explain

        return JSONResponse(
            {"decision": decision_json(row), "explanation": explain(c, decision, why_not, notes), "history": _history(d, row["lead_id"])}
        )
    from ..explain.explain import render

    return Response(render(c, decision, fmt, why_not, notes), media_type=FORMATS[fmt])


@needs("assign")
async def accept(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    body = await read_object(request) if await _has_body(request) else {}
    rep = body.get("rep")
    row = await asyncio.wrap_future(d.runtime.accept(request.path_params["lead_id"], request.state.who.name, rep))
    return JSONResponse(decision_json(row))


async def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return (length is not None and length != "0") or "chunked" in request.headers.get("transfer-encoding", "")


@needs("assign")
async def close_lead(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    body = await read_object(request)
    outcome = body.get("outcome")
    if outcome not in ("won", "lost"):
        raise ApiError(
            422,
            "invalid",
            f"outcome: expected won or lost, got {json.dumps(outcome)}",
            fields=[{"field": "outcome", "message": "expected won or lost"}],
        )
    row = await asyncio.wrap_future(d.runtime.close_lead(request.path_params["lead_id"], outcome, request.state.who.name))
    return JSONResponse(decision_json(row))


@needs("admin")
async def override(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    body = await read_object(request)
    rep, reason = body.get("rep"), body.get("reason")
    problems = []
    if not isinstance(rep, str) or not rep:
        problems.append({"field": "rep", "message": "expected the name of the rep who gets the lead"})
    if not isinstance(reason, str) or not reason.strip():
        problems.append({"field": "reason", "message": "expected a reason (it is recorded in the audit log)"})
    if problems:
        raise ApiError(422, "invalid", "; ".join(f"{p['field']}: {p['message']}" for p in problems), fields=problems)
    row = await asyncio.wrap_future(d.runtime.override(request.path_params["lead_id"], rep, reason, request.state.who.name))
    return JSONResponse(decision_json(row))


def reps_json(d: Daemon) -> list[dict]:
    pol = d.runtime.policy
    if pol is None:
        return []
    c, st = pol.compiled, d.runtime.state
    away = dict(d.runtime.away_until)
    out = []
    for i, name in enumerate(c.rep_names):
        n = st.open.get(name, 0)
        until = away.get(name)
        out.append(
            {
                "rep": name,
                "level": c.levels[i],
                "capacity": c.capacity[i],
                "open": n,
                "load": round(n / c.capacity[i], 4) if c.capacity[i] else None,
                "away": name in st.away,
                "away_until": iso(until[0]) if until else None,
                "away_reason": until[1] if until else None,
                "last_assigned": iso(st.last.get(name)),
            }
        )
    return out


def queues_json(d: Daemon, limit: int = 100) -> dict:
    """Leads waiting without a rep (queued by the rules, or escalated by the SLA), oldest first."""
    out: dict[str, dict] = {}
    for queue, n in d.read.execute(
        "select queue, count(*) from rt_decisions where status in ('queued', 'escalated') group by queue order by queue"
    ):
        rows = d.read.execute(
            "select lead_id, tier, at from rt_decisions where status in ('queued', 'escalated') and queue = ? order by at, id limit ?",
            (queue, limit),
        ).fetchall()
        out[queue] = {"count": n, "leads": [{"lead_id": lid, "tier": tier, "at": iso(at)} for lid, tier, at in rows]}
    return out


@needs("read")
async def list_queues(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    return JSONResponse({"queues": queues_json(d)})


@needs("read")
async def list_reps(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    pol = d.runtime.policy
    return JSONResponse({"version": pol.version if pol else None, "reps": reps_json(d)})


@needs("admin")
async def set_away(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    body = await read_object(request)
    if "until" not in body:
        raise ApiError(422, "invalid", "until: required (when the rep is back)", fields=[{"field": "until", "message": "required"}])
    until = parse_time(body["until"], "until")
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise ApiError(422, "invalid", "reason: expected a text", fields=[{"field": "reason", "message": "expected a text"}])
    r = await asyncio.wrap_future(d.runtime.set_away(request.path_params["rep"], until, reason, request.state.who.name))
    return JSONResponse({**r, "until": iso(r["until"])})


@needs("admin")
async def clear_away(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    r = await asyncio.wrap_future(d.runtime.set_away(request.path_params["rep"], None, "", request.state.who.name))
    return JSONResponse(r)


def fairness(d: Daemon, since: float, until: float) -> dict:
    """Assignments per rep (the rep holding each lead now) in [since, until), with spread figures."""
    pol = d.runtime.policy
    names = list(pol.compiled.rep_names) if pol else []
    counts = dict.fromkeys(names, 0)
    for rep, n in d.read.execute(
        "select holder, count(*) from rt_decisions where at >= ? and at < ? and holder is not null group by holder", (since, until)
    ):
        counts[rep] = n
    total, overridden = d.read.execute(
        "select count(*), coalesce(sum(overridden), 0) from rt_decisions where at >= ? and at < ?", (since, until)
    ).fetchone()
    xs = [counts[n] for n in counts]
    mean = statistics.fmean(xs) if xs else 0.0
    cv = statistics.pstdev(xs) / mean if xs and mean else None
    gini = sum(abs(a - b) for a in xs for b in xs) / (2 * len(xs) ** 2 * mean) if xs and mean else None
    hi, lo = (max(xs), min(xs)) if xs else (0, 0)
    return {
        "since": iso(since),
        "until": iso(until),
        "decisions": total,
        "assigned": sum(xs),
        "counts": counts,
        "cv": None if cv is None else round(cv, 4),
        "gini": None if gini is None else round(gini, 4),
        "max": hi,
        "min": lo,
        "max_min_ratio": round(hi / lo, 4) if lo else None,
        "overrides": overridden,
        "rule_compliance": round((total - overridden) / total, 4) if total else None,
    }


@needs("read")
async def get_fairness(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    q = request.query_params
    until = parse_time(q["until"], "until") if "until" in q else d.clock()
    since = parse_time(q["since"], "since") if "since" in q else until - 7 * 86400
    if since >= until:
        raise ApiError(400, "bad_time", "since must be before until")
    return JSONResponse(fairness(d, since, until))


@needs("read")
async def metrics(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    rt = d.runtime
    pol = rt.policy
    lines = [
        "# HELP policyd_up 1 while the daemon serves.",
        "# TYPE policyd_up gauge",
        "policyd_up 1",
        "# HELP policyd_active_version The policy version deciding now (0: none).",
        "# TYPE policyd_active_version gauge",
        f"policyd_active_version {pol.version if pol else 0}",
        "# HELP policyd_requests_total HTTP requests by status code.",
        "# TYPE policyd_requests_total counter",
    ]
    lines += [f'policyd_requests_total{{code="{k}"}} {v}' for k, v in sorted(d.requests.items())]
    lines += [
        "# HELP policyd_assign_seconds Time from an assign request's body to its durable answer.",
        "# TYPE policyd_assign_seconds summary",
        f"policyd_assign_seconds_sum {d.assign_seconds:.6f}",
        f"policyd_assign_seconds_count {d.assign_count}",
        "# HELP policyd_commit_batches_total Durable transactions (one per group of operations).",
        "# TYPE policyd_commit_batches_total counter",
        f"policyd_commit_batches_total {rt.batches}",
        f"policyd_commit_operations_total {rt.batch_ops}",
        "# HELP policyd_events_total Decisions and lead events since start.",
        "# TYPE policyd_events_total counter",
    ]
    lines += [f'policyd_events_total{{event="{k}"}} {int(v)}' for k, v in sorted(rt.counters.items())]
    draw = await asyncio.to_thread(seeds.draw_seed, d.db, d.clock())
    lines += [
        "# HELP policyd_lottery_seed 1 when the current period has a committed, unrevealed seed (else lottery steps are skipped).",
        "# TYPE policyd_lottery_seed gauge",
        f'policyd_lottery_seed{{period="{draw.period}",status="{draw.status}"}} {int(draw.seed is not None)}',
    ]
    lines += ["# HELP policyd_open_leads Open leads per rep.", "# TYPE policyd_open_leads gauge"]
    lines += [f'policyd_open_leads{{rep="{r["rep"]}"}} {r["open"]}' for r in reps_json(d)]
    lines += ["# HELP policyd_rep_away 1 when the rep is away.", "# TYPE policyd_rep_away gauge"]
    lines += [f'policyd_rep_away{{rep="{r["rep"]}"}} {int(r["away"])}' for r in reps_json(d)]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


@needs("admin")
async def activate(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    body = await read_object(request)
    ref = body.get("version")
    if not isinstance(ref, (int, str)) or isinstance(ref, bool):
        raise ApiError(
            422,
            "invalid",
            "version: expected a version number or @N",
            fields=[{"field": "version", "message": "expected a version number"}],
        )
    from ..storage.store import Store, StoreError

    def work() -> int:
        store = Store(d.db)
        try:
            v = store.get(ref)
            d.runtime.compiled_for(v.number)  # refuse a version that cannot be loaded before it is active
            store.activate(v.number, request.state.who.name)
            return v.number
        finally:
            store.close()

    try:
        number = await asyncio.to_thread(work)
    except StoreError as err:
        raise ApiError(404, "not_found", str(err)) from None
    except Refused as err:  # the version does not load: it is not activated
        raise ApiError(422, "invalid_version", err.message) from None
    version = await asyncio.wrap_future(d.runtime.refresh())
    return JSONResponse({"version": version, "requested": number})


# ---------------------------------------------------------------------- pages
def _week_start(now: float) -> float:
    dt = datetime.fromtimestamp(now, UTC)
    monday = (dt - timedelta(days=dt.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday.timestamp()


def bar_chart(counts: dict[str, int], width: int = 720, bar_h: int = 18) -> dict:
    """Bars for an inline SVG (numbers only; the template draws them)."""
    top = max(counts.values(), default=0) or 1
    label_w = 90
    bars = []
    for i, (rep, n) in enumerate(counts.items()):
        bars.append({"rep": rep, "n": n, "y": i * (bar_h + 6), "w": round((width - label_w - 50) * n / top, 1)})
    return {"width": width, "height": len(bars) * (bar_h + 6), "bar_h": bar_h, "label_w": label_w, "bars": bars}


@needs("read", page=True)
async def dashboard_page(request: Request) -> Response:
    from ..render.jinja import render_template

    d: Daemon = request.app.state.daemon
    now = d.clock()
    week = fairness(d, _week_start(now), now + 1)
    pol = d.runtime.policy
    panels = []
    for panel in d.dashboard_panels:
        try:
            panels.append(panel(d.runtime))
        except Exception:
            log.exception("dashboard panel failed")
    html = render_template(
        "page_dashboard.html.j2",
        {
            "version": pol.version if pol else None,
            "now": iso(now),
            "reps": reps_json(d),
            "queues": queues_json(d, limit=20),
            "week": week,
            "chart": bar_chart(week["counts"]),
            "lottery": await asyncio.to_thread(lottery_panel, d, now),
            "panels": panels,
        },
    )
    return HTMLResponse(html)


def lottery_panel(d: Daemon, now: float, limit: int = 10) -> dict:
    """The dashboard's lottery section: this period's commitment (public) and the newest meeting records."""
    from ..lottery.record import RecordError, list_records

    try:
        records = list_records(d.db)[:limit]
    except RecordError:
        log.exception("cannot list lottery records")
        records = []
    return {"draw": seeds.draw_seed(d.db, now).public(), "records": [{**r, "at": iso(r["created_at"])} for r in records]}


def _script_hashes(html: str) -> str:
    """CSP sources for the page's own inline scripts (by SHA-256), so only they may run."""
    bodies = re.findall(r"<script>(.*?)</script>", html, re.S)
    return " ".join("'sha256-" + base64.b64encode(hashlib.sha256(b.encode("utf-8")).digest()).decode() + "'" for b in bodies)


@needs("read", page=True)
async def lottery_page(request: Request) -> Response:
    """A meeting record (lottery.render_record): the seed shows once its period is revealed; the page checks itself."""
    from ..lottery.record import RecordError, RecordNotFound, render_record

    d: Daemon = request.app.state.daemon
    rid = request.path_params["record_id"]
    try:
        html = await asyncio.to_thread(render_record, rid, d.db)
    except RecordNotFound as err:
        return HTMLResponse(_page_error("No such lottery record", str(err)), 404)
    except (RecordError, seeds.SeedError) as err:  # a record or a seed that no longer matches its hash
        return HTMLResponse(_page_error("Lottery record refused", str(err)), 409)
    csp = PAGE_HEADERS["Content-Security-Policy"].replace("default-src 'none';", f"default-src 'none'; script-src {_script_hashes(html)};")
    return HTMLResponse(html, headers={"Content-Security-Policy": csp})


@needs("read", page=True)
async def decision_page(request: Request) -> Response:
    from ..explain.explain import explain
    from ..render.jinja import render_template

    d: Daemon = request.app.state.daemon
    try:
        row = d.row(request.path_params["lead_id"])
    except Refused as err:
        return HTMLResponse(_page_error("No such decision", err.message), err.status)
    c, decision = d.runtime.redecide(row)
    try:
        why_not = _why_not(d, c, request)
    except ApiError as err:
        return HTMLResponse(_page_error("No such rep", err.message), err.status)
    html = render_template(
        "page_decision.html.j2",
        {
            "d": decision_json(row),
            "x": explain(c, decision, why_not, [row["lottery_note"]] if row.get("lottery_note") else []),
            "lead": json.loads(row["lead"]),
            "history": _history(d, row["lead_id"]),
        },
    )
    return HTMLResponse(html)


async def root(request: Request) -> Response:
    return RedirectResponse("/dashboard")


# ---------------------------------------------------------------------- errors, logging
async def api_error(request: Request, exc: ApiError) -> Response:
    return error(exc.status, exc.code, exc.message, **exc.extra)


async def runtime_error(request: Request, exc: Refused) -> Response:
    return error(exc.status, exc.code, exc.message, **exc.extra)


async def lead_error(request: Request, exc: LeadError) -> Response:
    n = len(exc.errors)
    return error(
        422, "invalid_lead", f"the lead was refused ({n} problem{'s' if n != 1 else ''})", fields=[e.to_json() for e in exc.errors]
    )


async def http_error(request: Request, exc: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    msg = {404: f"no such endpoint: {request.url.path}", 405: f"{request.method} is not allowed on {request.url.path}"}.get(
        exc.status_code, str(exc.detail)
    )
    return error(exc.status_code, code, msg)


async def internal_error(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(500, "internal", "internal error; the server log has the details")


class Counting:
    """ASGI middleware: count responses by status and, when asked, log method, path (never the query), status, time."""

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
                message["headers"] = [*message.get("headers", ()), (b"x-content-type-options", b"nosniff")]
            await send(message)

        try:
            await self.app(scope, receive, send_)
        finally:
            d = self.daemon_ref()
            key = str(status[0])
            d.requests[key] = d.requests.get(key, 0) + 1
            if self.log_access:
                access_log.info("%s %s %s %.1fms", scope["method"], scope["path"], status[0], (time.perf_counter() - t0) * 1000)


# ---------------------------------------------------------------------- the app
ROUTES = [
    Route("/v1/health", health),
    Route("/v1/openapi.json", openapi),
    Route("/v1/assign", assign, methods=["POST"]),
    Route("/v1/decisions/{lead_id}", get_decision),
    Route("/v1/decisions/{lead_id}/accept", accept, methods=["POST"]),
    Route("/v1/decisions/{lead_id}/close", close_lead, methods=["POST"]),
    Route("/v1/decisions/{lead_id}/override", override, methods=["POST"]),
    Route("/v1/reps", list_reps),
    Route("/v1/queues", list_queues),
    Route("/v1/reps/{rep}/away", set_away, methods=["PUT"]),
    Route("/v1/reps/{rep}/away", clear_away, methods=["DELETE"]),
    Route("/v1/fairness", get_fairness),
    Route("/v1/metrics", metrics),
    Route("/v1/activate", activate, methods=["POST"]),
    Route("/dashboard", dashboard_page),
    Route("/decisions/{lead_id}", decision_page),
    Route("/lottery/{record_id}", lottery_page),
    Route("/", root),
]


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
) -> Starlette:
    """The daemon as an ASGI app over the SQLite file `db`.

    `seed_fn(now)` gives the lottery seed for a decision made at `now` (default: one
    random seed kept in the database); `extra_routes` and `dashboard_panels` let other
    features (e.g. lottery records) add pages without editing this module.
    """
    daemon = Daemon(db, clock, sla_interval, dashboard_panels, seed_fn)
    daemon.on_ready = on_ready

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await asyncio.to_thread(lambda: None)  # the default executor exists before the writer starts
        daemon.open()
        task = asyncio.create_task(run_sla_loop(daemon.runtime, sla_interval))
        if daemon.on_ready:
            daemon.on_ready()
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            daemon.runtime.stop()

    app = Starlette(
        routes=[*ROUTES, *extra_routes],
        lifespan=lifespan,
        exception_handlers={
            ApiError: api_error,
            Refused: runtime_error,
            LeadError: lead_error,
            HTTPException: http_error,
            Exception: internal_error,
        },
    )
    app.state.daemon = daemon
    app.add_middleware(Counting, daemon_ref=lambda: daemon, log_access=log_access)
    return app


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


# ---------------------------------------------------------------------- OpenAPI
def _op(summary: str, role: str | None, body: str | None = None, params: Sequence[dict] = (), responses: dict | None = None) -> dict:
    op: dict[str, Any] = {"summary": summary, "responses": responses or {"200": {"description": "OK"}}}
    if role is None:
        op["security"] = []
    else:
        op["description"] = f"Needs a token with role `{role}` or higher."
        op["responses"].update(
            {"401": {"$ref": "#/components/responses/Unauthorized"}, "403": {"$ref": "#/components/responses/Forbidden"}}
        )
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
        op["responses"].update({"400": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}})
    if params:
        op["parameters"] = list(params)
    return op


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, desc: str, enum: Sequence[str] | None = None) -> dict:
    schema: dict[str, Any] = {"type": "string"}
    if enum:
        schema["enum"] = list(enum)
    return {"name": name, "in": "query", "required": False, "description": desc, "schema": schema}


_ERR = {"$ref": "#/components/responses/Error"}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "policyd", "version": "1", "description": "Who gets a lead, and why. Errors are {error, message[, fields]}."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Lead": {"type": "object", "description": "A lead as the active policy's `lead` block describes it; `id` is required."},
            "Decision": {
                "type": "object",
                "properties": {
                    "lead_id": {"type": "string"},
                    "rep": {"type": ["string", "null"], "description": "who holds the lead now"},
                    "status": {"enum": ["assigned", "accepted", "queued", "escalated", "won", "lost"]},
                    "queue": {"type": ["string", "null"]},
                    "tier": {"type": ["string", "null"]},
                    "by": {"type": "string"},
                    "version": {"type": "integer"},
                    "deadline": {"type": ["string", "null"], "format": "date-time"},
                    "replayed": {"type": "boolean", "description": "true when the lead id was decided before (idempotent replay)"},
                },
            },
            "Close": {"type": "object", "required": ["outcome"], "properties": {"outcome": {"enum": ["won", "lost"]}}},
            "Accept": {"type": "object", "properties": {"rep": {"type": "string", "description": "optional: the rep who accepts"}}},
            "Override": {
                "type": "object",
                "required": ["rep", "reason"],
                "properties": {"rep": {"type": "string"}, "reason": {"type": "string"}},
            },
            "Away": {
                "type": "object",
                "required": ["until"],
                "properties": {
                    "until": {"type": ["string", "number"], "description": "ISO-8601 time or epoch seconds"},
                    "reason": {"type": "string"},
                },
            },
            "Activate": {"type": "object", "required": ["version"], "properties": {"version": {"type": ["integer", "string"]}}},
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "fields": {"type": "array"}},
            },
        },
        "responses": {
            "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "Unauthorized": {"description": "No token or an unknown token"},
            "Forbidden": {"description": "The token's role is too low"},
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/v1/health": {"get": _op("Health (no token needed)", None)},
        "/v1/openapi.json": {"get": _op("This document", "read")},
        "/v1/assign": {
            "post": _op(
                "Decide who gets a lead (idempotent by lead id: a repeat answers 200 with the stored decision)",
                "assign",
                "Lead",
                responses={
                    "201": {"description": "Decided"},
                    "200": {"description": "Already decided (replayed)"},
                    "422": _ERR,
                    "503": _ERR,
                },
            )
        },
        "/v1/decisions/{lead_id}": {
            "get": _op(
                "A decision and its explanation",
                "read",
                params=[
                    _path("lead_id"),
                    _query("format", "json (default), text, md or html", list(FORMATS)),
                    _query("why_not", "also say why this rep did not get it"),
                ],
                responses={"200": {"description": "OK"}, "404": _ERR},
            )
        },
        "/v1/decisions/{lead_id}/accept": {
            "post": _op(
                "The rep accepted the lead (stops the SLA timer)",
                "assign",
                None,
                [_path("lead_id")],
                {"200": {"description": "OK"}, "409": _ERR},
            )
        },
        "/v1/decisions/{lead_id}/close": {
            "post": _op(
                "Close a lead as won or lost (frees capacity)",
                "assign",
                "Close",
                [_path("lead_id")],
                {"200": {"description": "OK"}, "409": _ERR},
            )
        },
        "/v1/decisions/{lead_id}/override": {
            "post": _op(
                "Move a lead to another rep, with a reason",
                "admin",
                "Override",
                [_path("lead_id")],
                {"200": {"description": "OK"}, "409": _ERR},
            )
        },
        "/v1/reps": {"get": _op("Reps with their load and availability", "read")},
        "/v1/queues": {"get": _op("Leads waiting without a rep (queued by the rules or escalated by the SLA), oldest first", "read")},
        "/v1/reps/{rep}/away": {
            "put": _op("Set a rep away until a time", "admin", "Away", [_path("rep")]),
            "delete": _op("A rep is back", "admin", None, [_path("rep")]),
        },
        "/v1/fairness": {
            "get": _op(
                "Assignments per rep over a window: counts, CV, Gini, max/min, rule compliance",
                "read",
                params=[_query("since", "ISO-8601 or epoch; default until - 7 days"), _query("until", "default now")],
            )
        },
        "/v1/metrics": {"get": _op("Prometheus text metrics", "read")},
        "/v1/activate": {"post": _op("Activate a stored version (takes effect for the next decision)", "admin", "Activate")},
        "/dashboard": {"get": _op("Team dashboard (HTML; browsers may pass ?token= once, it becomes a cookie)", "read")},
        "/decisions/{lead_id}": {
            "get": _op("A decision's explanation page (HTML)", "read", params=[_path("lead_id"), _query("why_not", "rep")])
        },
        "/lottery/{record_id}": {
            "get": _op(
                "A lottery meeting record page (HTML; the seed once its period is revealed; the page verifies itself)",
                "read",
                params=[_path("record_id")],
                responses={"200": {"description": "OK"}, "404": {"description": "No record with that id"}},
            )
        },
    },
}
