"""The HTML pages: the team dashboard, a decision's explanation, a lottery meeting record.

Pages take the token as a cookie (auth.py) and allow no script, except a lottery
record page's own inline script, allowed by its hash.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..daemon import rows
from ..lottery import seeds
from ..storage.errors import DomainError
from . import decisions
from .api import fairness_json, queues_json, reps_json
from .auth import PAGE_HEADERS, page_error
from .errors import status_of
from .requests import iso
from .state import Daemon
from .teams import page_team

log = logging.getLogger(__name__)


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


def lottery_panel(d: Daemon, now: float, limit: int = 10) -> dict:
    """The dashboard's lottery section: this period's commitment (public) and the newest meeting records."""
    from ..lottery.record import RecordError, list_records

    try:
        records = list_records(d.db)[:limit]
    except RecordError:
        log.exception("cannot list lottery records")
        records = []
    return {"draw": seeds.draw_seed(d.db, now).public(), "records": [{**r, "at": iso(r["created_at"])} for r in records]}


def reentries_panel(d: Daemon, now: float) -> list[dict]:
    """This period's leads that repeat an earlier prospect, read on the request side's own connection."""
    return [
        {**r, "at": iso(r["at"]), "before": [b.split(":", 1) for b in json.loads(r["before"] or "[]")]}
        for r in rows.reentries(d.read, seeds.period_start(seeds.period_of(now)))
    ]


async def dashboard_page(request: Request) -> Response:
    from ..render.jinja import render_template

    d: Daemon = request.app.state.daemon
    now = d.clock()
    chosen = page_team(d, request, "first")  # several teams: ?team=NAME picks one, the first by default
    if isinstance(chosen, Response):
        return chosen
    team, pol, _ = d.runtime.team(chosen.team)
    week = fairness_json(d, _week_start(now), now + 1, team)
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
            "team": team,
            "teams": chosen.teams,
            "nav": chosen.nav(),
            "now": iso(now),
            "reps": reps_json(d, team),
            "queues": queues_json(d, limit=20, team=team),
            "week": week,
            "chart": bar_chart(week["counts"]),
            "shares": week["shares"],  # per `pick shares` route, this period: the figures of GET /v1/fairness
            "lottery": {**await asyncio.to_thread(lottery_panel, d, now), "reentries": reentries_panel(d, now)},
            "panels": panels,
        },
    )
    return HTMLResponse(html)


def _script_hashes(html: str) -> str:
    """CSP sources for the page's own inline scripts (by SHA-256), so only they may run."""
    bodies = re.findall(r"<script>(.*?)</script>", html, re.S)
    return " ".join("'sha256-" + base64.b64encode(hashlib.sha256(b.encode("utf-8")).digest()).decode() + "'" for b in bodies)


async def lottery_page(request: Request) -> Response:
    """A meeting record (lottery.render_record): the seed shows once its period is revealed; the page checks itself."""
    from ..lottery.record import RecordError, RecordNotFound, render_record

    d: Daemon = request.app.state.daemon
    rid = request.path_params["record_id"]
    try:
        html = await asyncio.to_thread(render_record, rid, d.db)
    except RecordNotFound as err:
        return HTMLResponse(page_error("No such lottery record", str(err)), 404)
    except (RecordError, seeds.SeedError) as err:  # a record or a seed that no longer matches its hash
        return HTMLResponse(page_error("Lottery record refused", str(err)), 409)
    csp = PAGE_HEADERS["Content-Security-Policy"].replace("default-src 'none';", f"default-src 'none'; script-src {_script_hashes(html)};")
    return HTMLResponse(html, headers={"Content-Security-Policy": csp})


async def decision_page(request: Request) -> Response:
    from ..render.jinja import render_template

    d: Daemon = request.app.state.daemon
    try:
        row = d.row(request.path_params["lead_id"])
    except DomainError as err:
        return HTMLResponse(page_error("No such decision", err.message), status_of(err)[0])
    try:
        data = decisions.page_data(d, row, request.query_params.get("why_not"))
    except DomainError as err:
        return HTMLResponse(page_error("No such rep", err.message), status_of(err)[0])
    return HTMLResponse(render_template("page_decision.html.j2", data))


async def root(request: Request) -> Response:
    return RedirectResponse("/dashboard")
