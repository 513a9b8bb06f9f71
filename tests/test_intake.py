"""Mapped intake: HubSpot- and Salesforce-shaped payloads through their mapping files, decided by a real daemon.

The payloads follow the vendors' documented shapes: a HubSpot CRM v3 object (`id`,
nested `properties`, every value a string, `createdAt`, `archived`) and a Salesforce
REST sObject (`attributes`, API field names, typed values).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path

import pytest

from policyd.daemon.intake import Sources, load_source
from policyd.replay.records import MappingError, RowError

from .serve_support import ROOT, Clock, ThreadServer, db_rows, make_token, publish

MAPS = ROOT / "policies" / "intake"
SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
ENV = {"HUBSPOT_CLIENT_SECRET": SECRET, "WEBFORM_SECRET": "form-secret"}


def hubspot_contact(object_id: str = "512", **props: str) -> dict:
    base = {
        "company": "Globex",
        "createdate": "2026-11-30T09:12:44.120Z",
        "email": "kim@globex.example",
        "firstname": "Kim",
        "hs_buying_role": "DECISION_MAKER",
        "hs_object_id": object_id,
        "industry": "FINANCIAL_SERVICES",
        "lastmodifieddate": "2026-11-30T09:15:02.881Z",
        "numberofemployees": "1500",
        "budget_status": "Stated",
        "timing_months": "2",
        "country": "JP",
    }
    base.update(props)
    return {
        "id": object_id,
        "properties": base,
        "createdAt": "2026-11-30T09:12:44.120Z",
        "updatedAt": "2026-11-30T09:15:02.881Z",
        "archived": False,
    }


def salesforce_lead(lead_id: str = "00Q5g00000AbCdEEAV", **fields) -> dict:
    out = {
        "attributes": {"type": "Lead", "url": f"/services/data/v60.0/sobjects/Lead/{lead_id}"},
        "Id": lead_id,
        "Company": "Initech",
        "NumberOfEmployees": 250,
        "Industry": "Technology",
        "Country": "US",
        "LeadSource": "Web",
        "Budget__c": "Considering",
        "Authority__c": "Influencer",
        "Timing_Months__c": None,
        "OwnerId": "0055g00000QueueAAA",
    }
    out.update(fields)
    return out


def hubspot_sign(method: str, uri: str, body: bytes, timestamp_ms: int) -> dict[str, str]:
    """The published v3 algorithm, written out here apart from policyd's: base64(HMAC-SHA256(secret, method+uri+body+ts))."""
    message = f"{method}{uri}".encode() + body + str(timestamp_ms).encode()
    sig = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    return {"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": str(timestamp_ms), "Content-Type": "application/json"}


def test_the_hubspot_mapping_reads_nested_string_properties(inbound):
    src = load_source("hubspot", str(MAPS / "hubspot.map.toml"), ENV)
    lead, notes = src.map(hubspot_contact(), inbound.compiled.schema)
    assert lead == {
        "id": "512",
        "company": "Globex",
        "employees": 1500,
        "segment": "enterprise",
        "budget": "stated",
        "authority": "decision_maker",
        "timing_months": 2,
        "industry": "finance",
        "country": "JP",
    }
    assert "authority: 'DECISION_MAKER' read as 'decision_maker'" in notes
    # an empty HubSpot property is a missing value: the default applies, or the optional field stays out
    lead, _ = src.map(hubspot_contact(timing_months="", numberofemployees=""), inbound.compiled.schema)
    assert "timing_months" not in lead and (lead["employees"], lead["segment"]) == (0, "smb")


def test_a_payload_the_mapping_cannot_read_names_its_field(inbound):
    src = load_source("hubspot", str(MAPS / "hubspot.map.toml"), ENV)
    with pytest.raises(RowError) as err:
        src.map(hubspot_contact(numberofemployees="about 40"), inbound.compiled.schema)
    assert (err.value.field, err.value.reason) == ("employees", '"about 40" from properties.numberofemployees is not a whole number')
    payload = hubspot_contact()
    del payload["properties"]["hs_object_id"]
    with pytest.raises(RowError, match="no lead id in the payload") as err:
        src.map(payload, inbound.compiled.schema)
    assert err.value.field == "properties.hs_object_id"


def test_the_salesforce_mapping_reads_an_sobject(inbound):
    src = load_source("salesforce", str(MAPS / "salesforce.map.toml"), ENV)
    lead, _ = src.map(salesforce_lead(), inbound.compiled.schema)
    assert lead == {
        "id": "00Q5g00000AbCdEEAV",
        "company": "Initech",
        "employees": 250,
        "segment": "smb",
        "budget": "considering",
        "authority": "influencer",
        "industry": "it",
        "country": "US",
    }


def test_a_strict_source_refuses_a_field_nobody_mapped(inbound):
    src = load_source("webform", str(MAPS / "webform.map.toml"), ENV)
    form = {"submission_id": "F-1", "company": "Acme", "employees": "40", "role": "owner", "country": "DE", "consent": "yes"}
    lead, _ = src.map(form, inbound.compiled.schema)
    assert lead["authority"] == "decision_maker" and lead["employees"] == 40
    with pytest.raises(RowError) as err:
        src.map({**form, "phone": "+49 30 1234"}, inbound.compiled.schema)
    assert (err.value.field, err.value.reason) == ("phone", "not mapped and not in [intake] ignore (strict = true)")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[intake]\nsignature = "md5"\n[history]\nid = "id"', "intake.signature: expected one of hubspot-v3, hmac-sha256"),
        ('[intake]\nsignature = "hubspot-v3"\n', "intake.secret_env: missing"),
        ('[intake]\nsignature = "hubspot-v3"\nsecret_env = "NOPE_UNSET"\n', "the environment variable NOPE_UNSET is not set"),
        ("[intake]\nretries = 3\n", "intake.retries: unknown key"),
        ('[fields.company]\ncolumn = "a"\npath = "b.c"\n', "fields.company: expected a column or a path, not both"),
        ('[owners]\nalice = "1"\n', "owners.alice: expected"),
    ],
)
def test_a_bad_intake_mapping_names_the_file_and_key(tmp_path: Path, text: str, message: str):
    f = tmp_path / "bad.map.toml"
    f.write_text(text)
    with pytest.raises(MappingError) as err:
        load_source("x", str(f), {})
    assert str(err.value).startswith(f"{f}: ") and message in str(err.value)


@pytest.fixture
def daemon(tmp_path):
    db = tmp_path / "policyd.db"
    publish(db)
    clock = Clock()
    maps = {}
    for name in ("hubspot", "salesforce"):  # copies: a test may fix one, as an admin would
        maps[name] = tmp_path / f"{name}.map.toml"
        maps[name].write_text((MAPS / f"{name}.map.toml").read_text())
    sources = Sources({k: str(v) for k, v in maps.items()}, env=ENV)
    with ThreadServer(db, clock=clock, sources=sources, seed_fn=lambda now: "intake-tests") as srv:
        srv.clock, srv.db, srv.maps = clock, db, maps
        srv.tokens = {role: make_token(db, role) for role in ("read", "assign", "admin")}
        yield srv


def post_hubspot(srv, payload: dict, *, at_ms: int | None = None, uri: str | None = None, body: bytes | None = None):
    body = json.dumps(payload).encode() if body is None else body
    ts = int(srv.clock() * 1000) if at_ms is None else at_ms
    headers = hubspot_sign("POST", uri or f"{srv.url}/v1/intake/hubspot", body, ts)
    with srv.client(None) as c:
        return c.post("/v1/intake/hubspot", content=body, headers=headers)


def test_a_signed_hubspot_webhook_gets_a_decision_with_the_owner_id(daemon):
    r = post_hubspot(daemon, hubspot_contact())
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["lead_id"], out["tier"], out["source"], out["replayed"]) == ("512", "high", "hubspot", False)
    owners = {"alice": "75298514", "carol": "75298515", "farah": "75298519", "jun": "75298523", "uma": "75298534"}
    assert out["owner_ids"] == ({"hubspot_owner_id": owners[out["rep"]]} if out["rep"] in owners else {})
    # HubSpot retries with the same body (and a fresh signature): the same decision, 200
    daemon.clock.advance(30)
    again = post_hubspot(daemon, hubspot_contact(lastmodifieddate="2026-11-30T09:16:00.000Z"))
    assert again.status_code == 200 and again.json()["replayed"] is True and again.json()["rep"] == out["rep"]


def test_a_bad_signature_and_an_old_timestamp_are_refused_and_kept(daemon):
    payload = hubspot_contact("600")
    body = json.dumps(payload).encode()
    forged = post_hubspot(daemon, payload, uri="https://elsewhere.example/v1/intake/hubspot")
    old = post_hubspot(daemon, payload, at_ms=int((daemon.clock() - 301) * 1000))
    assert (forged.status_code, forged.json()["error"]) == (401, "bad_signature")
    assert "does not match the request" in forged.json()["message"]
    assert (old.status_code, old.json()["error"]) == (401, "bad_signature")
    assert "timestamp is 301 s old; signatures are good for 300 s" in old.json()["message"]
    assert db_rows(daemon.db, "select count(*) from rt_decisions") == [(0,)]
    kept = db_rows(daemon.db, "select id, source, kind, body from intake_refused order by id")
    assert [(k[1], k[2], k[3]) for k in kept] == [("hubspot", "signature", body.decode())] * 2
    assert forged.json()["refused_id"] == kept[0][0]


def test_a_payload_the_mapping_refuses_is_kept_and_resubmitted_after_the_fix(daemon):
    bad = hubspot_contact("700", numberofemployees="about 40")
    r = post_hubspot(daemon, bad)
    assert r.status_code == 422 and r.json()["error"] == "unmapped"
    assert r.json()["fields"] == [{"field": "employees", "message": '"about 40" from properties.numberofemployees is not a whole number'}]
    rid = r.json()["refused_id"]
    with daemon.client(daemon.tokens["read"]) as c:
        listed = c.get("/v1/refused").json()
        page = c.get("/dashboard").text
    assert [(x["id"], x["kind"], x["lead_id"]) for x in listed["refused"]] == [(rid, "mapping", None)]
    assert listed["waiting"] == {"mapping": 1}
    assert "Refused requests" in page and "not a whole number" in page
    with daemon.client(daemon.tokens["admin"]) as c:
        still = c.post(f"/v1/refused/{rid}/resubmit")
        assert still.status_code == 422 and "stays refused" in still.json()["message"]
        # the admin fixes the mapping: a value map for the words HubSpot let through
        f = daemon.maps["hubspot"]
        f.write_text(
            f.read_text().replace(
                'path = "properties.numberofemployees"', 'path = "properties.numberofemployees"\nvalues = { "about 40" = "40" }'
            )
        )
        os.utime(f, (f.stat().st_mtime + 5, f.stat().st_mtime + 5))  # the daemon reads a file again when it changes
        done = c.post(f"/v1/refused/{rid}/resubmit")
        assert done.status_code == 201, done.text
        assert (done.json()["lead_id"], done.json()["source"]) == ("700", "hubspot")
        twice = c.post(f"/v1/refused/{rid}/resubmit")
    assert twice.status_code == 409
    assert db_rows(daemon.db, "select status, lead_id, resolved_by from intake_refused where id = ?", (rid,)) == [
        ("resubmitted", "700", "admin-client")
    ]


def test_a_salesforce_lead_through_its_mapping_needs_a_bearer_token(daemon):
    with daemon.client(None) as c:
        assert c.post("/v1/intake/salesforce", json=salesforce_lead()).status_code == 401
    with daemon.client(daemon.tokens["assign"]) as c:
        r = c.post("/v1/intake/salesforce", json=salesforce_lead())
        unknown = c.post("/v1/intake/zoho", json={})
    assert r.status_code == 201, r.text
    assert (r.json()["lead_id"], r.json()["tier"]) == ("00Q5g00000AbCdEEAV", "medium")
    assert unknown.status_code == 404 and "--map zoho=FILE" in unknown.json()["message"]


def test_an_owners_file_gives_every_answer_the_reps_crm_ids(tmp_path):
    from policyd.daemon.intake import load_owners

    db = tmp_path / "policyd.db"
    publish(db)
    f = tmp_path / "owners.toml"
    f.write_text('[quinn]\nhubspot_owner_id = "900"\nsalesforce_owner_id = "005Q"\n[uma]\nhubspot_owner_id = 901\n')
    owners = load_owners(str(f))
    assert owners == {"quinn": {"hubspot_owner_id": "900", "salesforce_owner_id": "005Q"}, "uma": {"hubspot_owner_id": "901"}}
    with ThreadServer(db, sources=Sources(owners=owners), seed_fn=lambda now: "owners") as srv:
        with srv.client(make_token(db, "admin")) as c:
            r = c.post("/v1/assign", json={**json.loads((ROOT / "policies/leads/globex.json").read_text()), "id": "OW-1"})
            rep = r.json()["rep"]
            assert r.json()["owner_ids"] == owners.get(rep, {})
            moved = c.post("/v1/decisions/OW-1/override", json={"rep": "quinn", "reason": "test"})
            again = c.post("/v1/assign", json={**json.loads((ROOT / "policies/leads/globex.json").read_text()), "id": "OW-1"})
    assert moved.status_code == 200
    assert again.json()["owner_ids"] == {"hubspot_owner_id": "900", "salesforce_owner_id": "005Q"}  # where the lead is now


def test_one_mapping_module_serves_replay_too_with_nested_paths(tmp_path, inbound):
    from policyd.replay.history import History
    from policyd.replay.mapping import load_mapping

    leads = tmp_path / "contacts.jsonl"
    rows = [
        hubspot_contact("1", createdate="2026-11-30T09:00:00Z"),
        hubspot_contact("2", numberofemployees="12", createdate="2026-11-30T10:00:00Z"),
    ]
    leads.write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = (MAPS / "hubspot.map.toml").read_text()
    text = text.split("[intake]")[0] + text.split("[history]", 1)[1].replace(
        'id = "properties.hs_object_id"', 'id = "id"\narrival = "createdAt"', 1
    )
    text = "[history]" + text.split("[owners]")[0]
    (tmp_path / "replay.map.toml").write_text(text)
    history = History(leads, load_mapping(tmp_path / "replay.map.toml"), inbound.compiled.schema)
    got = [(r.lead_id, r.lead["employees"], r.lead["segment"], r.lead["industry"]) for r in history]
    assert got == [("1", 1500, "enterprise", "finance"), ("2", 12, "smb", "finance")]


def test_a_public_url_is_what_hubspot_signs_behind_a_proxy(tmp_path):
    db = tmp_path / "policyd.db"
    publish(db)
    f = tmp_path / "hubspot.map.toml"
    f.write_text((MAPS / "hubspot.map.toml").read_text().replace("[intake]\n", '[intake]\npublic_url = "https://leads.example.com"\n', 1))
    clock = Clock()
    with ThreadServer(db, clock=clock, sources=Sources({"hubspot": str(f)}, env=ENV), seed_fn=lambda now: "proxy") as srv:
        srv.clock = clock
        ok = post_hubspot(srv, hubspot_contact("800"), uri="https://leads.example.com/v1/intake/hubspot")
        local = post_hubspot(srv, hubspot_contact("801"))  # signed for the address the proxy hides
        bad_json = post_hubspot(srv, {}, body=b"{not json", uri="https://leads.example.com/v1/intake/hubspot")
        with srv.client(make_token(db, "read")) as c:
            kinds = [x["kind"] for x in c.get("/v1/refused").json()["refused"]]
    assert (ok.status_code, local.status_code, bad_json.status_code) == (201, 401, 400)
    assert bad_json.json()["error"] == "bad_json" and kinds == ["json", "signature"]


def test_serve_refuses_a_mapping_it_cannot_use_before_listening(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.map.toml"
    bad.write_text("[fields.employees]\nthresholds = 3\ncolumn = 'x'\n")
    for arg, message in (
        (str(bad), f"{bad}: fields.employees.thresholds: expected a list of [number, value] pairs"),
        (f"a b={bad}", "expected FILE or NAME=FILE"),
        (str(tmp_path / "nope.toml"), "cannot read the mapping file"),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "policyd", "serve", "--db", str(tmp_path / "p.db"), "--map", arg],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert r.returncode != 0 and message in r.stderr, (arg, r.stderr)


def test_the_dashboard_lists_refused_requests_in_a_real_browser(daemon, tmp_path):
    from .browser import open_page

    r = post_hubspot(daemon, hubspot_contact("900", numberofemployees="<b>many</b>"))
    assert r.status_code == 422
    with open_page(f"{daemon.url}/dashboard?token={daemon.tokens['read']}", screenshot=tmp_path / "refused.png") as visit:
        page = visit.page
        assert visit.errors == []
        body = page.inner_text("body")
        assert "Refused requests" in body and "1 refused request waiting: 1 mapping." in body
        row = page.locator("tr", has_text="hubspot").first.inner_text()
        assert "mapping" in row and '"<b>many</b>" from properties.numberofemployees is not a whole number' in row  # text, not markup
        assert page.locator("b", has_text="many").count() == 0


def test_after_a_fix_every_waiting_request_of_a_source_is_decided_at_once(daemon):
    for i, words in enumerate(("about 40", "about 40", "lots")):
        assert post_hubspot(daemon, hubspot_contact(f"95{i}", numberofemployees=words)).status_code == 422
    f = daemon.maps["hubspot"]
    f.write_text(
        f.read_text().replace(
            'path = "properties.numberofemployees"', 'path = "properties.numberofemployees"\nvalues = { "about 40" = "40" }'
        )
    )
    os.utime(f, (f.stat().st_mtime + 5, f.stat().st_mtime + 5))
    with daemon.client(daemon.tokens["admin"]) as c:
        out = c.post("/v1/refused/resubmit?source=hubspot").json()
        none = c.post("/v1/refused/resubmit?source=salesforce").json()
    assert [x["lead_id"] for x in out["decided"]] == ["950", "951"]  # oldest first
    assert [(x["kind"], x["reasons"][0]["field"]) for x in out["refused"]] == [("mapping", "employees")]
    assert out["waiting"] == {"mapping": 1} and none["decided"] == none["refused"] == []
