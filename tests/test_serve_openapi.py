"""The served OpenAPI document: made from the route table, valid, and the lead schema from the active policy."""

from __future__ import annotations

import jsonschema
import pytest
from openapi_spec_validator import validate

from policyd.web import openapi
from policyd.web.routes import ENDPOINTS

from .serve_support import HIGH, ThreadServer, lead, make_token, publish


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    db = tmp_path_factory.mktemp("openapi") / "policyd.db"
    publish(db)
    tok = make_token(db, "read")
    with ThreadServer(db) as srv, srv.client(tok) as c:
        r = c.get("/v1/openapi.json")
        yield r.json(), srv.runtime.policy.compiled


def test_the_served_document_is_valid_openapi(served):
    doc, _ = served
    validate(doc)  # raises on any error
    assert doc["openapi"] == "3.1.0"


def test_it_is_generated_from_the_route_table(served):
    doc, compiled = served
    assert doc == openapi.document(ENDPOINTS, compiled)
    ops = {(path, method): op for path, item in doc["paths"].items() for method, op in item.items()}
    table = {(ep.path, ep.method.lower()): ep for ep in ENDPOINTS if ep.documented}
    assert set(ops) == set(table)
    assert {k: op["operationId"] for k, op in ops.items()} == {k: ep.operation_id for k, ep in table.items()}


def test_every_operation_says_what_it_answers_and_how_it_fails(served):
    doc, _ = served
    ops = {(p, m): op for p, item in doc["paths"].items() for m, op in item.items()}
    for (path, _method), op in ops.items():
        if op.get("security") != []:
            assert {"401", "403"} <= set(op["responses"]), path
        if "requestBody" in op:
            assert {"400", "413"} <= set(op["responses"]), path
    error = {"$ref": "#/components/schemas/Error"}
    assign = ops[("/v1/assign", "post")]["responses"]
    assert assign["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Decision"}
    assert {s: assign[s]["content"]["application/json"]["schema"] for s in ("400", "422", "503")} == dict.fromkeys(
        ("400", "422", "503"), error
    )
    override = ops[("/v1/decisions/{lead_id}/override", "post")]["responses"]
    assert {"404", "409", "422"} <= set(override)
    decision = ops[("/v1/decisions/{lead_id}", "get")]
    assert [p["name"] for p in decision["parameters"]] == ["lead_id", "format", "why_not"]
    assert decision["parameters"][1]["schema"]["enum"] == ["json", "text", "md", "html"]
    assert ops[("/v1/health", "get")]["security"] == []


def test_the_assign_body_is_the_policy_lead_block(served):
    doc, compiled = served
    schema = doc["components"]["schemas"]["Lead"]
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["id", "company", "employees", "budget", "authority", "industry", "segment", "country"]
    assert props["employees"]["type"] == "integer"
    assert props["budget"]["enum"] == ["stated", "considering", "unknown"]
    assert props["timing_months"]["type"] == ["integer", "null"]  # `int?`: may be missing, null means missing
    assert (props["motion"]["default"], props["language"]["default"]) == ("new_business", "en")
    assert props["account_owner"]["enum"] == [*compiled.rep_names, None]
    # the schema accepts what the daemon accepts and refuses what it refuses
    check = jsonschema.Draft202012Validator(schema)
    assert list(check.iter_errors(lead(1, **HIGH))) == []
    assert list(check.iter_errors(lead(2, account_owner="quinn", timing_months=None))) == []
    wrong = {e.path[0] if e.path else e.validator for e in check.iter_errors(lead(3, employees="many", budget="huge", colour="red"))}
    assert wrong == {"employees", "budget", "additionalProperties"}
    missing = dict(lead(4))
    del missing["country"]
    assert [e.validator for e in check.iter_errors(missing)] == ["required"]


def test_without_an_active_version_the_lead_is_any_object(tmp_path):
    db = tmp_path / "none.db"
    publish(db, activate=False)
    tok = make_token(db, "read")
    with ThreadServer(db) as srv, srv.client(tok) as c:
        doc = c.get("/v1/openapi.json").json()
    validate(doc)
    assert doc["components"]["schemas"]["Lead"]["type"] == "object" and "properties" not in doc["components"]["schemas"]["Lead"]
