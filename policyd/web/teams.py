"""Which team a page shows: one rule and one switcher for every page (dashboard, log, week, audit, a rep's pages).

`?team=NAME` picks a team; without it a page shows the one team served, a rep's own
team (a rep belongs to one team), or, with several teams, what the page's `default`
says: the first team (the dashboard), every team (the log and the audit trail, whose
rows name their team), or a page listing the teams to choose from (the week and a
rep's page, whose figures are one team's). An unknown team is a 404 page naming the
teams served. The switcher (`page_team_nav.html.j2`) is plain links: no script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .state import Daemon

Default = Literal["first", "all", "choose"]


@dataclass(frozen=True)
class PageTeam:
    """The team a page shows (None: every team, on pages that can show them all) and the teams served."""

    team: str | None
    teams: list[str]
    path: str  # the page's own path, for the switcher's links
    every: bool = False  # the page offers "every team"

    @property
    def asked(self) -> str | None:
        """The team for the page's own links (`?team=`): only when several teams are served, so one-team links stay as they were."""
        return self.team if len(self.teams) > 1 else None

    def nav(self) -> dict:
        """What the switcher template needs: shown only when there is more than one team."""
        return {"team": self.team, "teams": self.teams, "path": self.path, "every": self.every}


def choose_page(d: Daemon, path: str, teams: list[str], title: str, message: str, status: int) -> Response:
    """A page listing the teams served, each a link to `path?team=NAME` (the choice, or the answer to an unknown team)."""
    from ..render.jinja import render_template

    rows = []
    for t in teams:
        _, pol, _ = d.runtime.team(t)
        rows.append({"team": t, "version": pol.version if pol else None, "reps": len(pol.compiled.rep_names) if pol else 0})
    html = render_template("page_teams.html.j2", {"title": title, "message": message, "path": path, "rows": rows})
    return HTMLResponse(html, status)


def page_team(d: Daemon, request: Request, default: Default, rep: str | None = None) -> PageTeam | Response:
    """The team of a page request, or the page to answer instead (404 for an unknown team, the list to choose from).

    `rep` (a rep's pages): the rep's own team when no team is asked for."""
    teams = d.runtime.teams()
    path = request.url.path
    asked = request.query_params.get("team") or None
    if asked is not None:
        if asked not in teams:
            known = ", ".join(teams) or "none: no version is active"
            message = f"No team {asked[:64]!r} is served here. The teams are: {known}."
            return choose_page(d, path, teams, "No such team", message, 404)
        return PageTeam(asked, teams, path, default == "all")
    own = d.runtime.team_of_rep(rep) if rep is not None else None
    if own is not None:
        return PageTeam(own, teams, path)
    if len(teams) <= 1:
        return PageTeam(teams[0] if teams else None, teams, path)
    if default == "first":
        return PageTeam(teams[0], teams, path)
    if default == "all":
        return PageTeam(None, teams, path, True)
    return choose_page(d, path, teams, "Choose a team", f"This daemon serves {len(teams)} teams; this page shows one team.", 200)
