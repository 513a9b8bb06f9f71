"""A rep's own page ("my leads") and "why not me?" for any lead of the period.

A `rep` token is named after its rep (`policyd token create --role rep --name alice`)
and reads only what docs/security.md lists: its own decisions in full, the team's
aggregates (leads per rep, CV, Gini), the meeting records, and for another rep's
lead of this month only the lead id, tier, time, how it was decided and the answer
to "why not me?" (no company, no lead fields). A token of role read or higher may
open any rep's page with `?rep=NAME` (the manager's view of it).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from ..daemon import reads
from ..daemon.week import WEEK, week_label, week_start
from ..storage.errors import DomainError, NotFound
from . import decisions
from .auth import page_error
from .errors import ApiError, status_of
from .requests import iso
from .state import Daemon
from .teams import page_team

log = logging.getLogger(__name__)


def month_bounds(t: float) -> tuple[float, float]:
    dt = datetime.fromtimestamp(t, UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = dt.replace(year=dt.year + 1, month=1) if dt.month == 12 else dt.replace(month=dt.month + 1)
    return dt.timestamp(), nxt.timestamp()


def whose_page(d: Daemon, request: Request) -> tuple[str, str | None]:
    """(rep, team) this request may read: a rep token's own name; for read and above, `?rep=` (NotFound/ApiError otherwise).

    The team is the path's (`/v1/teams/{team}/me`), else `?team=`, else the rep's own team
    (a rep belongs to one team); the rep must be a rep of it."""
    rep = whose_name(request)
    return rep, rep_team(d, rep, request.path_params.get("team") or request.query_params.get("team") or None)


def whose_name(request: Request) -> str:
    """The rep whose page this is: a rep token's own name; for read and above, `?rep=` (ApiError otherwise)."""
    who = request.state.who
    asked = request.query_params.get("rep")
    if who.role == "rep":
        if asked and asked != who.name:
            raise ApiError(403, "forbidden", f"a rep token reads its own page only ({who.name}), not {asked}'s")
        rep = who.name
    elif asked:
        rep = asked
    else:
        raise ApiError(400, "missing_rep", f"token {who.name!r} is not a rep's: name one with ?rep=NAME")
    return rep


def rep_team(d: Daemon, rep: str, asked: str | None) -> str | None:
    """The team whose page of `rep` is read: `asked` (which must be served and have the rep), else the rep's own."""
    rt = d.runtime
    team = asked if asked is not None else rt.team_of_rep(rep)
    if team is None and len(rt.teams()) != 1:
        raise NotFound(f"{rep!r} is not a rep of any team served (teams: {', '.join(rt.teams()) or 'none'})")
    team, pol, _ = rt.team(team)  # NotFound, naming the teams, for a team not served
    if pol is None or rep not in pol.compiled.rep_index:
        raise NotFound(f"{rep!r} is not a rep of the version in force" + (f" of team {team}" if len(rt.teams()) > 1 else ""))
    return team


def _share(counts: dict[str, int], rep: str) -> float | None:
    total = sum(counts.values())
    return counts.get(rep, 0) / total if total else None


def _lottery(d: Daemon, rep: str, limit: int = 12) -> list[dict]:
    """The newest meeting records in which `rep` was in a lottery pool: {id, period, entries, wins: [lead ids]}."""
    from ..lottery.archive import list_records, load_record
    from ..lottery.record import RecordError

    out = []
    try:
        for r in list_records(d.db)[:limit]:
            record = load_record(r["id"], d.db)
            draws = [x for lead in record["leads"] for x in lead["draws"] if x.get("entered") and rep in x.get("pool", ())]
            if draws:
                wins = [str(x["lead_id"]) for x in draws if x.get("winner") == rep]
                out.append({"id": r["id"], "period": r["period"], "entries": len(draws), "wins": wins})
    except RecordError:
        log.exception("cannot read lottery records")
    return out


def rep_data(d: Daemon, rep: str, team: str | None = None) -> dict:
    """What "my leads" shows (plain data; times ISO-8601), in the rep's team."""
    now = d.clock()
    ws, (ms, me) = week_start(now), month_bounds(now)
    team, pol, _ = d.runtime.team(team)
    names = list(pol.compiled.rep_names) if pol else [rep]
    team = team if len(d.runtime.teams()) > 1 else None  # one team: every row, as before teams
    targets = reads.target_shares(d.runtime, team)
    periods = {}
    for key, since, until, label in (("week", ws, ws + WEEK, week_label(ws)), ("month", ms, me, iso(ms)[:7])):
        figs = reads.fairness(d.runtime, d.read, since, until, team)
        periods[key] = {
            "label": label,
            "since": iso(since),
            "until": iso(until),
            "mine": figs["counts"].get(rep, 0),
            "team": figs["assigned"],
            "share": _share(figs["counts"], rep),
            "even_share": 1 / len(names),
            "target_share": targets.get(rep),
            "cv": figs["cv"],
            "gini": figs["gini"],
            "counts": figs["counts"],
        }
    my_shares = reads.rep_shares(d.runtime, rep, now, team)
    mine = reads.rep_leads(d.read, rep, ms, me)
    leads = [
        {
            **{k: r[k] for k in ("lead_id", "company", "tier", "rep", "holder", "status", "how")},
            "at": iso(r["at"]),
            "this_week": r["at"] >= ws,
        }
        for r in mine
    ]
    own = {r["lead_id"] for r in mine}
    _, month = reads.decisions_log(d.read, reads.LogFilter(since=ms, until=me, team=team), 200, 0)
    others = [{"lead_id": r["lead_id"], "tier": r["tier"], "at": iso(r["at"])} for r in month if r["lead_id"] not in own]
    wins = [r["lead_id"] for r in mine if "lottery" in r["how"] and r["rep"] == rep]
    return {
        "rep": rep,
        "team": team,
        "teams": d.runtime.teams(),
        "now": iso(now),
        "periods": periods,
        "shares": my_shares,
        "leads": leads,
        "others": others,
        "lottery_wins": wins,
    }


def _lead_in_period(d: Daemon, rep: str, lead_id: str, team: str | None = None) -> tuple[dict, bool]:
    """(row, mine) of a lead the rep may ask about: theirs, or decided this month in their team; ApiError 403 otherwise
    (Conflict, naming the team, for a lead of another team)."""
    row = d.row(lead_id, team if len(d.runtime.teams()) > 1 else None)
    mine = rep in (row["holder"], row["rep"])
    ms, me = month_bounds(d.clock())
    if not mine and not ms <= row["at"] < me:
        raise ApiError(403, "forbidden", f"lead {lead_id} was decided outside this month; a rep asks about this month's leads")
    return row, mine


def why_not_data(d: Daemon, row: dict, rep: str) -> dict:
    """Another rep's lead as a rep may see it: no company, no lead fields; the answer in plain words first."""
    _, _, x, _ = decisions.explained(d, row, rep)
    return {
        "lead_id": row["lead_id"],
        "tier": row["tier"],
        "at": iso(row["at"]),
        "how": reads.how_decided(row),
        "why_not": {k: x["why_not"].get(k) for k in ("rep", "plain", "answer", "line", "now")},
    }


async def me_json(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    rep, team = whose_page(d, request)
    data = await asyncio.to_thread(rep_data, d, rep, team)
    data["lottery"] = await asyncio.to_thread(_lottery, d, rep)
    return JSONResponse(data)


async def me_lead_json(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    rep, team = whose_page(d, request)
    row, mine = _lead_in_period(d, rep, request.path_params["lead_id"], team)
    if mine:
        body, _ = decisions.answer(d, row, "json", rep)
        return JSONResponse(body)
    return JSONResponse(why_not_data(d, row, rep))


def _page_error(err: DomainError | ApiError) -> Response:
    status = err.status if isinstance(err, ApiError) else status_of(err)[0]
    return HTMLResponse(page_error("Not available", err.message), status)


def _page_rep(d: Daemon, request: Request) -> tuple[str, str | None, dict] | Response:
    """(rep, team, the switcher's data) of a rep's page, or the page to answer instead (web/teams.py decides the team)."""
    try:
        rep = whose_name(request)
    except ApiError as err:
        return _page_error(err)
    chosen = page_team(d, request, "choose", rep=rep)
    if isinstance(chosen, Response):
        return chosen
    try:
        return rep, rep_team(d, rep, chosen.team), chosen.nav()
    except DomainError as err:
        return _page_error(err)


async def me_page(request: Request) -> Response:
    from ..render.jinja import render_template

    d: Daemon = request.app.state.daemon
    got = _page_rep(d, request)
    if isinstance(got, Response):
        return got
    rep, team, nav = got
    data = await asyncio.to_thread(rep_data, d, rep, team)
    data["lottery"] = await asyncio.to_thread(_lottery, d, rep)
    data["manager"] = request.state.who.role != "rep"
    data["nav"] = nav
    return HTMLResponse(render_template("page_rep.html.j2", data))


async def me_lead_page(request: Request) -> Response:
    from ..render.jinja import render_template

    d: Daemon = request.app.state.daemon
    got = _page_rep(d, request)
    if isinstance(got, Response):
        return got
    rep, team, nav = got
    try:
        row, mine = _lead_in_period(d, rep, request.path_params["lead_id"], team)
        if mine:
            data = decisions.page_data(d, row, None)
            return HTMLResponse(render_template("page_decision.html.j2", data | {"rep_view": rep, "nav": nav}))
        data = why_not_data(d, row, rep)
    except (DomainError, ApiError) as err:
        return _page_error(err)
    return HTMLResponse(render_template("page_why_not.html.j2", data | {"rep_view": rep, "nav": nav}))
