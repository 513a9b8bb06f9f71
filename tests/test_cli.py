"""The command line: exit codes, data on stdout, messages on stderr, help everywhere."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from policyd.cli.main import main

from .conftest import POLICIES, ROOT

INBOUND = str(POLICIES / "inbound.policy")
GLOBEX = str(POLICIES / "leads" / "globex.json")


@pytest.fixture()
def run():
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def _all_commands(group: click.Group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, (*prefix, name))


def test_every_command_has_help_with_an_example(run):
    seen = 0
    for path, cmd in _all_commands(main):
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        if not isinstance(cmd, click.Group):
            assert "Example" in result.output, f"`policyd {' '.join(path)} --help` has no example"
        seen += 1
    assert seen >= 3


def test_check_clean_policy(run):
    result = run("check", INBOUND)
    assert result.exit_code == 0
    assert result.stderr.strip().endswith("0 errors, 0 warnings, 1 note")  # A009: high falls back to medium


def test_check_reports_errors_with_exit_1(run, tmp_path):
    bad = tmp_path / "bad.policy"
    bad.write_text((POLICIES / "inbound.policy").read_text().replace("3 when employees >= 1000", "3 when employes >= 1000"))
    result = run("check", str(bad))
    assert result.exit_code == 1
    assert "error N001: unknown field `employes`" in result.stderr
    assert "hint: did you mean `employees`?" in result.stderr
    js = run("check", str(bad), "--format", "json")
    data = json.loads(js.stdout)
    assert data[0]["code"] == "N001" and data[0]["line"] == 28 and data[0]["col"] == 10


def test_check_syntax_error_exit_1(run, tmp_path):
    bad = tmp_path / "bad.policy"
    bad.write_text("tiers { high 10 }\n")
    result = run("check", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:1:17: error P001: unexpected `}}`; expected `..`" in result.stderr


def test_assign_explains(run):
    result = run("assign", INBOUND, "--lead", GLOBEX, "--why-not", "dmitri", "--no-lottery")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("Lead L-2 (Globex) -> alice\n")
    assert "Why not dmitri? This tier needs finance skill 2; yours is 1. Removed at line 117" in out


def test_assign_from_stdin_json(run):
    lead = (POLICIES / "leads" / "initech.json").read_text()
    result = run("assign", INBOUND, "--lead", "-", "--format", "json", input=lead)
    data = json.loads(result.stdout)
    assert data["decision"]["tier"] == "low" and data["decision"]["rep"] == "nadia"  # the API's shape
    assert data["explanation"]["tier"]["name"] == "low"


def test_assign_with_state_file(run, tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"open": {"alice": 30}, "away": ["carol"]}))
    result = run("assign", INBOUND, "--lead", GLOBEX, "--state", str(state), "--no-lottery", "--format", "json")
    assert json.loads(result.stdout)["decision"]["rep"] == "farah"


def test_assign_refuses_a_bad_lead(run, tmp_path):
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps({"id": "L-1", "employees": "many"}))
    result = run("assign", INBOUND, "--lead", str(lead))
    assert result.exit_code == 1
    assert f"{lead}: field company: is required but missing; expected a text" in result.stderr
    assert f'{lead}: field employees: expected a whole number, got a text "many"' in result.stderr
    assert result.stderr.strip().endswith("policyd: the lead was refused (7 problems)")
    assert result.stdout == ""


def test_assign_bad_json_and_missing_files(run, tmp_path):
    lead = tmp_path / "lead.json"
    lead.write_text('{"id": "L-1",')
    result = run("assign", INBOUND, "--lead", str(lead))
    assert result.exit_code == 1
    assert f"policyd: {lead}:1:14: lead is not valid JSON: Expecting property name enclosed in double quotes" in result.stderr
    missing = run("assign", INBOUND, "--lead", str(tmp_path / "none.json"))
    assert missing.exit_code == 1 and "cannot read lead" in missing.stderr
    state = tmp_path / "s.json"
    state.write_text('{"open": {"alice": "x"}}')
    bad_state = run("assign", INBOUND, "--lead", GLOBEX, "--state", str(state))
    assert bad_state.exit_code == 1 and 'policyd: open.alice: expected a whole number, got "x"' in bad_state.stderr
    unknown = run("assign", INBOUND, "--lead", GLOBEX, "--why-not", "alicia")
    assert unknown.exit_code == 1 and "--why-not alicia: no such rep; did you mean alice?" in unknown.stderr


def test_test_command_passes_and_fails(run, tmp_path):
    ok = run("test", INBOUND)
    assert ok.exit_code == 0 and ok.stdout.strip().endswith("3 passed, 0 failed")
    bad = tmp_path / "p.policy"
    bad.write_text((POLICIES / "inbound.policy").read_text().replace("expect tier low, level new", "expect tier low, level veteran"))
    result = run("test", str(bad))
    assert result.exit_code == 1
    assert "FAIL  a low-quality lead goes to a new rep first" in result.stdout
    assert "expected level veteran, got level new (line 155)" in result.stdout
    assert "Lead L-3 (Initech) -> nadia" in result.stdout  # the explanation of what it got
    assert result.stdout.strip().endswith("2 passed, 1 failed")


def test_module_entry_point_and_console_script():
    out = subprocess.run([sys.executable, "-m", "policyd", "test", INBOUND], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "3 passed, 0 failed" in out.stdout
    usage = subprocess.run([sys.executable, "-m", "policyd", "assign"], capture_output=True, text=True, cwd=ROOT)
    assert usage.returncode == 2 and "Missing argument 'POLICY'" in usage.stderr


@pytest.mark.parametrize(
    "number,shown",
    [("1" + "0" * 399 + ".5", "`1000000000000000...` (401 digits)"), ("1" + "0" * 4999, "`1000000000000000...` (5000 digits)")],
    ids=["400-digit decimal", "5000-digit integer"],
)
def test_check_reports_a_number_out_of_range_instead_of_crashing(run, tmp_path, number, shown):
    bad = tmp_path / "big.policy"
    bad.write_text((POLICIES / "inbound.policy").read_text().replace("3 when employees >= 1000", f"3 when employees >= {number}"))
    message = f"the number {shown} is out of range; expected a number between -1000000000000000 and 1000000000000000"
    result = run("check", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:28:23: error P010: {message}\n" in result.stderr
    assert result.stderr.strip().endswith(f"{bad}: 1 error, 0 warnings")
    js = run("check", str(bad), "--format", "json")
    assert js.exit_code == 1
    assert [(d["code"], d["line"], d["col"], d["message"]) for d in json.loads(js.stdout)] == [("P010", 28, 23, message)]
    refused = run("assign", str(bad), "--lead", GLOBEX)  # never compiled, so no generated code sees the number
    assert refused.exit_code == 1 and "fix the errors first" in refused.stderr


def test_check_reports_a_decimal_with_too_many_digits(run, tmp_path):
    bad = tmp_path / "digits.policy"
    bad.write_text((POLICIES / "inbound.policy").read_text().replace("lottery 30% among", "lottery 30.00000000000001% among"))
    result = run("check", str(bad), "--format", "json")
    assert result.exit_code == 1
    assert [(d["code"], d["message"]) for d in json.loads(result.stdout)] == [
        ("P011", "the number `30.00000000000001` has 16 significant digits; expected at most 15")
    ]


# ---- the CLI asks the owners of rules instead of copying them
WEEK = str(POLICIES / "leads" / "week-2026-W48.csv")


def _seed_error(fn, *args) -> str:
    from policyd.lottery.seeds import SeedError

    with pytest.raises(SeedError) as err:
        fn(*args)
    return str(err.value)


def test_distribute_refuses_a_seed_by_the_seed_modules_rule(run, tmp_path):
    from policyd.lottery import seeds

    db, out = str(tmp_path / "p.db"), str(tmp_path / "out")
    missing = _seed_error(seeds.draw_record, db, "2026-W48")
    r = run("distribute", INBOUND, "--leads", WEEK, "--period", "2026-W48", "--out", out, "--db", db)
    assert r.exit_code == 1 and r.stderr == f"policyd: {missing}\n"
    assert "no seed committed for 2026-W48" in missing

    committed = seeds.commit(db, "2026-W48", now=1_764_000_000.0)
    assert seeds.draw_record(db, "2026-W48") == committed
    seeds.reveal(db, "2026-W48", now=1_764_700_000.0)
    revealed = _seed_error(seeds.draw_record, db, "2026-W48")
    assert revealed == _seed_error(seeds.seed_for_period, db, "2026-W48")  # one refusal, one wording
    r = run("distribute", INBOUND, "--leads", WEEK, "--period", "2026-W48", "--out", out, "--db", db)
    assert r.exit_code == 1 and r.stderr == f"policyd: {revealed}\n"


@pytest.mark.parametrize("period", ["2026-W54", "2026-48", "26-W01"])
def test_period_names_are_checked_by_the_seed_module(run, tmp_path, period):
    from policyd.lottery import seeds

    expected = _seed_error(seeds.check_period, period)
    db = str(tmp_path / "p.db")
    for args in (["seed", "commit"], ["distribute", INBOUND, "--leads", WEEK]):
        r = run(*args, "--period", period, "--db", db)
        assert r.exit_code == 1 and r.stderr == f"policyd: {expected}\n", args


def test_a_team_file_is_recognised_by_the_model(run, emea):
    from policyd.lang.parse import load_file

    team, _ = load_file(POLICIES / "emea-team.policy")
    assert team.is_team_file and not emea.policy.is_team_file
    r = run("check", str(POLICIES / "emea-team.policy"))
    assert r.exit_code == 0 and r.stderr.endswith("emea-team.policy: team file; 0 errors, 0 warnings\n")


def test_state_files_are_read_by_the_engine_for_every_command(run, tmp_path):
    from policyd.engine.state import State, StateError

    bad = tmp_path / "state.json"
    bad.write_text('{"open": {"alice": -1}}')
    with pytest.raises(StateError) as err:
        State.load(str(bad))
    replay = run("replay", INBOUND, "--leads", WEEK, "--state", str(bad))
    assign = run("assign", INBOUND, "--lead", GLOBEX, "--state", str(bad))
    assert replay.exit_code == assign.exit_code == 1
    assert replay.stderr == assign.stderr == f"policyd: {err.value}\n"
