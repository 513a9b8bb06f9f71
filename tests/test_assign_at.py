"""`policyd assign --at TIME`: caps and working hours apply at that time, and a bad time is refused in words.

On policies/scenario/team20.policy (hours mon-fri 09:00-17:00 Berlin, vanya 07:00-15:00
London, new reps capped at 4 a day): a low lead goes to a new rep on a Tuesday morning,
waits in the queue on a Saturday with every rep removed for being outside their hours,
and goes to a mid rep when every new rep has used the day's cap.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from policyd.cli.main import main

from .conftest import POLICIES

TEAM20 = str(POLICIES / "scenario" / "team20.policy")
NEW = ("nora", "nils", "nadia", "noah", "nina", "ned", "nuri")


@pytest.fixture
def run(tmp_path):
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps({"id": "S-4", "quality": "low", "segment": "smb"}))

    def invoke(*args: str):
        return CliRunner().invoke(main, ["assign", TEAM20, "--lead", str(lead), *args])

    return invoke


def test_a_weekday_morning_goes_to_a_new_rep(run):
    r = run("--at", "2026-12-01T10:00:00+01:00", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["decision"]["rep"] in NEW


def test_on_a_saturday_reps_are_removed_as_outside_their_hours(run):
    r = run("--at", "2026-12-05T10:00:00+01:00")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Lead S-4 -> queue unassigned\n")
    assert "start: 0 of 20 reps available at Sat 2026-12-05 10:00 Europe/Berlin" in r.output
    assert "- nora: outside working hours (mon-fri 09:00-17:00 in Europe/Berlin; it is Sat 10:00 there)" in r.output
    assert "- vanya: outside working hours (mon-fri 07:00-15:00 in Europe/London; it is Sat 09:00 there)" in r.output


def test_caps_apply_in_the_period_of_that_time(run, tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"counts": {"day:2026-12-01": dict.fromkeys(NEW, 4)}}))
    capped = run("--at", "2026-12-01T10:00:00+01:00", "--state", str(state))
    assert capped.exit_code == 0, capped.output
    assert "- nora: cap 4 per day reached: 4" in capped.output
    assert "Lead S-4 -> m" in capped.output.splitlines()[0]  # a mid rep: every new rep used the day
    next_day = run("--at", "2026-12-02T10:00:00+01:00", "--state", str(state), "--format", "json")
    assert json.loads(next_day.output)["decision"]["rep"] in NEW  # a new day, a new count


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("next saturday", "--at next saturday: time 'next saturday' is not an ISO 8601 time (for example `2026-12-05T10:00:00+01:00`)"),
        ("2026-12-05T10:00:00", "--at 2026-12-05T10:00:00: time '2026-12-05T10:00:00' needs a zone offset"),
    ],
)
def test_a_bad_time_is_refused_in_words(run, text, words):
    r = run("--at", text)
    assert r.exit_code != 0
    assert words in r.output
