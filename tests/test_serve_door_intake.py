"""Mapped intake with several teams: through the front door as `POST /v1/assign` goes, or into the team the path names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policyd.checks.door import load_door
from policyd.daemon.intake import Sources
from policyd.door.route import route

from .serve_support import Clock, ThreadServer, db_rows, make_token
from .test_serve_door import MAVEN, cli, maven  # noqa: F401  (the fixture: three Maven teams and their door, active)

MAPPING = """
[history]
id = "DealId"

[fields.id]
column = "DealId"

[fields.office]
column = "Office"
transform = "lower"
default = "unknown"

[fields.sector]
column = "Sector"
default = "unknown"

[fields.segment]
column = "Size"
values = { Small = "smb", Mid = "mid_market", Large = "enterprise" }
default = "unknown"

[fields.product]
column = "Product"

[fields.series]
column = "Series"

[fields.price]
column = "Price"
"""


def payload(i: int, office: str, series: str = "gtx") -> dict:
    product = {"gtx": "gtx_pro", "mg": "mg_special", "gtk": "gtk_500"}[series]
    return {"DealId": f"M-{i}", "Office": office, "Sector": "it", "Size": "Small", "Product": product, "Series": series, "Price": 500}


@pytest.fixture
def crm(maven, tmp_path: Path):  # noqa: F811
    f = tmp_path / "crm.map.toml"
    f.write_text(MAPPING, encoding="utf-8")
    with ThreadServer(maven, clock=Clock(), sla_interval=3600, sources=Sources({"crm": str(f)})) as srv:
        srv.db = maven
        yield srv


def test_mapped_intake_without_a_team_goes_through_the_front_door(crm):
    door = load_door(MAVEN / "door.policy").compiled
    with crm.client(make_token(crm.db, "assign")) as c:
        for i, (office, series) in enumerate((("East", "gtx"), ("Central", "gtk"), ("Central", "mg"), ("Nowhere", "mg"))):
            r = c.post("/v1/intake/crm", json=payload(i, office, series))
            if office == "Nowhere":  # the door reads the mapped lead: an office it does not know is refused in its words, and kept
                assert r.status_code == 422 and "front door maven refused the lead" in r.json()["message"], r.text
                assert r.json()["refused_id"] > 0
                continue
            assert r.status_code == 201, r.text
            body = r.json()
            mapped = {"office": office.lower(), "series": series}
            routed = route(door, mapped)
            assert body["team"] == routed.team and body["door"]["step"] == routed.step() and body["source"] == "crm"
            assert body["rep"] in crm.runtime.versions.policies[routed.team].compiled.rep_index
        text = c.get("/v1/decisions/M-1", params={"format": "text"}).text
        assert text.splitlines()[0] == "front door maven, line 10: series is gtk -> team west"
    rows = db_rows(crm.db, "select lead_id, team, json_extract(door, '$.team') from rt_decisions order by id")
    assert rows == [("M-0", "east", "east"), ("M-1", "west", "west"), ("M-2", "central", "central")]
    assert db_rows(crm.db, "select source, kind, lead_id from intake_refused") == [("crm", "schema", "M-3")]


def test_mapped_intake_under_a_team_is_decided_there_without_the_door(crm):
    with crm.client(make_token(crm.db, "assign")) as c:
        r = c.post("/v1/teams/central/intake/crm", json=payload(9, "East"))
        assert r.status_code == 201, r.text
        assert r.json()["team"] == "central" and "door" not in r.json()
        assert r.json()["rep"] in crm.runtime.versions.policies["central"].compiled.rep_index
        again = c.post("/v1/teams/east/intake/crm", json=payload(9, "East"))  # lead ids are unique across the store
        assert again.status_code == 409 and "decided in team central, not east" in again.json()["message"]
        nowhere = c.post("/v1/teams/nowhere/intake/crm", json=payload(10, "East"))
        assert nowhere.status_code == 404 and "teams: central, east, west" in nowhere.json()["message"]
        unknown = c.post("/v1/teams/east/intake/zoho", json=payload(11, "East"))
        assert unknown.status_code == 404 and "--map zoho=FILE" in unknown.json()["message"]
    assert db_rows(crm.db, "select lead_id, team, door from rt_decisions") == [("M-9", "central", None)]


def test_a_refused_request_is_resubmitted_into_the_team_its_path_named(db_target, tmp_path: Path):
    db = db_target  # a SQLite file, then a PostgreSQL database
    for name in ("central", "east", "west", "door"):
        assert cli(db, "publish", str(MAVEN / f"{name}.policy"), "-m", name)[0] == 0
    assert cli(db, "activate", "central@1", "east@2", "west@3", "maven@4")[0] == 0
    f = tmp_path / "crm.map.toml"
    f.write_text(MAPPING.replace('column = "Product"', 'column = "Item"'), encoding="utf-8")  # a column the CRM does not send
    admin, read = make_token(db, "admin"), make_token(db, "read")
    with ThreadServer(db, clock=Clock(), sla_interval=3600, sources=Sources({"crm": str(f)})) as srv, srv.client(admin) as c:
        under = c.post("/v1/teams/central/intake/crm", json=payload(1, "East"))  # the door would send an East lead to east
        door = c.post("/v1/intake/crm", json=payload(2, "East"))
        assert (under.status_code, door.status_code) == (422, 422), (under.text, door.text)
        kept = {x["id"]: x["team"] for x in c.get("/v1/refused").json()["refused"]}
        assert kept == {under.json()["refused_id"]: "central", door.json()["refused_id"]: None}
        page = c.get("/dashboard", params={"token": read}, follow_redirects=True)
        assert page.status_code == 200, page.text
        dashboard = page.text
        assert f'<td class="num">{under.json()["refused_id"]}</td>' in dashboard and "<th>team</th>" in dashboard
        assert "<td>central</td>" in dashboard
        f.write_text(MAPPING, encoding="utf-8")  # the mapping fixed
        os.utime(f, (f.stat().st_mtime + 5, f.stat().st_mtime + 5))
        again = c.post(f"/v1/refused/{under.json()['refused_id']}/resubmit")
        assert again.status_code == 201, again.text
        assert again.json()["team"] == "central" and "door" not in again.json()  # decided where it was sent, without the door
        through = c.post(f"/v1/refused/{door.json()['refused_id']}/resubmit")
        assert through.status_code == 201, through.text
        assert through.json()["team"] == "east" and through.json()["door"]["team"] == "east"  # sent through the door: the door again
        done = c.get("/v1/refused", params={"status": "resubmitted"}).json()["refused"]
        assert sorted((x["lead_id"], x["team"]) for x in done) == [("M-1", "central"), ("M-2", None)]
