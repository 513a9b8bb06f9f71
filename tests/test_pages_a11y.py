"""Every page in a real headless Chromium at 390 px and 1,280 px, checked with axe-core.

No serious or critical axe violation on any page, in light and in dark mode; the
document never scrolls sideways at 390 px (wide tables and the lottery ladder scroll
inside their own frame, which the keyboard can reach); charts scale with the page and
each has a table beside it. Screenshots go to tests/artifacts/ (gitignored).
axe-core comes from the npm registry into tests/.axe/ (gitignored) on first use.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.storage import schedule
from policyd.storage.store import Store

from .browser import axe_violations, open_page
from .serve_support import HIGH, INBOUND, Clock, ThreadServer, hold_meeting, lead, make_token, publish

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"
WIDTHS = (390, 1280)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    d = tmp_path_factory.mktemp("a11y")
    db = d / "a.db"
    publish(db)
    clock = Clock()
    # the dashboard's governance section with something in it: a version waiting for approval, a scheduled one
    publish(db, INBOUND.replace("  review every 3 months\n", "  review every 3 months\n  approve versions by another\n"), activate=False)
    later = publish(db, INBOUND.replace("lottery 30%", "lottery 25%"), activate=False)
    schedule.schedule(Store(db), [later], clock() + 7 * 86400, "dana", now=clock())
    record = hold_meeting(db, clock, d / "out")
    review = d / "review.html"
    # Reports quote the files they read: copy them under a long checkout-like path (as a CI
    # runner's would be), so that a path with no break opportunity cannot widen a phone page.
    deep = d / "builds" / "a-checkout-directory-named-by-a-ci-runner-0123456789abcdef" / "tests" / "data"
    shutil.copytree(ROOT / "tests" / "data" / "replay", deep / "replay")
    shutil.copytree(ROOT / "tests" / "data" / "door", deep / "door")
    tiny = deep / "replay"
    args = [
        str(tiny / "tiny.policy"),
        str(tiny / "tiny-v2.policy"),
        "--leads",
        str(tiny / "tiny.csv"),
        "--map",
        str(tiny / "tiny.map.toml"),
    ]
    r = CliRunner().invoke(main, ["review", *args, "--hold", "2", "--html", str(review)])
    assert r.exit_code == 0, r.output
    org = d / "org.html"  # the organisation review: a front door and two teams
    door = deep / "door"
    r = CliRunner().invoke(
        main,
        ["replay", "--door", str(door / "door.policy"), str(door / "north.policy"), str(door / "south.policy")]
        + ["--leads", str(door / "leads.csv"), "--html", str(org)],
    )
    assert r.exit_code == 0, r.output
    admin = make_token(db, "admin")
    rep = make_token(db, "rep", "dmitri")
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv:
        with srv.client(admin) as c:
            for i in range(12):
                c.post("/v1/assign", json=lead(f"P-{i}", **(HIGH if i % 2 else {})))
            c.post("/v1/decisions/L-P-0/accept")
            c.post("/v1/decisions/L-P-2/override", json={"rep": "dmitri", "reason": "knows them"})
        other = next(x["lead_id"] for x in srv.client(admin).get("/v1/decisions", params={"tier": "high"}).json()["decisions"])
        pages = {
            "dashboard": (f"/dashboard?token={admin}", None),
            "log": (f"/log?token={admin}", None),
            "week": (f"/week?token={admin}", None),
            "audit": (f"/audit?token={admin}", None),
            "decision": (f"/decisions/L-P-1?token={admin}&why_not=dmitri", None),
            "lottery": (f"/lottery/{record}?token={admin}", None),
            "rep": (f"/me?token={rep}", None),
            "rep-why-not": (f"/me/leads/{other}?token={rep}", None),
        }
        yield srv, pages, review, record, org


PAGES = ("dashboard", "log", "week", "audit", "decision", "lottery", "rep", "rep-why-not", "review", "org")


def _target(site, name: str) -> str:
    srv, pages, review, _, org = site
    if name == "org":
        return str(org)
    return str(review) if name == "review" else srv.url + pages[name][0]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_every_page_passes_axe_and_fits_the_width(site, name, width):
    ARTIFACTS.mkdir(exist_ok=True)
    for scheme in ("light", "dark"):
        shot = ARTIFACTS / f"{name}-{width}-{scheme}.png"
        with open_page(_target(site, name), shot, width=width, bypass_csp=True, color_scheme=scheme) as visit:
            page = visit.page
            assert page.evaluate("document.querySelector('meta[name=viewport]').content") == "width=device-width, initial-scale=1"
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width} px"
            bad = axe_violations(page)
            assert bad == [], f"{name} at {width} px ({scheme}): {bad}"
            assert page.locator("table").count() >= 1 and page.locator("th").count() >= 2
            bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert (bg in ("rgb(20, 23, 29)",)) == (scheme == "dark"), f"{name} ({scheme}): body background {bg}"
            assert visit.errors == []
        assert shot.stat().st_size > 5_000


def test_charts_scale_with_the_page_and_have_a_table(site):
    for name, label in (("dashboard", "Leads per rep this week"), ("week", "Leads per week, last 12 weeks"), ("rep", "My share")):
        widths = []
        for width in WIDTHS:
            with open_page(_target(site, name), width=width) as visit:
                svg = visit.page.locator("svg.chart").first
                assert (svg.get_attribute("aria-label") or "").startswith(label)
                widths.append(svg.bounding_box()["width"])
                assert svg.bounding_box()["width"] <= width
                caption = visit.page.locator("table caption").all_inner_texts()
                assert caption, f"{name}: no table caption"
        assert widths[0] < widths[1], f"{name}: the chart did not scale ({widths})"


def test_the_ladder_scrolls_in_its_frame_and_shows_the_winner(site):
    srv, pages, _, record, _ = site
    with open_page(_target(site, "lottery"), width=390) as visit:
        page = visit.page
        frames = page.locator(".ladder-box .frame")
        assert frames.count() >= 1
        frame = frames.first
        assert frame.evaluate("e => getComputedStyle(e).overflowX") == "auto"
        assert frame.evaluate("e => e.scrollWidth > e.clientWidth")  # 20 legs do not fit 390 px: the frame scrolls
        assert frame.get_attribute("tabindex") == "0"
        winner = frame.locator("text.name.win")
        winner.scroll_into_view_if_needed()
        box, view = winner.bounding_box(), frame.bounding_box()
        assert view["x"] <= box["x"] and box["x"] + box["width"] <= view["x"] + view["width"]  # the winner's name is in view
        assert page.locator("#verify").get_attribute("data-state") in ("secret", "running", "match")


def test_on_a_wide_screen_the_whole_ladder_scales_into_its_frame(site):
    with open_page(_target(site, "lottery"), width=1280) as visit:
        frame = visit.page.locator(".ladder-box .frame").first
        assert frame.evaluate("e => e.scrollWidth <= e.clientWidth")  # nothing to scroll: every leg and name is in view
        view = frame.bounding_box()
        for box in [n.bounding_box() for n in frame.locator("text.name").all()]:
            assert view["x"] <= box["x"] and box["x"] + box["width"] <= view["x"] + view["width"]


@pytest.fixture(scope="module")
def teams_site(tmp_path_factory):
    """Two teams served (inbound_b2b and emea): every page's team variants."""
    from .test_serve_teams import two_teams

    db = tmp_path_factory.mktemp("a11y-teams") / "t.db"
    two_teams(db)
    admin, rep = make_token(db, "admin"), make_token(db, "rep", "eu_dmitri")
    with ThreadServer(db, clock=Clock(), sla_interval=3600) as srv:
        with srv.client(admin) as c:
            for i in range(6):
                for team in ("inbound_b2b", "emea"):
                    c.post(f"/v1/teams/{team}/assign", json=lead(f"{team}-{i}", **(HIGH if i % 2 else {})))
        yield srv, admin, rep


TEAM_PAGES = {
    "log-every-team": "/log?token={admin}",
    "log-one-team": "/log?team=emea&token={admin}",
    "week-choose-a-team": "/week?token={admin}",
    "week-one-team": "/week?team=emea&token={admin}",
    "audit-one-team": "/audit?team=emea&token={admin}",
    "rep-in-a-team": "/me?token={rep}",
    "no-such-team": "/week?team=nowhere&token={admin}",
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", TEAM_PAGES)
def test_every_team_page_passes_axe_and_fits_the_width(teams_site, name, width):
    srv, admin, rep = teams_site
    url = srv.url + TEAM_PAGES[name].format(admin=admin, rep=rep)
    for scheme in ("light", "dark"):
        with open_page(url, None, width=width, bypass_csp=True, color_scheme=scheme) as visit:
            page = visit.page
            assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width} px"
            bad = axe_violations(page)
            assert bad == [], f"{name} at {width} px ({scheme}): {bad}"
            assert page.locator("table").count() >= 1 and page.locator("th").count() >= 2
            if name != "rep-in-a-team":  # a rep belongs to one team: its page names the team, without a switcher
                assert page.locator("nav[aria-label=Teams] a").count() >= 2, name
            expected = ["Failed to load resource: the server responded with a status of 404 (Not Found)"] if name == "no-such-team" else []
            assert visit.errors == expected
