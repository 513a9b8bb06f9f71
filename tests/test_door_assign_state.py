"""`policyd assign --door ... --state TEAM=FILE`: a lead the door sends to team B is decided against team B's own state."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from policyd.cli.main import main

from .conftest import ROOT

M = ROOT / "policies" / "maven"
TEAMS = [str(M / f"{t}.policy") for t in ("central", "east", "west")]
AT = "2026-12-01T10:00:00Z"


def deal(tmp_path: Path, i: int, office: str, series: str) -> str:
    product = {"gtx": "gtx_pro", "mg": "mg_special", "gtk": "gtk_500"}[series]
    f = tmp_path / f"deal-{i}.json"
    f.write_text(
        json.dumps({"id": f"X-{i}", "office": office, "sector": "it", "segment": "smb", "product": product, "series": series, "price": 55})
    )
    return str(f)


def state(tmp_path: Path, name: str, **data) -> str:
    f = tmp_path / f"{name}.json"
    f.write_text(json.dumps(data))
    return str(f)


def decide(lead: str, *states: str) -> tuple[str, str]:
    """(team, rep) of one decision through the Maven door with the states given."""
    args = ["assign", "--door", str(M / "door.policy"), *TEAMS, "--lead", lead, "--no-lottery", "--at", AT, "--format", "json"]
    r = CliRunner().invoke(main, args + [x for s in states for x in ("--state", s)])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    return doc["door"]["team"], doc["decision"]["rep"]


def test_each_team_decides_with_its_own_state(tmp_path):
    east_lead, west_lead = deal(tmp_path, 1, "east", "mg"), deal(tmp_path, 2, "central", "gtk")
    team, first = decide(east_lead)
    assert team == "east"
    without_first = state(tmp_path, "east-away", away=[first])
    team, second = decide(east_lead, f"east={without_first}")
    assert team == "east" and second not in (first, None)
    # another team's state does not touch the East decision, however it is written
    assert decide(east_lead, f"west={without_first}") == ("east", first)
    assert decide(east_lead, f"west={without_first}", f"east={state(tmp_path, 'none')}") == ("east", first)
    # the lead the door sends West is decided against West's state, not East's
    team, west_rep = decide(west_lead)
    assert team == "west"
    west_away = state(tmp_path, "west-away", away=[west_rep])
    assert decide(west_lead, f"east={west_away}") == ("west", west_rep)
    team, other = decide(west_lead, f"west={west_away}", f"east={without_first}")
    assert team == "west" and other != west_rep
    # a plain FILE is every team's state (rep names are unique across teams); a team's own wins over it
    assert decide(east_lead, without_first) == ("east", second)
    assert decide(east_lead, without_first, f"east={state(tmp_path, 'empty')}") == ("east", first)


def test_a_state_for_a_team_not_given_is_refused_naming_the_teams(tmp_path):
    lead, empty = deal(tmp_path, 3, "east", "mg"), state(tmp_path, "e")
    base = ["assign", "--door", str(M / "door.policy"), *TEAMS, "--lead", lead, "--no-lottery", "--at", AT]
    r = CliRunner().invoke(main, base + ["--state", f"north={empty}"])
    assert r.exit_code == 2 and "no team 'north' is given; the teams are central, east, west" in r.output
    r = CliRunner().invoke(main, base + ["--state", f"east={empty}", "--state", f"east={empty}"])
    assert r.exit_code == 2 and "team east has a state already" in r.output
    r = CliRunner().invoke(main, ["assign", TEAMS[1], "--lead", lead, "--state", f"east={empty}"])
    assert r.exit_code == 2 and "TEAM=FILE is for --door" in r.output
    r = CliRunner().invoke(main, base + ["--state", f"east={tmp_path / 'missing.json'}"])
    assert r.exit_code == 1 and "missing.json" in r.output
