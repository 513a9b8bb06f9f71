"""The audit trail as a page: searchable by lead, rep, actor, kind and time, shown in the viewer's time zone.

Times are sent as ISO-8601 UTC in `<time datetime>` elements; the page's one inline
script (allowed by its hash, as the lottery record's) rewrites them in the browser's
own time zone, so without script they still read, in UTC.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..daemon import reads
from .auth import PAGE_HEADERS, page_error
from .errors import ApiError
from .log import _int, query_of_pairs
from .pages import _script_hashes
from .requests import iso, parse_time
from .state import Daemon
from .teams import page_team

LIMIT = 100


def parse_filter(request: Request, team: str | None = None, team_reps: tuple[str, ...] = ()) -> reads.AuditFilter:
    q = request.query_params
    since = parse_time(q["since"], "since") if q.get("since") else None
    until = parse_time(q["until"], "until") if q.get("until") else None
    if since is not None and until is not None and since >= until:
        raise ApiError(400, "bad_time", "since must be before until")
    lead, rep, actor, kind = ((q.get(k) or "").strip()[:128] or None for k in ("lead", "rep", "actor", "kind"))
    return reads.AuditFilter(since, until, lead, rep, actor, kind, team, team_reps)


def _details(data: dict) -> str:
    out = []
    for k, v in sorted(data.items()):
        if v is None or k == "lead_id":
            continue
        if k in ("deadline", "until", "expires_at") and isinstance(v, (int, float)):
            v = iso(v)
        out.append(f"{k}: {v}")
    return "; ".join(out)


async def audit_page(request: Request) -> Response:
    from ..render.jinja import render_template

    d: Daemon = request.app.state.daemon
    csp = PAGE_HEADERS["Content-Security-Policy"].replace("form-action 'none'", "form-action 'self'")
    chosen = page_team(d, request, "all")  # the trail of one team (?team=), or of everything
    if isinstance(chosen, Response):
        return chosen
    _, pol, _ = d.runtime.team(chosen.asked) if chosen.asked else (None, None, None)
    try:
        f = parse_filter(request, chosen.asked, tuple(pol.compiled.rep_names) if pol else ())
        offset = _int(request.query_params.get("offset"), "offset", 0, 10**9)
    except ApiError as err:
        return HTMLResponse(page_error("Bad filter", err.message), 400, headers={"Content-Security-Policy": csp})
    total, rows = reads.audit_log(d.read, f, LIMIT, offset)
    pairs = [
        ("since", iso(f.since)),
        ("until", iso(f.until)),
        ("lead", f.lead),
        ("rep", f.rep),
        ("actor", f.actor),
        ("kind", f.kind),
        ("team", chosen.asked),
    ]
    data = {
        "f": f,
        "nav": chosen.nav(),
        "several": len(chosen.teams) > 1,
        "since": iso(f.since) or "",
        "until": iso(f.until) or "",
        "kinds": reads.audit_kinds(d.read),
        "total": total,
        "offset": offset,
        "rows": [{**r, "iso": iso(r["at"]), "lead_id": r["data"].get("lead_id"), "details": _details(r["data"])} for r in rows],
        "prev": query_of_pairs(pairs, offset=max(0, offset - LIMIT)) if offset > 0 else None,
        "next": query_of_pairs(pairs, offset=offset + LIMIT) if offset + LIMIT < total else None,
    }
    html = render_template("page_audit.html.j2", data)
    csp = csp.replace("default-src 'none';", f"default-src 'none'; script-src {_script_hashes(html)};")
    return HTMLResponse(html, headers={"Content-Security-Policy": csp})
