"""The front door: parse and fmt, checks with counterexamples, examples, assign through the door,
per-team replay with organisation figures by hand, and the Maven three-team demo."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from policyd.cli.main import main
from policyd.lang.door import parse_door_text
from policyd.lang.fmt import format_text

from .conftest import ROOT

D = ROOT / "tests" / "data" / "door"
M = ROOT / "policies" / "maven"
DATA = ROOT.parent / "shared" / "data" / "maven-crm"


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_door_parses_and_fmt_round_trips():
    text = (M / "door.policy").read_text()
    door, problems = parse_door_text(text, "door.policy")
    assert problems == []
    assert [(s.team, s.text) for s in door.sends] == [
        ("west", "series is gtk"),
        ("central", "office is central"),
        ("east", "office is east"),
        ("west", "otherwise"),
    ]
    assert format_text(text) == text
    messy = "door x{send a when f is y\n send b otherwise}\nlead{f {y,z}}\n"
    out = format_text(messy)
    assert out == format_text(out)
    assert parse_door_text(out)[0] == parse_door_text(messy)[0]


def test_check_finds_an_uncovered_lead_an_unknown_team_and_a_shadowed_rule(tmp_path):
    bad = tmp_path / "door.policy"
    bad.write_text(
        "door d {\n  send north when region is north\n  send nowhere when region is south\n"
        "  send north when region is north and size > 3\n}\nlead {\n  region {north, south, other}\n  size int = 0\n}\n"
    )
    r = run("check", bad, D / "north.policy", D / "south.policy")
    assert r.exit_code == 1
    err = r.stderr
    assert "error D002: door d sends some leads to no team" in err and '"region": "other"' in err
    assert "error D004: no team policy is named `nowhere`" in err
    assert "warning D003: `send north when region is north and size > 3` is shadowed" in err
    assert "by line 2 first" in err


def test_check_finds_a_door_field_a_team_lacks(tmp_path):
    door = tmp_path / "door.policy"
    door.write_text("door d {\n  send north when office is x\n  send south otherwise\n}\nlead {\n  office {x, y}\n}\n")
    r = run("check", door, D / "north.policy", D / "south.policy")
    assert r.exit_code == 1
    assert "error D005: team north's lead block" in r.stderr and "has no field `office`" in r.stderr


def test_the_reference_door_checks_clean_with_its_teams_and_its_examples_pass():
    r = run("check", M / "door.policy", M / "central.policy", M / "east.policy", M / "west.policy")
    assert r.exit_code == 0, r.stderr
    assert "door; 0 errors, 0 warnings" in r.stderr
    r = run("test", D / "door.policy", M / "door.policy")
    assert r.exit_code == 0, r.output
    assert "4 passed, 0 failed" in r.output


def test_a_failing_door_example_says_where_the_lead_went(tmp_path):
    door = tmp_path / "door.policy"
    door.write_text(
        'door d {\n  send a when f is y\n  send b otherwise\n}\nlead {\n  f {y, z}\n}\nexample "z" {\n  lead { f z }\n  expect team a\n}\n'
    )
    r = run("test", door)
    assert r.exit_code == 1
    assert "expected team a, got team b (line 10)" in r.output


def test_assign_through_the_door_starts_with_the_doors_step(tmp_path):
    lead = tmp_path / "lead.json"
    lead.write_text(
        json.dumps({"id": "X-1", "office": "east", "sector": "it", "segment": "smb", "product": "mg_special", "series": "mg", "price": 55})
    )
    teams = [M / "central.policy", M / "east.policy", M / "west.policy"]
    r = run("assign", "--door", M / "door.policy", *teams, "--lead", lead, "--no-lottery", "--at", "2026-12-01T10:00:00Z")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "front door maven, line 12: office is east -> team east"
    assert "policies/maven/east.policy" in r.stdout
    r = run(
        "assign", "--door", M / "door.policy", *teams, "--lead", lead, "--no-lottery", "--format", "json", "--why-not", "carol_thompson"
    )
    assert r.exit_code != 0  # carol_thompson is a West rep: the East team does not know her
    r = run("assign", "--door", M / "door.policy", *teams, "--lead", lead, "--no-lottery", "--format", "json")
    doc = json.loads(r.stdout)
    assert doc["door"]["team"] == "east" and doc["door"]["line"] == 12 and doc["door"]["values"] == {"office": "east"}
    assert doc["decision"]["rep"] in {"elizabeth_anderson", "natalya_ivanova"}


def test_the_door_refuses_a_bad_field_in_words(tmp_path):
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps({"id": "X-2", "office": "north", "series": "mg"}))
    r = run("assign", "--door", M / "door.policy", M / "central.policy", M / "east.policy", M / "west.policy", "--lead", lead)
    assert r.exit_code == 1
    assert "office" in r.stderr and "north" in r.stderr and "front door refused" in r.stderr


def test_org_replay_figures_by_hand():
    r = run("replay", "--door", D / "door.policy", D / "north.policy", D / "south.policy", "--leads", D / "leads.csv", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    org = data["org"]
    # L1, L3 north; L4 region other -> otherwise north; L2, L5, L6 south; round robin a, b, a in each team
    assert [(t["team"], t["leads"]) for t in org["teams"]] == [("north", 3), ("south", 3)]
    assert {x["rep"]: x["count"] for x in org["reps"]} == {"north_a": 2, "north_b": 1, "south_a": 2, "south_b": 1}
    # counts 2, 1, 2, 1: mean 1.5, sd 0.5 -> CV 1/3; Gini = 8 / (2 x 16 x 1.5) = 1/6
    assert abs(org["fairness"]["cv"] - 1 / 3) < 1e-9
    assert abs(org["fairness"]["gini"] - 1 / 6) < 1e-9
    assert org["unplaced"] == 0 and org["lottery_share"] == 0.0
    assert [x["leads"] for x in data["door"]["rules"]] == [2, 3, 0, 1]


def test_org_replay_counts_leads_the_door_cannot_place(tmp_path):
    door = tmp_path / "door.policy"
    door.write_text("door d {\n  send north when region is north\n}\nlead {\n  region {north, south, other}\n}\n")
    r = run("replay", "--door", door, D / "north.policy", "--leads", D / "leads.csv")
    assert r.exit_code == 1  # the door does not cover every lead: refused before replaying
    assert "D002" in r.stderr


def test_maven_three_teams_replay_and_org_review(tmp_path):
    html = tmp_path / "org.html"
    args = ["replay", "--door", M / "door.policy", M / "central.policy", M / "east.policy", M / "west.policy"]
    args += ["--leads", DATA / "sales_pipeline.csv", "--map", M / "maven.map.toml", "--hold", "90", "--format", "json", "--html", html]
    r = run(*args)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    org = data["org"]
    assert data["input"]["read"] == 8800 and data["input"]["rejected"] == 500
    assert org["leads"] == 8300 and org["unplaced"] == 0
    assert sum(t["leads"] for t in org["teams"]) == 8300
    assert len(org["reps"]) == 35
    teams = {t["team"]: t for t in data["teams"]}
    assert set(teams) == {"central", "east", "west"}
    for t in data["teams"]:  # each team replays only its own agents
        assert {x["rep"] for x in t["report"]["runs"][0]["reps"]} == {x["rep"] for x in org["reps"] if x["team"] == t["team"]}
    assert "Organisation replay: front door maven" in Path(html).read_text()
