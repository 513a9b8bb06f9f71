"""Every command's `--format json` validates against its published schema (docs/schemas), on real output:
a real store, seeds, a meeting, an audit log written by a real daemon, and the API's own answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from policyd.cli.main import main

from .conftest import POLICIES, ROOT
from .serve_support import HIGH, ThreadServer, lead, make_token, publish

SCHEMAS = ROOT / "docs" / "schemas"
REGISTRY = Registry().with_resources(
    (p.name, Resource.from_contents(json.loads(p.read_text(encoding="utf-8")))) for p in SCHEMAS.glob("*.schema.json")
)
PERIOD = "2026-W48"
REPLAY = ROOT / "tests" / "data" / "replay"


def validate(name: str, data) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    errors = sorted(Draft202012Validator(schema, registry=REGISTRY).iter_errors(data), key=str)
    assert errors == [], "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def cli(db: Path, *args: str, code: int = 0, input: str | None = None):
    r = CliRunner().invoke(main, list(args), env={"POLICYD_DB": str(db)}, input=input)
    assert r.exit_code == code, r.output
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """A store with two versions (one active), a committed seed and a meeting record."""
    db = tmp_path_factory.mktemp("schemas") / "policyd.db"
    runner = CliRunner()
    for policy in ("inbound.policy", "emea.policy"):
        assert (
            runner.invoke(main, ["publish", str(POLICIES / policy), "-m", f"publish {policy}"], env={"POLICYD_DB": str(db)}).exit_code == 0
        )
    assert runner.invoke(main, ["activate", "@1"], env={"POLICYD_DB": str(db)}).exit_code == 0
    from policyd.lottery import seeds

    seeds.commit(str(db), PERIOD, now=seeds.period_start(PERIOD) - 3600)  # before the week (`seed commit` refuses one begun)
    return db


def test_check_reports_validate_including_a_missing_file_and_an_accepted_finding(db, tmp_path):
    report = cli(db, "check", str(POLICIES / "inbound.policy"), "--format", "json")
    assert [d["severity"] for d in report] == ["note"]  # the reference policy's one note
    validate("check-report", report)
    missing = cli(db, "check", str(tmp_path / "nope.policy"), "--format", "json", code=1)
    assert [(d["code"], d["severity"]) for d in missing] == [("P006", "error")]
    validate("check-report", missing)
    text = (POLICIES / "emea.policy").read_text(encoding="utf-8").replace("then veteran", "then veteran  # policyd: accept N003 hiring one")
    accepted = cli(
        db,
        "check",
        "-",
        "--stdin-filename",
        str(POLICIES / "x.policy"),
        "--format",
        "json",
        "--strict",
        input=text.replace("veteran  #", "veteren  #"),
    )
    assert [(d["code"], d.get("accepted")) for d in accepted] == [("N003", "hiring one")]
    validate("check-report", accepted)


def test_decisions_from_the_cli_and_the_api_share_one_schema(db, tmp_path):
    doc = cli(
        db,
        "assign",
        str(POLICIES / "inbound.policy"),
        "--lead",
        str(POLICIES / "leads" / "globex.json"),
        "--format",
        "json",
        "--why-not",
        "kofi",
    )
    validate("decision", doc)
    assert doc["decision"]["tier"] == "high" and isinstance(doc["decision"]["decided"]["total"], int)
    assert doc["explanation"]["scores"][0]["values"][0] == {"field": "employees", "value": 1500, "text": "1500"}
    api_db = tmp_path / "api.db"
    publish(api_db)
    tok = make_token(api_db, "assign")
    with ThreadServer(api_db) as srv, srv.client(tok) as c:
        made = c.post("/v1/assign", json=lead("S-1", **HIGH))
        assert made.status_code == 201, made.text
        got = c.get(f"/v1/decisions/{made.json()['lead_id']}", params={"format": "json"}).json()
    validate("decision", {"decision": made.json(), "explanation": got["explanation"]})
    validate("decision", got)
    assert set(made.json()) >= set(doc["decision"])  # the API's decision has every key the CLI's has, same meaning
    assert made.json()["tier"] == got["decision"]["tier"] == "high"


def test_test_reports_validate(db):
    report = cli(db, "test", str(POLICIES / "inbound.policy"), str(POLICIES / "emea.policy"), "-k", "enterprise", "--format", "json")
    assert report["passed"] == 3 and report["failed"] == 0
    validate("test-report", report)


def test_store_commands_validate(db):
    versions = cli(db, "versions", "--format", "json")
    # two policies in one store: each ref names its policy (numbers stay global)
    assert [(v["ref"], v["policy"], v["active"]) for v in versions] == [("emea@2", "emea", False), ("inbound_b2b@1", "inbound_b2b", True)]
    validate("versions", versions)
    validate("versions", cli(db, "versions", "--activations", "--format", "json"))
    shown = cli(db, "show", "@2", "--format", "json")
    assert shown["version"]["number"] == 2 and set(shown["files"]) == {"emea.policy", "emea-team.policy"}
    validate("show", shown)
    validate("show", cli(db, "show", str(POLICIES / "inbound.policy"), "--format", "json"))


def test_lottery_commands_validate(db, tmp_path):
    seeds = cli(db, "seed", "list", "--format", "json")
    assert [(s["period"], s["seed"]) for s in seeds] == [(PERIOD, None)]
    validate("seeds", seeds)
    out = tmp_path / "out"
    week = str(POLICIES / "leads" / "week-2026-W48.csv")
    meeting = cli(
        db, "distribute", str(POLICIES / "inbound.policy"), "--leads", week, "--period", PERIOD, "--out", str(out), "--format", "json"
    )
    validate("distribute", meeting)
    assert Path(meeting["json"]).exists()
    assert CliRunner().invoke(main, ["seed", "reveal", "--period", PERIOD], env={"POLICYD_DB": str(db)}).exit_code == 0
    verified = cli(db, "lottery", "verify", meeting["json"], "--format", "json")
    assert verified["ok"] and verified["kind"] == "record" and verified["draws"] > 0
    validate("lottery-verify", verified)
    validate("seeds", cli(db, "seed", "list", "--format", "json"))


def test_daemon_commands_validate(tmp_path):
    api_db = tmp_path / "d.db"
    publish(api_db)
    tok = make_token(api_db, "assign")
    with ThreadServer(api_db) as srv, srv.client(tok) as c:
        assert c.post("/v1/assign", json=lead("A-1")).status_code == 201
    tokens = cli(api_db, "token", "list", "--format", "json")
    assert [t["role"] for t in tokens] == ["assign"]
    validate("tokens", tokens)
    audit = cli(api_db, "audit", "verify", "--format", "json")
    assert audit["ok"] and audit["records"] >= 1 and audit["decisions"] == 1
    validate("audit-verify", audit)


def test_diff_and_replay_summaries_validate(db):
    diff = cli(db, "diff", str(REPLAY / "tiny.policy"), str(REPLAY / "tiny-v2.policy"), "--format", "json")
    validate("diff", diff)
    args = ["--leads", str(REPLAY / "tiny.csv"), "--map", str(REPLAY / "tiny.map.toml"), "--format", "json"]
    replay = cli(db, "replay", str(REPLAY / "tiny.policy"), *args)
    assert replay["kind"] == "replay" and isinstance(replay["runs"][0]["leads"], int)
    validate("replay-summary", replay)
    review = cli(db, "review", str(REPLAY / "tiny.policy"), str(REPLAY / "tiny-v2.policy"), *args)
    assert review["kind"] == "review" and len(review["runs"]) == 2
    validate("replay-summary", review)


def test_the_schemas_refuse_the_old_shapes():
    """Not vacuous: the explanation alone (the old CLI shape, a tier object) and text numbers are refused."""
    doc = cli(
        ROOT / "none.db", "assign", str(POLICIES / "inbound.policy"), "--lead", str(POLICIES / "leads" / "globex.json"), "--format", "json"
    )
    schema = json.loads((SCHEMAS / "decision.schema.json").read_text(encoding="utf-8"))
    v = Draft202012Validator(schema, registry=REGISTRY)
    assert not v.is_valid(doc["explanation"])
    assert not v.is_valid({**doc, "decision": {**doc["decision"], "tier": {"name": "high"}}})
    doc["explanation"]["scores"][0]["values"][0]["value"] = ["1500"]
    assert not v.is_valid(doc)
