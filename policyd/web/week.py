"""The manager's week: the weekly meeting's figures per rep and per level, the 12-week trend, before/after an activation.

`GET /week?week=2026-W48` (default: this week); `&activation=N` picks which
activation of the log the before/after compares around (default: the newest one).
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..daemon import oversight, week
from .auth import page_error
from .requests import iso
from .state import Daemon
from .teams import page_team


def trend_chart(rows: list[dict], key: str, width: int = 720, height: int = 160) -> dict:
    """Bars of one trend figure, one per week (numbers only; the template draws them)."""
    values = [r[key] or 0 for r in rows]
    top = max(values, default=0) or 1
    step = width / max(len(rows), 1)
    bars = [
        {"x": round(i * step + 2, 1), "w": round(step - 4, 1), "h": round((height - 30) * v / top, 1), "v": v, "label": r["week"][-3:]}
        for i, (r, v) in enumerate(zip(rows, values))
    ]
    return {"width": width, "height": height, "base": height - 18, "bars": bars}


def week_data(d: Daemon, start: float, activation: int | None, team: str | None = None) -> dict:
    """One team's week (None: the one team served), its trend and the activations of its policy."""
    rt, conn = d.runtime, d.read
    fig = week.figures(rt, conn, start, start + week.WEEK, team)
    rows = week.trend(rt, conn, start, team=team)
    acts = week.activations(conn, team)
    chosen = next((a for a in acts if a["number"] == activation), None) if activation is not None else (acts[0] if acts else None)
    return {
        "fig": fig,
        "since": iso(start),
        "until": iso(start + week.WEEK),
        "prev": week.week_label(start - week.WEEK),
        "next": week.week_label(start + week.WEEK),
        "trend": rows,
        "chart": trend_chart(rows, "leads"),
        "activation": {**chosen, "iso": iso(chosen["at"]), **week.around(rt, conn, chosen["at"], team=team)} if chosen else None,
        "activations": [{**a, "iso": iso(a["at"])} for a in acts[:20]],
        "overrides": oversight.overrides(conn, start, start + week.WEEK, team),
    }


async def week_page(request: Request) -> Response:
    from ..render.jinja import render_template

    d: Daemon = request.app.state.daemon
    chosen = page_team(d, request, "choose")  # a week's figures are one team's
    if isinstance(chosen, Response):
        return chosen
    q = request.query_params
    text = q.get("week") or week.week_label(d.clock())
    start = week.parse_week(text)
    if start is None:
        return HTMLResponse(page_error("Bad week", f"week={text[:40]!r}: expected an ISO week such as 2026-W48"), 400)
    act = q.get("activation")
    if act is not None and not (act.isdigit() and len(act) < 19):
        return HTMLResponse(page_error("Bad activation", f"activation={act[:40]!r}: expected a version number"), 400)
    data = await asyncio.to_thread(week_data, d, start, int(act) if act else None, chosen.asked)
    data["nav"] = chosen.nav()
    data["ta"] = f"&team={quote(chosen.team)}" if chosen.team and len(chosen.teams) > 1 else ""
    return HTMLResponse(render_template("page_week.html.j2", data))
