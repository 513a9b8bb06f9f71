"""The routing log: every decision, filtered (time, rep, tier, how decided), searched (lead id or company), paged, as CSV.

`GET /v1/decisions` answers JSON or CSV; the `/log` page has the same filters in a
form and links each row to its decision page. Both read `reads.decisions_log`.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from ..daemon import reads
from .auth import PAGE_HEADERS
from .errors import ApiError
from .requests import iso, parse_time
from .state import Daemon
from .teams import page_team

MAX_LIMIT = 500
CSV_LIMIT = 100_000
FILTERS = ("since", "until", "rep", "tier", "how", "q")
CSV_COLUMNS = ("lead_id", "at", "company", "tier", "how", "rep", "queue", "holder", "current_queue", "status", "version", "team")
# the log's form is the one form of the pages: it may submit to this server, nowhere else
FORM_CSP = PAGE_HEADERS["Content-Security-Policy"].replace("form-action 'none'", "form-action 'self'")


def _int(value: str | None, name: str, default: int, top: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or len(value) > 9:
        raise ApiError(400, "bad_paging", f"{name}: expected a whole number from 0 to {top}, got {value[:40]!r}")
    return min(int(value), top)


def tier_names(d: Daemon, team: str | None) -> list[str]:
    """The tiers of one team's version in force; of every team served (each named once) when `team` is None."""
    pols = [d.runtime.team(team)[1]] if team is not None else list(d.runtime.versions.policies.values())
    return list(dict.fromkeys(t.name for p in pols if p is not None for t in p.compiled.tiers))


def parse_filter(d: Daemon, request: Request, team: str | None = None) -> reads.LogFilter:
    """The filters of a log request (in `team`, or the path's); a bad time, tier or `how` is a 400 naming the parameter."""
    q = request.query_params
    since = parse_time(q["since"], "since") if q.get("since") else None
    until = parse_time(q["until"], "until") if q.get("until") else None
    if since is not None and until is not None and since >= until:
        raise ApiError(400, "bad_time", "since must be before until")
    how = tuple(h for v in q.getlist("how") for h in v.split(",") if h)
    bad = [h for h in how if h not in reads.HOW]
    if bad:
        raise ApiError(400, "bad_filter", f"how={bad[0][:40]}: expected one of {', '.join(reads.HOW)}")
    tier = q.get("tier") or None
    team = request.path_params.get("team", team)
    if team is not None:
        d.runtime.team(team)  # NotFound, naming the teams served
    names = tier_names(d, team)
    if tier is not None and names and tier not in names:
        raise ApiError(400, "bad_filter", f"tier={tier[:40]}: no such tier; the tiers are {', '.join(names)}")
    q_ = (q.get("q") or "").strip()[:128] or None
    return reads.LogFilter(since, until, q.get("rep") or None, tier, tuple(dict.fromkeys(how)), q_, team)


def row_json(row: dict) -> dict:
    return {**{k: row[k] for k in CSV_COLUMNS if k != "at"}, "at": iso(row["at"]), "how": row["how"], "overridden": bool(row["overridden"])}


def query_of_pairs(pairs: list[tuple[str, str | None]], **more) -> str:
    """Filters (and paging) back as a query string, for links; empty ones left out."""
    return urlencode([(k, v) for k, v in [*pairs, *more.items()] if v not in (None, "")])


def query_of(f: reads.LogFilter, **more) -> str:
    """The log's filters (and paging) back as a query string, for links."""
    pairs = [
        ("since", iso(f.since) if f.since is not None else None),
        ("until", iso(f.until) if f.until is not None else None),
        ("rep", f.rep),
        ("tier", f.tier),
        *[("how", h) for h in f.how],
        ("q", f.q),
    ]
    return query_of_pairs(pairs, **more)


def _csv_cell(v) -> str:
    s = "" if v is None else (";".join(v) if isinstance(v, list) else str(v))
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s  # a spreadsheet never runs a company name


def as_csv(rows: list[dict]) -> Response:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow([_csv_cell(iso(r["at"]) if k == "at" else r[k]) for k in CSV_COLUMNS])
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="decisions.csv"'},
    )


def _page(d: Daemon, request: Request, team: str | None = None) -> tuple[reads.LogFilter, int, int, int, list[dict], str]:
    f = parse_filter(d, request, team)
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError(400, "bad_format", f"format={fmt[:40]}: expected json or csv")
    if fmt == "csv":
        total, rows = reads.decisions_log(d.read, f, CSV_LIMIT, 0)
        return f, total, CSV_LIMIT, 0, rows, fmt
    limit = _int(request.query_params.get("limit"), "limit", 50, MAX_LIMIT) or 1
    offset = _int(request.query_params.get("offset"), "offset", 0, 10**9)
    total, rows = reads.decisions_log(d.read, f, limit, offset)
    return f, total, limit, offset, rows, fmt


async def list_decisions(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    f, total, limit, offset, rows, fmt = _page(d, request)
    if fmt == "csv":
        return as_csv(rows)
    nxt = f"{request.url.path}?{query_of(f, limit=limit, offset=offset + limit)}" if offset + limit < total else None
    return JSONResponse({"total": total, "offset": offset, "limit": limit, "next": nxt, "decisions": [row_json(r) for r in rows]})


async def log_page(request: Request) -> Response:
    """The log of one team (`?team=`), or of every team when several are served and none is asked for."""
    from ..render.jinja import render_template
    from .auth import page_error

    d: Daemon = request.app.state.daemon
    chosen = page_team(d, request, "all")
    if isinstance(chosen, Response):
        return chosen
    try:
        f, total, limit, offset, rows, fmt = _page(d, request, chosen.asked)
    except ApiError as err:
        return HTMLResponse(page_error("Bad filter", err.message), 400, headers={"Content-Security-Policy": FORM_CSP})
    if fmt == "csv":
        return as_csv(rows)
    pols = [d.runtime.team(f.team)[1]] if f.team else list(d.runtime.versions.policies.values())
    t = chosen.asked
    data = {
        "f": f,
        "nav": chosen.nav(),
        "since": iso(f.since) or "",
        "until": iso(f.until) or "",
        "total": total,
        "offset": offset,
        "limit": limit,
        "rows": [row_json(r) for r in rows],
        "tiers": tier_names(d, f.team),
        "reps": [r for p in pols if p is not None for r in p.compiled.rep_names],
        "hows": reads.HOW,
        "several": len(chosen.teams) > 1,
        "prev": query_of(f, team=t, limit=limit, offset=max(0, offset - limit)) if offset > 0 else None,
        "next": query_of(f, team=t, limit=limit, offset=offset + limit) if offset + limit < total else None,
        "csv": query_of(f, team=t, format="csv"),
    }
    return HTMLResponse(render_template("page_log.html.j2", data), headers={"Content-Security-Policy": FORM_CSP})
