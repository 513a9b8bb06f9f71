"""The manager's week, asserted on a week computed by hand.

Three reps (ann veteran; ben, cid new), round robin. Week 2026-W46: three leads,
one each. Version 2 is activated at the start of 2026-W47. In 2026-W47 five
leads go ann, ben, cid, ann, ben; ann accepts S1 after 10 min and S4 after 20 min,
ben accepts S2 after 30 min; S1 and S2 are won, S4 lost; S5 is overridden from ben
to cid. By hand:

- leads held: ann 2 (S1, S4), ben 1 (S2), cid 2 (S3, S5); 5 decisions
- CV of [2, 1, 2]: mean 5/3, population variance 2/9, CV = sqrt(2/9) / (5/3) = 0.2828
- Gini of [1, 2, 2]: 2 (1*1 + 2*2 + 3*2) / (3 * 5) - 4/3 = 2/15 = 0.1333
- response median: team {10, 30, 20} min -> 20 min; ann {10, 20} -> 15 min; ben 30 min
- conversion: team 2 won of 3 closed; ann 1 of 2; ben 1 of 1
- rule compliance: team 4 of 5; by the rep decided to: ann 2 of 2, ben 1 of 2, cid 1 of 1
- per level: veteran = ann; new = ben + cid: leads 3, response 30 min, 1 won of 1, compliance 2 of 3
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from policyd.storage.store import Store

from .serve_support import Clock, ThreadServer, make_token

pytestmark = pytest.mark.slow

POLICY = (Path(__file__).parent / "data" / "pages" / "week.policy").read_text(encoding="utf-8")
W46 = datetime(2026, 11, 9, tzinfo=UTC).timestamp()  # Monday of 2026-W46
W47 = W46 + 7 * 86400


def _lead(i: str) -> dict:
    return {"id": i, "company": f"Company {i}", "size": 10}


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    db = tmp_path_factory.mktemp("week") / "w.db"
    store = Store(str(db))
    v1, _ = store.publish("week.policy", {"week.policy": POLICY}, "first", "tests", now=W46 - 86400)
    store.activate(v1.number, "tests", now=W46 - 86400)
    v2, _ = store.publish("week.policy", {"week.policy": POLICY + "# v2\n"}, "second", "tests", now=W47 - 3600)
    store.activate(v2.number, "ops", now=W47)
    admin = make_token(db, "admin")
    clock = Clock(W46 + 86400)
    with ThreadServer(db, clock=clock, sla_interval=3600) as srv, srv.client(admin) as c:
        got = [c.post("/v1/assign", json=_lead(f"P{i}")).json()["rep"] for i in (1, 2, 3)]
        assert got == ["ann", "ben", "cid"]
        clock.t = W47 + 2 * 86400  # Wednesday of W47
        got = [c.post("/v1/assign", json=_lead(f"S{i}")).json()["rep"] for i in (1, 2, 3, 4, 5)]
        assert got == ["ann", "ben", "cid", "ann", "ben"]
        t0 = clock.t
        for lead_id, minutes in (("S1", 10), ("S4", 20), ("S2", 30)):
            clock.t = t0 + minutes * 60
            assert c.post(f"/v1/decisions/{lead_id}/accept").status_code == 200
        for lead_id, outcome in (("S1", "won"), ("S2", "won"), ("S4", "lost")):
            assert c.post(f"/v1/decisions/{lead_id}/close", json={"outcome": outcome}).status_code == 200
        r = c.post("/v1/decisions/S5/override", json={"rep": "cid", "reason": "knows the buyer"})
        assert r.status_code == 200
        clock.t = W47 + 4 * 86400
        yield srv, admin, c


def _cells(html: str, table: str) -> dict[str, list[str]]:
    """Rows of one table of the page by their header cell: {row header: [cell texts]}."""
    import re

    body = html.split(f'<table id="{table}">', 1)[1].split("</table>", 1)[0]
    out = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        th = re.search(r'<th scope="row">(.*?)</th>', tr, re.S)
        if th:
            out[th.group(1)] = [re.sub(r"<[^>]+>", "", td).strip() for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
    return out


def test_the_weeks_figures_per_rep_and_level_are_the_hand_computed_ones(week):
    srv, _, c = week
    r = c.get("/week")  # the clock's week: 2026-W47
    assert r.status_code == 200
    html = r.text
    assert "<h1>Week 2026-W47</h1>" in html
    team = html.split('id="team">', 1)[1].split("</p>", 1)[0]
    for said in ("5 decisions, 5 held by reps", "response (median) 20.0 min", "conversion 66.7%", "rule compliance 80.0%"):
        assert said in team
    assert f"CV {math.sqrt(2 / 9) / (5 / 3):.2f}" in team and "CV 0.28" in team
    assert "Gini 0.13" in team
    reps = _cells(html, "per-rep")
    assert reps["ann"] == ["2", "15.0 min", "50.0% (1/2)", "100.0%", "veteran"]
    assert reps["ben"] == ["1", "30.0 min", "100.0% (1/1)", "50.0%", "new"]
    assert reps["cid"] == ["2", "-", "-", "100.0%", "new"]
    levels = _cells(html, "per-level")
    assert levels["veteran"] == ["2", "15.0 min", "50.0% (1/2)", "100.0%", "1"]
    assert levels["new"] == ["3", "30.0 min", "100.0% (1/1)", "66.7%", "2"]


def test_the_trend_has_twelve_weeks_and_the_activation_splits_before_from_after(week):
    srv, _, c = week
    html = c.get("/week?week=2026-W47").text
    trend = _cells(html, "trend")
    assert list(trend)[0] == "2026-W36" and list(trend)[-1] == "2026-W47" and len(trend) == 12
    assert trend["2026-W46"][:1] == ["3"] and trend["2026-W46"][-2:] == ["0.00", "0.00"]  # one lead each: even
    assert trend["2026-W47"][:1] == ["5"]
    assert all(trend[w][0] == "0" for w in list(trend)[:10])
    assert "Version 2 was activated by ops at 2026-11-16T00:00:00Z" in html
    around = _cells(html, "around")
    assert around["before"] == ["3", "-", "-", "100.0%", "0.00", "0.00"]
    assert around["after"] == ["5", "20.0 min", "66.7% (2/3)", "80.0%", "0.28", "0.13"]
    # the other activation can be chosen: version 1, a day before W46, has nothing before it
    v1 = _cells(c.get("/week?week=2026-W47&activation=1").text, "around")
    assert v1["before"][0] == "0" and v1["after"][0] == "3"


def test_a_bad_week_is_refused_in_words(week):
    srv, _, c = week
    r = c.get("/week?week=2026-48")
    assert r.status_code == 400 and "expected an ISO week such as 2026-W48" in r.text
    assert c.get("/week?activation=x").status_code == 400
