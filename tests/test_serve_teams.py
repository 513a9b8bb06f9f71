"""One daemon, several teams: each active policy decides with its own state, addressed by /v1/teams/{team}."""

from __future__ import annotations

import re
import threading

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.storage.store import Store, load_bundle
from policyd.storage.teams import RepInTwoTeams, activate_set

from .serve_support import HIGH, INBOUND, Clock, ThreadServer, db_rows, lead, make_token

REPS = tuple(load_bundle("inbound.policy", {"inbound.policy": INBOUND}).compiled.rep_names)


def emea(tweak: str = "") -> str:
    """The inbound policy as team emea, every rep renamed (a rep belongs to one team)."""
    body = INBOUND.replace("policy inbound_b2b", "policy emea", 1)
    return re.sub(r"\b(" + "|".join(REPS) + r")\b", r"eu_\1", body) + tweak


def put(db, name: str, text: str) -> int:
    s = Store(str(db))
    try:
        return s.publish(f"{name}.policy", {f"{name}.policy": text}, "test", "tests")[0].number
    finally:
        s.close()


def two_teams(db) -> tuple[int, int]:
    """Publish inbound_b2b and emea into `db` and make both active at once; their version numbers."""
    a, b = put(db, "inbound", INBOUND), put(db, "emea", emea())
    s = Store(str(db))
    try:
        activate_set(s, [a, b], "tests")
    finally:
        s.close()
    return a, b


@pytest.fixture
def two(tmp_path):
    db = tmp_path / "policyd.db"
    return db, *two_teams(db)


def test_two_teams_decide_apart_and_unprefixed_calls_name_the_teams(two):
    db, a, b = two
    clock = Clock()
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(make_token(db, "admin")) as c:
        assert srv.runtime.teams() == ["emea", "inbound_b2b"]
        r1 = c.post("/v1/teams/inbound_b2b/assign", json=lead("A1", **HIGH))
        r2 = c.post("/v1/teams/emea/assign", json=lead("B1", **HIGH))
        assert r1.status_code == r2.status_code == 201
        assert (r1.json()["team"], r1.json()["version"]) == ("inbound_b2b", a)
        assert (r2.json()["team"], r2.json()["version"]) == ("emea", b)
        assert not r1.json()["rep"].startswith("eu_") and r2.json()["rep"].startswith("eu_")
        # one team's open leads do not count in the other's
        reps_a = {r["rep"]: r["open"] for r in c.get("/v1/teams/inbound_b2b/reps").json()["reps"]}
        reps_b = {r["rep"]: r["open"] for r in c.get("/v1/teams/emea/reps").json()["reps"]}
        assert sum(reps_a.values()) == 1 and sum(reps_b.values()) == 1 and not set(reps_a) & set(reps_b)
        fa = c.get("/v1/teams/inbound_b2b/fairness", params={"until": str(clock() + 60)}).json()
        assert fa["team"] == "inbound_b2b" and fa["decisions"] == 1 and set(fa["counts"]) == set(reps_a)
        # un-prefixed calls with no lead or rep to tell the team by are ambiguous: 409 naming the teams
        for path in ("/v1/reps", "/v1/queues", "/v1/fairness"):
            amb = c.get(path)
            assert amb.status_code == 409 and "emea, inbound_b2b" in amb.json()["message"], path
        amb = c.post("/v1/assign", json=lead("C1"))
        assert amb.status_code == 409 and "/v1/teams/emea/" in amb.json()["message"]
        # lead ids are unique across the store: a lead of team A posted to team B is refused naming A
        wrong = c.post("/v1/teams/emea/assign", json=lead("A1", **HIGH))
        assert wrong.status_code == 409 and "decided in team inbound_b2b" in wrong.json()["message"]
        assert c.get("/v1/teams/emea/decisions/L-A1").status_code == 409
        assert c.post("/v1/teams/emea/decisions/L-A1/accept").status_code == 409
        # a lead names its team, so the un-prefixed lead calls still work
        assert c.post("/v1/decisions/L-A1/accept").json()["status"] == "accepted"
        assert c.get("/v1/teams/nowhere/reps").status_code == 404
        log = c.get("/v1/teams/emea/decisions").json()
        assert [(r["lead_id"], r["team"]) for r in log["decisions"]] == [("L-B1", "emea")]
        text = c.get("/v1/decisions/L-B1", params={"format": "text"}).text
        assert f"The decision (team emea, version {b}):" in text
    stored = db_rows(db, "select lead_id, team, version from rt_decisions order by id")
    assert stored == [("L-A1", "inbound_b2b", a), ("L-B1", "emea", b)]
    audit = db_rows(db, "select json_extract(data, '$.team') from audit where kind = 'assign' order by seq")
    assert audit == [("inbound_b2b",), ("emea",)]


def test_sla_reassignment_stays_in_its_team(two):
    db, a, b = two
    clock = Clock()
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(make_token(db, "admin")) as c:
        first = c.post("/v1/teams/emea/assign", json=lead("S1", **HIGH)).json()
        assert first["deadline"] is not None
        clock.advance(7 * 86400)
        steps = srv.settle()
        moved = [s for s in steps if s.get("lead_id") == "L-S1"]
        assert moved and all(s.get("to", "eu_x").startswith("eu_") for s in moved)
        row = c.get("/v1/teams/emea/decisions/L-S1").json()["decision"]
        assert row["team"] == "emea" and (row["rep"] is None or row["rep"].startswith("eu_"))


def test_a_rep_belongs_to_one_team(tmp_path):
    db = tmp_path / "policyd.db"
    a = put(db, "inbound", INBOUND)
    clash = put(db, "emea", INBOUND.replace("policy inbound_b2b", "policy emea", 1))
    s = Store(str(db))
    activate_set(s, [a], "tests")
    with pytest.raises(RepInTwoTeams, match=r"alice is a rep of emea@2 and of inbound_b2b@1"):
        activate_set(s, [clash], "tests")
    s.close()
    r = CliRunner().invoke(main, ["activate", "--db", str(db), f"emea@{clash}"])
    assert r.exit_code == 2 and "a rep belongs to one team" in r.output
    assert db_rows(db, "select count(*) from activations where policy = 'emea'") == [(0,)]


def test_an_activation_of_two_teams_switches_both_between_two_decisions(two):
    db, a, b = two
    a2, b2 = put(db, "inbound", INBOUND + "\n# v2\n"), put(db, "emea", emea("\n# v2\n"))
    with ThreadServer(db, sla_interval=3600) as srv:
        tok = make_token(db, "admin")
        stop = threading.Event()
        errors: list = []

        def post(team: str, k: int) -> None:
            with srv.client(tok) as c:
                i = 0
                while not stop.is_set():
                    i += 1
                    r = c.post(f"/v1/teams/{team}/assign", json=lead(f"{team}-{k}-{i}"))
                    if r.status_code not in (200, 201):
                        errors.append(r.text)

        threads = [threading.Thread(target=post, args=(t, k)) for t in ("emea", "inbound_b2b") for k in range(2)]
        for t in threads:
            t.start()
        import time

        time.sleep(0.5)
        with srv.client(tok) as c:
            r = c.post("/v1/activate", json={"versions": [f"inbound_b2b@{a2}", f"emea@{b2}"]})
            assert r.status_code == 200 and r.json()["teams"] == {"emea": b2, "inbound_b2b": a2}
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    rows = db_rows(db, "select team, version from rt_decisions order by id")
    new = [v in (a2, b2) for _, v in rows]
    assert any(new) and not all(new)
    cut = new.index(True)
    assert all(new[cut:]) and not any(new[:cut])  # every decision before the switch is old, every one after is new
    assert {t for t, _ in rows} == {"emea", "inbound_b2b"}


def test_the_dashboard_switches_teams(two):
    db, a, b = two
    with ThreadServer(db, sla_interval=3600) as srv, srv.client(make_token(db, "admin")) as c:
        c.post("/v1/teams/emea/assign", json=lead("D1", **HIGH))
        first = c.get("/dashboard").text
        assert 'aria-label="Teams"' in first and "Team dashboard: emea" in first and f"Version {b}" in first
        other = c.get("/dashboard", params={"team": "inbound_b2b"}).text
        assert "Team dashboard: inbound_b2b" in other and f"Version {a}" in other and "eu_" not in other.split("</nav>")[1]
        assert 'href="?team=inbound_b2b" aria-current="page"' in other
        assert c.get("/dashboard", params={"team": "nowhere"}).status_code == 404


@pytest.mark.slow
@pytest.mark.parametrize("width", (390, 1280))
def test_the_team_switcher_passes_axe_and_fits_the_width(two, width):
    from .browser import axe_violations, open_page

    db, a, b = two
    admin = make_token(db, "admin")
    with ThreadServer(db, sla_interval=3600) as srv:
        with srv.client(admin) as c:
            c.post("/v1/teams/emea/assign", json=lead("X1", **HIGH))
        for scheme in ("light", "dark"):
            with open_page(f"{srv.url}/dashboard?team=emea&token={admin}", None, width=width, bypass_csp=True, color_scheme=scheme) as v:
                page = v.page
                assert page.locator("nav[aria-label=Teams] a").count() == 2
                assert page.locator("a[aria-current=page]").inner_text() == "emea"
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                assert axe_violations(v.page) == [], scheme
                assert v.errors == []


def test_a_rollback_is_refused_like_an_activation_when_it_would_put_a_rep_on_two_teams(tmp_path):
    db = tmp_path / "policyd.db"
    clash = put(db, "emea", INBOUND.replace("policy inbound_b2b", "policy emea", 1))  # emea with inbound's reps
    apart = put(db, "emea", emea())
    inbound = put(db, "inbound", INBOUND)
    s = Store(str(db))
    activate_set(s, [clash], "tests")
    activate_set(s, [apart], "tests")
    activate_set(s, [inbound], "tests")  # fine: emea's reps are renamed now
    s.close()
    before = db_rows(db, "select count(*) from activations")
    r = CliRunner().invoke(main, ["rollback", "emea", "--db", str(db), "--by", "dana"])
    assert r.exit_code == 2, r.output
    assert f"alice is a rep of emea@{clash} and of inbound_b2b@{inbound}" in r.output and "a rep belongs to one team" in r.output
    assert db_rows(db, "select count(*) from activations") == before  # nothing recorded
    s = Store(str(db))
    try:
        assert s.active("emea").number == apart
    finally:
        s.close()
