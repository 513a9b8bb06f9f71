"""A rep token through the real daemon and Chromium: its own page, "why not me?" in plain words, and what it may not read.

The rules (docs/security.md): a `rep` token reads its own decisions in full, the
team's aggregates, the meeting records, and of another rep's lead of this month
only the lead id, tier, time, how it was decided and why not them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policyd.lottery.archive import load_record

from .browser import open_page
from .serve_support import HIGH, Clock, ThreadServer, hold_meeting, lead, make_token, publish

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    db = d / "r.db"
    publish(db)
    clock = Clock()
    record_id = hold_meeting(db, clock, d / "o")
    admin = make_token(db, "admin")
    tokens = {name: make_token(db, "rep", name) for name in ("dmitri", "quinn")}
    made = {}
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(admin) as c:
        for i in range(30):
            x = c.post("/v1/assign", json=lead(f"R-{i}", company=f"Secret Co {i}", **(HIGH if i % 2 else {}))).json()
            made[x["lead_id"]] = x
        # quinn (capacity 15) is filled up by overrides, then misses a low lead
        open_now = next(r["open"] for r in c.get("/v1/reps").json()["reps"] if r["rep"] == "quinn")
        moved = [lid for lid, x in made.items() if x["rep"] not in ("quinn", "dmitri")][: 15 - open_now]
        for lid in moved:
            assert c.post(f"/v1/decisions/{lid}/override", json={"rep": "quinn", "reason": "fill"}).status_code == 200
            made[lid] = {**made[lid], "holder": "quinn"}
        gift = next(lid for lid, x in made.items() if x["tier"] == "low" and "holder" not in x and x["rep"] != "quinn")
        assert c.post(f"/v1/decisions/{gift}/override", json={"rep": "dmitri", "reason": "knows them"}).status_code == 200
        made[gift] = {**made[gift], "holder": "dmitri"}
        x = c.post("/v1/assign", json=lead("FULL", company="After Co")).json()
        made[x["lead_id"]] = x
        yield srv, admin, tokens, made, db, record_id


def _unmoved_high(made: dict) -> str:
    """A high lead the rules gave to someone else than dmitri, never moved since."""
    return next(lid for lid, x in made.items() if x["tier"] == "high" and x["by"] == "route" and x["rep"] != "dmitri" and "holder" not in x)


def _mine(made: dict, rep: str) -> set[str]:
    return {lid for lid, x in made.items() if rep in (x["rep"], x.get("holder", x["rep"]))}


def test_a_rep_token_reads_its_own_page(team):
    srv, admin, tokens, made, db, record_id = team
    with srv.client(tokens["dmitri"]) as c:
        me = c.get("/v1/me").json()
    assert me["rep"] == "dmitri"
    assert {x["lead_id"] for x in me["leads"]} == _mine(made, "dmitri")
    week = me["periods"]["week"]
    team_total = sum(1 for x in made.values() if x.get("holder", x["rep"]))
    assert week["team"] == team_total and week["mine"] == sum(1 for x in made.values() if x.get("holder", x["rep"]) == "dmitri")
    assert week["share"] == pytest.approx(week["mine"] / team_total)
    assert week["target_share"] == week["even_share"] == pytest.approx(1 / 20)  # no target shares in this policy: an even split
    assert sum(week["counts"].values()) == team_total  # the team's aggregates
    assert {x["lead_id"] for x in me["leads"]} | {x["lead_id"] for x in me["others"]} == set(made)
    # lottery entries and wins, from the meeting record: every entered draw had all 20 reps in its pool
    record = load_record(record_id, str(db))
    entered = [x for lead_ in record["leads"] for x in lead_["draws"] if x["entered"]]
    [entry] = me["lottery"]
    assert entry["id"] == record_id and entry["entries"] == len(entered) and entered
    assert entry["wins"] == [str(x["lead_id"]) for x in entered if x["winner"] == "dmitri"]


FORBIDDEN = [
    ("GET", "/v1/decisions"),
    ("GET", "/v1/decisions/L-R-0"),
    ("GET", "/v1/reps"),
    ("GET", "/v1/queues"),
    ("GET", "/v1/fairness"),
    ("GET", "/v1/metrics"),
    ("GET", "/v1/openapi.json"),
    ("POST", "/v1/assign"),
    ("GET", "/v1/me?rep=alice"),
    ("GET", "/dashboard"),
    ("GET", "/log"),
    ("GET", "/week"),
    ("GET", "/audit"),
    ("GET", "/decisions/L-R-0"),
    ("GET", "/me?rep=alice"),
]


@pytest.mark.parametrize("method,path", FORBIDDEN, ids=[f"{m} {p}" for m, p in FORBIDDEN])
def test_a_rep_token_cannot_read_what_the_rules_forbid(team, method, path):
    srv, admin, tokens, made, db, _ = team
    with srv.client(tokens["dmitri"]) as c:
        r = c.request(method, path, json={} if method == "POST" else None)
    assert r.status_code == 403, (path, r.status_code, r.text[:200])
    assert "Secret Co" not in r.text


def test_another_reps_lead_shows_no_contact_data_and_why_not_in_plain_words(team):
    srv, admin, tokens, made, db, _ = team
    other = _unmoved_high(made)
    with srv.client(tokens["dmitri"]) as c:
        r = c.get(f"/v1/me/leads/{other}")
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"lead_id", "tier", "at", "how", "why_not"}
        assert "Secret Co" not in r.text and "employees" not in r.text
        assert body["why_not"]["plain"] == "this tier needs finance skill 2; yours is 1"
        assert body["why_not"]["answer"].startswith("This tier needs finance skill 2; yours is 1. Removed at line 117")
        own = next(lid for lid, x in made.items() if x.get("holder") == "dmitri")  # the lead overridden to dmitri
        full = c.get(f"/v1/me/leads/{own}").json()
        assert full["decision"]["lead_id"] == own and full["explanation"]["lead"]["company"].startswith("Secret Co")
    with srv.client(tokens["quinn"]) as c:
        answer = c.get("/v1/me/leads/L-FULL").json()["why_not"]
    assert answer["plain"] == "you were at capacity: 15 of 15 open leads"


def test_the_rep_page_in_chromium_answers_why_not_me_at_the_top(team):
    srv, admin, tokens, made, db, _ = team
    other = _unmoved_high(made)
    with open_page(f"{srv.url}/me?token={tokens['dmitri']}") as visit:
        page = visit.page
        assert page.url == f"{srv.url}/me"  # the token became a cookie
        assert page.locator("h1").inner_text() == "My leads: dmitri"
        rows = page.locator("#mine tr th[scope=row]").all_inner_texts()
        assert set(rows) == _mine(made, "dmitri")
        assert "Secret Co" not in page.locator("#others").inner_text()
        page.locator(f'#others a[href="/me/leads/{other}"]').click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == f"Why not me for {other}?"
        first = page.locator("main p").first
        assert first.get_attribute("id") == "answer" and first.inner_text() == "This tier needs finance skill 2; yours is 1."
        assert "Secret Co" not in page.inner_text("body")
        page.goto(f"{srv.url}/dashboard")
        assert page.locator("h1").inner_text() == "Not allowed"
        assert visit.errors == [] or all("403" in e for e in visit.errors)


def test_a_manager_opens_any_reps_page_and_a_rep_asks_only_about_this_month(tmp_path):
    db = tmp_path / "m.db"
    publish(db)
    clock = Clock()
    admin, rep = make_token(db, "admin"), make_token(db, "rep", "alice")
    stranger = make_token(db, "rep", "zed")
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv:
        with srv.client(admin) as c:
            old = c.post("/v1/assign", json=lead("OLD")).json()
            assert c.get("/me", params={"rep": "alice"}).status_code == 200
            r = c.get("/v1/me")
            assert r.status_code == 400 and "name one with ?rep=NAME" in r.json()["message"]
        clock.advance(40 * 86400)
        with srv.client(rep) as c:
            r = c.get("/v1/me/leads/L-OLD")
            assert old["rep"] != "alice"  # a low lead goes to a newer rep
            assert r.status_code == 403 and "outside this month" in r.json()["message"]
            assert c.get("/v1/me/leads/L-NONE").status_code == 404
        with srv.client(stranger) as c:
            r = c.get("/v1/me")
            assert r.status_code == 404 and "'zed' is not a rep" in r.json()["message"]
