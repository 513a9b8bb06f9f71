"""The OpenAPI 3.0 document for Salesforce External Services: valid 3.0, in the subset it imports, one operation per source."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from policyd.daemon.intake import Sources

from .serve_support import ROOT, ThreadServer, make_token, publish

MAPS = ROOT / "policies" / "intake"


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    db = tmp_path_factory.mktemp("oas30") / "policyd.db"
    publish(db)
    env = {"HUBSPOT_CLIENT_SECRET": "s"}
    sources = Sources({"hubspot": str(MAPS / "hubspot.map.toml"), "salesforce": str(MAPS / "salesforce.map.toml")}, env=env)
    with ThreadServer(db, sources=sources) as srv, srv.client(make_token(db, "read")) as c:
        r = c.get("/v1/openapi-3.0.json")
        assert r.status_code == 200
        yield r.json()


def walk(node, path=""):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}/{i}")


def test_it_is_valid_openapi_3_0(doc):
    validate(doc)
    assert doc["openapi"] == "3.0.3"


def test_it_keeps_to_what_external_services_import(doc):
    for where, node in walk(doc):
        assert not ({"oneOf", "anyOf", "allOf"} & set(node)), where
        if "type" in node and not where.endswith("/properties"):
            assert isinstance(node["type"], str), where
        if "enum" in node and not where.endswith("/properties"):
            assert "type" in node and None not in node["enum"], where
    media = {m for _, n in walk(doc) if "content" in n and isinstance(n["content"], dict) for m in n["content"]}
    assert media == {"application/json"}


def test_each_source_is_an_operation_with_the_shape_its_mapping_reads(doc):
    ops = {op["operationId"]: (p, op) for p, item in doc["paths"].items() for op in item.values()}
    assert {"assignLead", "getDecision", "closeLead", "intake_hubspot", "intake_salesforce"} <= set(ops)
    assert "getOpenapi" not in ops and "dashboardPage" not in ops
    path, sf = ops["intake_salesforce"]
    assert path == "/v1/intake/salesforce" and "security" not in sf  # a bearer token, as the document's default
    body = doc["components"]["schemas"]["Payload_salesforce"]["properties"]
    assert body["NumberOfEmployees"]["type"] == "integer" and body["Industry"]["type"] == "string" and body["Id"]["type"] == "string"
    assert body["Timing_Months__c"]["type"] == "integer"
    hub = doc["components"]["schemas"]["Payload_hubspot"]["properties"]["properties"]["properties"]
    assert {"numberofemployees", "hs_object_id", "industry", "company"} <= set(hub)
    assert ops["intake_hubspot"][1]["security"] == []  # signed by HubSpot instead
    decision = doc["components"]["schemas"]["Decision"]["properties"]
    assert decision["rep"] == {"type": "string", "nullable": True, "description": "who holds the lead now"}


def test_every_reference_resolves_and_each_source_has_its_team_form(doc):
    refs = {n["$ref"] for _, n in walk(doc) if isinstance(n.get("$ref"), str)}
    missing = [r for r in refs if r.removeprefix("#/components/schemas/") not in doc["components"]["schemas"]]
    assert missing == []
    ops = {op["operationId"]: (p, op) for p, item in doc["paths"].items() for op in item.values()}
    path, sf = ops["intake_salesforce_for_team"]
    assert path == "/v1/teams/{team}/intake/salesforce"
    assert [p["name"] for p in sf["parameters"] if p["in"] == "path"] == ["team"]
    assert sf["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Payload_salesforce"}
    assert "/v1/teams/{team}/intake/{source}" not in doc["paths"] and "/v1/intake/{source}" not in doc["paths"]
