"""The routing log through the real daemon: every filter, the search, paging and the CSV export.

Day 1: low leads by the rules, a named account (exception), high leads until one
is drawn by lottery (the period's seed is committed), one low lead overridden.
Day 2: a low lead left unaccepted past its 24 h SLA (escalated), and one lead
queued while every rep is away. What each filter must return is worked out from
the answers of the assign calls, not from the log.
"""

from __future__ import annotations

import csv
import io

import pytest

from policyd.lottery import seeds

from .serve_support import HIGH, Clock, ThreadServer, lead, make_token, publish

pytestmark = pytest.mark.slow
DAY = 86400


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    db = tmp_path_factory.mktemp("log") / "log.db"
    publish(db)
    clock = Clock()
    seeds.commit(str(db), seeds.period_of(clock()), now=seeds.period_start(seeds.period_of(clock())) - 60)  # before the week begins
    admin = make_token(db, "admin")
    made: dict[str, dict] = {}
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(admin) as c:
        day1 = clock()
        for i in range(4):
            made[f"L-A{i}"] = c.post("/v1/assign", json=lead(f"A{i}", company=f"Acme {i}")).json()
        made["L-N1"] = c.post("/v1/assign", json=lead("N1", company="Globex", account_owner="erin")).json()
        made["L-CSV"] = c.post("/v1/assign", json=lead("CSV", company="=HYPERLINK(1)")).json()
        for i in range(80):
            d = c.post("/v1/assign", json=lead(f"H{i}", **HIGH)).json()
            made[d["lead_id"]] = d
            if d["by"] == "lottery":
                break
        target = next(r for r in ("quinn", "uma", "omar") if r != made["L-A1"]["rep"])
        assert c.post("/v1/decisions/L-A1/override", json={"rep": target, "reason": "speaks the language"}).status_code == 200
        for lid in made:  # accepted: only L-S1 below waits past its SLA
            assert c.post(f"/v1/decisions/{lid}/accept").status_code == 200
        clock.advance(DAY)
        day2 = clock()
        made["L-S1"] = c.post("/v1/assign", json=lead("S1")).json()
        clock.advance(DAY + 60)
        steps = srv.settle()
        assert [s["lead_id"] for s in steps] == ["L-S1"]
        reps = [r["rep"] for r in c.get("/v1/reps").json()["reps"]]
        for r in reps:
            c.put(f"/v1/reps/{r}/away", json={"until": clock() + 3600})
        made["L-Q1"] = c.post("/v1/assign", json=lead("Q1")).json()
        for r in reps:
            c.delete(f"/v1/reps/{r}/away")
        yield srv, admin, c, made, {"day1": day1, "day2": day2, "target": target}


def _ids(c, **params) -> set[str]:
    r = c.get("/v1/decisions", params={**params, "limit": 500})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["decisions"])
    return {d["lead_id"] for d in body["decisions"]}


def test_every_way_of_deciding_is_a_filter(log):
    srv, _, c, made, k = log
    by = {lid: d["by"] for lid, d in made.items()}
    assert _ids(c, how="rules") == {lid for lid, b in by.items() if b == "route"}
    assert _ids(c, how="exception") == {"L-N1"} == {lid for lid, b in by.items() if b == "exception"}
    lottery = {lid for lid, b in by.items() if b == "lottery"}
    assert len(lottery) == 1 and _ids(c, how="lottery") == lottery
    assert _ids(c, how="queue") == {"L-Q1"} and made["L-Q1"]["by"] == "queue"
    assert _ids(c, how="override") == {"L-A1"}
    assert _ids(c, how="sla") == {"L-S1"}
    assert _ids(c, how="override,sla") == {"L-A1", "L-S1"} == _ids(c, how=["override", "sla"])
    assert _ids(c) == set(made)


def test_time_rep_tier_and_search_filters(log):
    srv, _, c, made, k = log
    day2 = {"L-S1", "L-Q1"}
    assert _ids(c, since=k["day2"]) == day2
    assert _ids(c, until=k["day2"]) == set(made) - day2
    iso_from = "2026-11-19T11:06:40Z"  # the test clock's day 2, written as ISO-8601
    assert _ids(c, since=iso_from) == day2
    high = {lid for lid, d in made.items() if d["tier"] == "high"}
    assert _ids(c, tier="high") == high and len(high) >= 1
    rep = made["L-A1"]["rep"]  # decided to rep, then overridden to the target
    expected = {lid for lid, d in made.items() if d["rep"] == rep}
    assert "L-A1" in _ids(c, rep=rep) == expected
    assert "L-A1" in _ids(c, rep=k["target"])
    assert _ids(c, q="globex") == {"L-N1"}  # company, any case
    assert _ids(c, q="A2") == {"L-A2"}  # lead id
    assert _ids(c, q="%") == set()  # the search is literal, not a LIKE pattern
    assert _ids(c, tier="high", how="lottery") == {lid for lid in high if made[lid]["by"] == "lottery"}


def test_paging_walks_every_decision_once(log):
    srv, _, c, made, k = log
    seen, url, pages = [], "/v1/decisions?limit=3", 0
    while url:
        body = c.get(url).json()
        assert body["limit"] == 3 and len(body["decisions"]) <= 3
        seen += [d["lead_id"] for d in body["decisions"]]
        url, pages = body["next"], pages + 1
    assert len(seen) == len(set(seen)) == len(made) and pages == -(-len(made) // 3)
    ats = [d["at"] for d in c.get("/v1/decisions", params={"limit": 500}).json()["decisions"]]
    assert ats == sorted(ats, reverse=True)  # newest first


def test_bad_filters_are_refused_in_words(log):
    srv, _, c, made, k = log
    for params, said in (
        ({"how": "magic"}, "how=magic: expected one of rules, exception, lottery, override, sla, queue"),
        ({"tier": "huge"}, "tier=huge: no such tier; the tiers are high, medium, low"),
        ({"since": "yesterday"}, "since: expected an ISO-8601 time"),
        ({"since": 10, "until": 5}, "since must be before until"),
        ({"limit": "-1"}, "limit: expected a whole number"),
        ({"format": "xml"}, "format=xml: expected json or csv"),
    ):
        r = c.get("/v1/decisions", params=params)
        assert r.status_code == 400 and said in r.json()["message"], (params, r.text)


def test_csv_export_has_every_matching_row_and_defuses_formulas(log):
    srv, _, c, made, k = log
    r = c.get("/v1/decisions", params={"format": "csv", "until": k["day2"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {x["lead_id"] for x in rows} == set(made) - {"L-S1", "L-Q1"}
    by_id = {x["lead_id"]: x for x in rows}
    assert by_id["L-CSV"]["company"] == "'=HYPERLINK(1)"
    assert by_id["L-A1"]["how"] == "rules;override" and by_id["L-A1"]["holder"] == k["target"]
    assert by_id["L-N1"]["how"] == "exception" and by_id["L-N1"]["rep"] == "erin"


def test_the_log_page_links_each_row_and_keeps_the_filters(log):
    srv, _, c, made, k = log
    r = c.get("/log", params={"how": "exception"})
    assert r.status_code == 200
    assert '<a href="/decisions/L-N1">L-N1</a>' in r.text and "L-A0" not in r.text
    assert '<option value="exception" selected>' in r.text
    assert "form-action 'self'" in r.headers["content-security-policy"]
    page1 = c.get("/log", params={"limit": 2}).text
    assert f"{len(made)} decisions, 1 to 2 shown" in page1 and 'rel="next" href="/log?limit=2&amp;offset=2"' in page1
    export = c.get("/log", params={"how": "sla", "format": "csv"})
    assert export.headers["content-type"].startswith("text/csv") and "L-S1" in export.text and "L-A0" not in export.text
    bad = c.get("/log", params={"how": "magic"})
    assert bad.status_code == 400 and "Bad filter" in bad.text
