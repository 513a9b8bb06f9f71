"""The pages and the rep API with several teams: `?team=NAME`, each page's default, the page for an unknown team."""

from __future__ import annotations

import re

import pytest

from .serve_support import HIGH, Clock, ThreadServer, lead, make_token
from .test_serve_teams import two_teams


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Two teams (inbound_b2b and emea, whose reps are eu_*), three leads in each, one accepted in emea."""
    db = tmp_path_factory.mktemp("teams-pages") / "policyd.db"
    a, b = two_teams(db)
    clock = Clock()
    admin = make_token(db, "admin")
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(admin) as c:
        made = {}
        for team, prefix in (("inbound_b2b", "IN"), ("emea", "EU")):
            for i in range(3):
                r = c.post(f"/v1/teams/{team}/assign", json=lead(f"{prefix}{i}", **(HIGH if i else {})))
                assert r.status_code == 201, r.text
                made[r.json()["lead_id"]] = r.json()
        assert c.post("/v1/decisions/L-EU1/accept").status_code == 200
        srv.made, srv.admin, srv.db, srv.versions = made, admin, db, (a, b)
        yield srv


def _leads(html: str) -> set[str]:
    return set(re.findall(r'href="/decisions/(L-[A-Z]+\d)"', html))


def test_the_log_shows_every_team_by_default_and_one_team_when_asked(served):
    with served.client(served.admin) as c:
        every = c.get("/log").text
        assert "Routing log: every team" in every and _leads(every) == set(served.made)
        assert '<th scope="col">team</th>' in every and '<a href="/log" aria-current="page">every team</a>' in every
        one = c.get("/log", params={"team": "emea"}).text
        assert "Routing log: emea" in one and _leads(one) == {"L-EU0", "L-EU1", "L-EU2"}
        assert 'href="?team=emea" aria-current="page"' in one
        assert '<input type="hidden" name="team" value="emea">' in one  # the filters keep the team
        assert "/log?team=emea&amp;format=csv" in one
        # the rep filter lists the team's own reps only
        assert "option>eu_alice<" in one.replace("<option>", "option>") and "<option>alice</option>" not in one
        csv = c.get("/log", params={"team": "emea", "format": "csv"}).text.splitlines()
        assert len(csv) == 4 and all(line.endswith(",emea") for line in csv[1:])


def test_an_unknown_team_is_a_404_page_naming_the_teams(served):
    with served.client(served.admin) as c:
        for path in ("/dashboard", "/log", "/week", "/audit", "/me"):
            r = c.get(path, params={"team": "nowhere", "rep": "alice"})
            assert r.status_code == 404, path
            assert r.headers["content-type"].startswith("text/html"), path
            assert "No team &#39;nowhere&#39; is served here. The teams are: emea, inbound_b2b." in r.text, path
            assert f'href="{path}?team=emea"' in r.text and f'href="{path}?team=inbound_b2b"' in r.text, path


def test_the_week_asks_for_a_team_then_shows_only_its_reps(served):
    a, b = served.versions
    with served.client(served.admin) as c:
        choose = c.get("/week")
        assert choose.status_code == 200 and "Choose a team" in choose.text
        assert 'href="/week?team=emea">emea</a>' in choose.text and f'<td class="num">{b}</td>' in choose.text
        week = c.get("/week", params={"team": "emea"}).text
        assert "team emea</h1>" in week and 'href="?team=emea" aria-current="page"' in week
        per_rep = week.split('id="per-rep"')[1].split("</table>")[0]
        assert "eu_alice" in per_rep and not re.search(r"<th scope=\"row\">alice<", per_rep)
        team = week.split('id="team"')[1].split("</p>")[0]
        assert "3 decisions, 3 held by reps" in team  # emea's three, not all six
        assert "&amp;team=emea" in week  # the previous and next weeks stay in the team
        # the activation shown is emea's own
        assert f"Version {b} was activated" in week
        other = c.get("/week", params={"team": "inbound_b2b"}).text
        assert f"Version {a} was activated" in other and "3 decisions, 3 held by reps" in other


def test_the_audit_trail_of_one_team(served):
    with served.client(served.admin) as c:
        every = c.get("/audit").text
        assert "Audit trail: every team" in every and {"L-IN0", "L-EU0"} <= set(re.findall(r"L-[A-Z]+\d", every))
        one = c.get("/audit", params={"team": "emea"}).text
        leads = set(re.findall(r"L-[A-Z]+\d", one))
        assert leads == {"L-EU0", "L-EU1", "L-EU2"}, leads
        assert "in team emea</caption>" in one and ">accept<" in one


def test_a_rep_page_is_the_reps_own_team(served):
    eu = make_token(served.db, "rep", "eu_dmitri")
    with served.client(eu) as c:
        page = c.get("/me")
        assert page.status_code == 200, page.text
        assert "My leads: eu_dmitri" in page.text and "Team emea: the figures below are this team's." in page.text
        body = c.get("/v1/me").json()
        assert body["team"] == "emea" and set(body["periods"]["week"]["counts"]) == {
            r for r in body["periods"]["week"]["counts"] if r.startswith("eu_")
        }
        assert body["periods"]["week"]["team"] == 3  # emea's leads, not the other team's
        assert {o["lead_id"] for o in body["others"]} | {x["lead_id"] for x in body["leads"]} <= {"L-EU0", "L-EU1", "L-EU2"}
        # the same under the team's path; another team's path does not have this rep
        assert c.get("/v1/teams/emea/me").json()["periods"] == body["periods"]
        wrong = c.get("/v1/teams/inbound_b2b/me")
        assert (
            wrong.status_code == 404 and "'eu_dmitri' is not a rep of the version in force of team inbound_b2b" in wrong.json()["message"]
        )
        # a lead of the other team is not this rep's to ask about
        other = c.get("/v1/me/leads/L-IN1")
        assert other.status_code == 409 and "decided in team inbound_b2b, not emea" in other.json()["message"]
        assert c.get("/me/leads/L-IN1").status_code == 409
        mine = c.get("/me/leads/L-EU1")
        assert mine.status_code == 200 and "L-EU1" in mine.text


def test_a_manager_reads_any_reps_page_in_that_reps_team(served):
    with served.client(served.admin) as c:
        body = c.get("/v1/me", params={"rep": "alice"}).json()
        assert body["team"] == "inbound_b2b" and "alice" in body["periods"]["month"]["counts"]
        page = c.get("/me", params={"rep": "eu_alice"})
        assert page.status_code == 200 and "Team emea" in page.text
        assert 'href="/dashboard?team=emea"' in page.text and 'href="/log?rep=eu_alice&amp;team=emea"' in page.text
        nobody = c.get("/v1/me", params={"rep": "zed"})
        assert nobody.status_code == 404 and "'zed' is not a rep of any team served (teams: emea, inbound_b2b)" in nobody.json()["message"]


def test_the_dashboard_links_stay_in_the_team(served):
    with served.client(served.admin) as c:
        html = c.get("/dashboard", params={"team": "emea"}).text
        assert 'href="/week?team=emea"' in html and 'href="/log?rep=eu_alice&amp;team=emea"' in html
        assert '<a href="/audit?team=emea">audit</a>' in html  # the header's links too
