"""Group shares through the daemon and on the dashboard, and a long run kept within tolerance.

The daemon decides through the same state transitions as the library (`decide`,
`apply`): ten leads through `POST /v1/assign` land where ten library decisions land.
The dashboard's quota and shares section shows the figures of `/v1/reps` and
`/v1/fairness`, and passes axe-core at phone and desktop width, light and dark.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from policyd import load_text
from policyd.engine.decide import decide
from policyd.engine.state import State, apply

from .browser import axe_violations, open_page
from .serve_support import Clock, ThreadServer, make_token, publish
from .test_groups import GROUPS

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC).timestamp()
POLICY = GROUPS.replace("  cap default 6 per day\n", "")


def test_daemon_and_library_place_alike_and_the_dashboard_shows_the_group_shares(tmp_path):
    db = tmp_path / "g.db"
    publish(db, POLICY)
    tok = make_token(db, "admin")
    c = load_text(POLICY, "g.policy").compiled
    state, expected = State(), []
    for i in range(10):
        d = decide(c, {"id": f"L{i}"}, state, at=NOW)
        state = apply(state, d, NOW)
        expected.append(d.rep)
    with ThreadServer(db, clock=Clock(NOW), sla_interval=3600) as srv, srv.client(tok) as cl:
        placed = [cl.post("/v1/assign", json={"id": f"L{i}", "value": 100}).json()["rep"] for i in range(10)]
        assert cl.post("/v1/decisions/L0/close", json={"outcome": "won"}).status_code == 200
        srv.settle()
        (shares,) = cl.get("/v1/fairness").json()["shares"]
        reps = {r["rep"]: r for r in cl.get("/v1/reps").json()["reps"]}
        html = cl.get("/dashboard").text
        url = f"{srv.url}/dashboard?token={tok}"
        assert placed == expected
        assert [(x["share"], x["by"], x["count"]) for x in shares["levels"]] == [("closers", "group", 6), ("others", "others", 4)]
        assert reps[placed[0]]["quota"]["won"] == 100
        assert 'id="levers"' in html and "Quotas, caps and target shares" in html
        assert 'group closers</th><td class="num">6</td>' in html.replace("\n", "")
        assert f">{round(100 * reps[placed[0]]['quota']['attainment'])}%<" in html
        for width in (390, 1280):
            for scheme in ("light", "dark"):
                with open_page(url, width=width, bypass_csp=True, color_scheme=scheme) as visit:
                    page = visit.page
                    assert page.locator("#levers table").count() == 2
                    assert page.evaluate("document.documentElement.scrollWidth") <= width
                    assert axe_violations(page) == [], f"{width} px {scheme}"
                    assert visit.errors == []


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["ann", "bea", "bob", "cy", "dee", None]), min_size=200, max_size=400))
def test_group_shares_stay_within_one_lead_of_target_over_a_long_run(aways):
    """Whatever rep is away for each lead, once both shares had a candidate on every lead the
    realized split keeps within one lead of 60/40: |placed - target x total| <= 1."""
    c = load_text(POLICY, "g.policy").compiled
    state = State()
    for i, away in enumerate(aways):
        s = State(away=frozenset({away} if away else ()), counts=state.counts, cursors=state.cursors)
        d = decide(c, {"id": f"L{i}"}, s, at=NOW)
        state = apply(s, d, NOW)
        done = state.counts["share:route:all:month:2026-12"]
        total = sum(done.values())
        assert abs(done.get("closers", 0) - 0.6 * total) <= 1


def test_a_reps_page_shows_the_share_it_counts_toward(tmp_path):
    """`/v1/me` and `/me` name, per shares route, the rep's own share (group or others) with the
    figures `/v1/fairness` gives for it, not the even split alone."""
    db = tmp_path / "g.db"
    publish(db, POLICY)
    tok = make_token(db, "admin")
    with ThreadServer(db, clock=Clock(NOW), sla_interval=3600) as srv, srv.client(tok) as cl:
        placed = [cl.post("/v1/assign", json={"id": f"L{i}", "value": 100}).json()["rep"] for i in range(10)]
        srv.settle()
        (route,) = cl.get("/v1/fairness").json()["shares"]
        members = load_text(POLICY, "g.policy").compiled.team
        closers = {r for g in members.groups if g.name == "closers" for r in g.reps}
        mine = {}
        for rep in sorted(set(placed)):
            me = cl.get("/v1/me", params={"rep": rep}).json()
            (mine[rep],) = me["shares"]
        html = cl.get("/me", params={"rep": placed[0]}).text
    by_share = {x["share"]: x for x in route["levels"]}
    for rep, s in mine.items():
        expected = "closers" if rep in closers else "others"
        assert s["share"] == expected
        assert (s["count"], s["target"], s["counted"]) == (by_share[expected]["count"], by_share[expected]["target"], route["counted"])
    assert 'id="shares"' in html and f"{mine[placed[0]]['share']}</td>" in html.replace(" </td>", "</td>")
