"""docs/integrations.md: each step-by-step sends exactly the payload the page shows, to a real daemon, and gets its answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import subprocess

import pytest

from policyd.daemon.intake import Sources

from .serve_support import ROOT, Clock, ProcessServer, ThreadServer, make_token, publish

DOC = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
MAPS = ROOT / "policies" / "intake"
ENV = {"HUBSPOT_CLIENT_SECRET": "doc-secret"}


def block(tag: str) -> str:
    """The fenced block whose info string ends with `tag`, dedented as the page shows it."""
    m = re.search(r"^( *)```\w+ " + re.escape(tag) + r"\n(.*?)^\1```", DOC, re.S | re.M)
    assert m, tag
    indent = len(m.group(1))
    return "".join(line[indent:] + "\n" for line in m.group(2).splitlines())


@pytest.fixture
def srv(tmp_path):
    db = tmp_path / "policyd.db"
    publish(db)
    sources = Sources({"hubspot": str(MAPS / "hubspot.map.toml"), "salesforce": str(MAPS / "salesforce.map.toml")}, env=ENV)
    with ThreadServer(db, clock=Clock(), sources=sources, seed_fn=lambda now: "docs") as s:
        s.db = db
        yield s


def test_the_hubspot_step_by_step(srv):
    body = block("hubspot-payload").encode()
    ts = str(int(srv.app.state.daemon.clock() * 1000))
    uri = f"{srv.url}/v1/intake/hubspot"
    sig = base64.b64encode(hmac.new(b"doc-secret", b"POST" + uri.encode() + body + ts.encode(), hashlib.sha256).digest()).decode()
    with srv.client(None) as c:
        r = c.post(
            "/v1/intake/hubspot",
            content=body,
            headers={"X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": ts, "Content-Type": "application/json"},
        )
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["lead_id"], out["tier"], out["source"]) == ("512", "high", "hubspot")
    owners = srv.app.state.daemon.sources.by_name["hubspot"].owners
    assert out["owner_ids"] == owners.get(out["rep"], {})
    assert "authority: 'DECISION_MAKER' read as 'decision_maker'" in out["mapping_notes"]
    assert f'"owner_ids": {{"hubspot_owner_id": "{owners["alice"]["hubspot_owner_id"]}"}}' in DOC  # the page's example is alice's id


def test_the_salesforce_step_by_step(srv):
    body = block("salesforce-payload").encode()
    with srv.client(make_token(srv.db, "assign", "salesforce")) as c:
        first = c.post("/v1/intake/salesforce", content=body, headers={"Content-Type": "application/json"})
        again = c.post("/v1/intake/salesforce", content=body, headers={"Content-Type": "application/json"})
        changed = json.loads(body) | {"NumberOfEmployees": 4000}
        conflict = c.post("/v1/intake/salesforce", json=changed)
    assert first.status_code == 201, first.text
    assert (first.json()["lead_id"], first.json()["tier"]) == ("00Q5g00000AbCdEEAV", "medium")
    owners = srv.app.state.daemon.sources.by_name["salesforce"].owners
    assert first.json()["owner_ids"] == owners.get(first.json()["rep"], {})
    assert (again.status_code, again.json()["replayed"]) == (200, True)
    assert conflict.status_code == 409 and [d["field"] for d in conflict.json()["differences"]] == ["employees", "segment"]


def test_the_web_form_step_by_step_runs_as_written(tmp_path, monkeypatch):
    db = tmp_path / "policyd.db"
    publish(db)
    owners = tmp_path / "owners.toml"
    reps = re.findall(r"^  rep (\w+)", (ROOT / "policies" / "inbound.policy").read_text(), re.M)
    owners.write_text("[owners]\n" + "".join(f'{r} = {{ crm_user_id = "U-{r}" }}\n' for r in reps))
    monkeypatch.setenv("WEBFORM_SECRET", "form-secret")
    with ProcessServer(db, "--map", f"webform={MAPS / 'webform.map.toml'}", "--owners", str(owners)) as srv:
        env = {"WEBFORM_SECRET": "form-secret", "POLICYD_URL": srv.url, "PATH": "/usr/bin:/bin"}
        res = subprocess.run(["bash", "-c", block("webform-call")], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert (out["lead_id"], out["tier"], out["source"]) == ("F-1001", "medium", "webform")
    assert out["rep"] in reps and out["owner_ids"] == {"crm_user_id": f"U-{out['rep']}"}
