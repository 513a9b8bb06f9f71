"""Pull-request review: GitHub annotations, SARIF, JUnit, stdin, accepted findings, colour and completion."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from policyd.cli.main import main

from .conftest import POLICIES, ROOT

EMEA = (POLICIES / "emea.policy").read_text(encoding="utf-8")
TYPO = EMEA.replace("then veteran", "then veteren")  # a warning N003 at 66:32


def run(*args: str, input: str | None = None, env: dict | None = None):
    return CliRunner().invoke(main, list(args), input=input, env=env)


def stdin_check(text: str, *args: str):
    return run("check", "-", "--stdin-filename", str(POLICIES / "draft.policy"), *args, input=text)


def test_github_annotations_name_the_line_and_escape_the_message():
    r = stdin_check(TYPO, "--format", "github", "--strict")
    assert r.exit_code == 1
    path = str(POLICIES / "draft.policy")
    assert r.stdout == (
        f"::warning file={path},line=66,col=32,endLine=66,endColumn=39,title=policyd N003::"
        "no rep has level `veteren`; levels in the team: mid, new, veteran%0Ahint: did you mean `veteran`?\n"
    )


def test_sarif_is_2_1_0_with_rules_and_regions():
    r = stdin_check(TYPO, "--format", "sarif")
    assert r.exit_code == 0  # a warning without --strict
    sarif = json.loads(r.stdout)
    assert sarif["version"] == "2.1.0"
    run_ = sarif["runs"][0]
    assert [rule["id"] for rule in run_["tool"]["driver"]["rules"]] == ["N003"]
    (result,) = run_["results"]
    assert result["level"] == "warning" and result["ruleId"] == "N003" and result["ruleIndex"] == 0
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 66, "startColumn": 32, "endLine": 66, "endColumn": 39}


def test_an_accepted_finding_keeps_its_reason_and_stops_failing():
    accepted = TYPO.replace("then veteren\n", "then veteren   # policyd: accept N003 the veteran level is renamed next week\n")
    r = stdin_check(accepted, "--strict")
    assert r.exit_code == 0
    assert "draft.policy:66:32: accepted N003: no rep has level `veteren`" in r.stderr
    assert "(the veteran level is renamed next week)" in r.stderr
    assert r.stderr.rstrip().endswith("draft.policy: 0 errors, 0 warnings; 1 accepted")
    sarif = json.loads(stdin_check(accepted, "--format", "sarif").stdout)
    assert sarif["runs"][0]["results"][0]["suppressions"] == [
        {"kind": "inSource", "justification": "the veteran level is renamed next week"}
    ]
    above = TYPO.replace(
        "  prefer speaks language, then veteren\n", "  # policyd: accept N003 renamed soon\n  prefer speaks language, then veteren\n"
    )
    assert "prefer speaks language, then veteren" in TYPO and stdin_check(above, "--strict").exit_code == 0
    other_code = TYPO.replace("then veteren\n", "then veteren  # policyd: accept N001 wrong code\n")
    assert stdin_check(other_code, "--strict").exit_code == 1  # only the code named is accepted
    no_reason = TYPO.replace("then veteren\n", "then veteren  # policyd: accept N003\n")
    assert stdin_check(no_reason, "--strict").exit_code == 1  # a reason is required


def test_check_stdin_reads_team_from_beside_the_named_file():
    r = stdin_check(EMEA, "--strict")
    assert r.exit_code == 0, r.output
    assert r.stderr.strip() == f"{POLICIES / 'draft.policy'}: 0 errors, 0 warnings"


def test_fmt_stdin_writes_the_formatted_policy(tmp_path):
    messy = EMEA.replace("\n  ", "\n    ")
    r = run("fmt", "-", input=messy)
    assert r.exit_code == 0 and r.stdout == EMEA
    r = run("fmt", "--check", "-", input=messy)
    assert r.exit_code == 1 and r.stderr == "would reformat <stdin>\n"


def test_fmt_diff_headers_are_relative_inside_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "p").mkdir()
    f = tmp_path / "p" / "x.policy"
    f.write_text(EMEA.replace("\n  ", "\n    "), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    r = run("fmt", "--diff", str(f))
    assert r.exit_code == 1 and r.stdout.startswith("--- a/p/x.policy\n+++ b/p/x.policy\n@@ ")
    assert run("fmt", "--diff", str(POLICIES / "emea.policy")).exit_code == 0  # nothing would change


def test_test_runs_several_files_with_a_filter_and_writes_junit(tmp_path):
    broken = tmp_path / "broken.policy"
    broken.write_text(EMEA.replace("expect tier hot, rep anna", "expect tier hot, rep bruno", 1), encoding="utf-8")
    (tmp_path / "emea-team.policy").write_text((POLICIES / "emea-team.policy").read_text(encoding="utf-8"), encoding="utf-8")
    r = run("test", str(POLICIES / "inbound.policy"), str(broken), "--format", "junit")
    assert r.exit_code == 1
    suites = ET.fromstring(r.stdout)
    assert suites.get("failures") == "1" and int(suites.get("tests")) > 3
    failed = [c for c in suites.iter("testcase") if c.find("failure") is not None]
    assert len(failed) == 1 and "expected rep bruno" in failed[0].find("failure").get("message")
    r = run("test", str(POLICIES / "inbound.policy"), str(broken), "-k", "named account")
    assert r.exit_code == 0 and r.stdout.splitlines()[-1] == "1 passed, 0 failed"


def test_colour_only_on_request_or_a_terminal_and_never_with_no_color():
    r = stdin_check(TYPO, "--color", "always")
    assert "\x1b[1;33mwarning\x1b[0m N003" in r.stderr
    assert "\x1b[" not in stdin_check(TYPO).stderr  # not a terminal
    assert "\x1b[" not in stdin_check(TYPO, "--color", "never").stderr
    script = (
        "import os, pty, sys\n"
        "pid, fd = pty.fork()\n"
        "if pid == 0:\n"
        f"    os.execv(sys.executable, [sys.executable, '-m', 'policyd', 'check', {str(ROOT / 'tests' / 'data' / 'analysis' / 'A001-fail.policy')!r}])\n"
        "out = b''\n"
        "while True:\n"
        "    try:\n"
        "        chunk = os.read(fd, 4096)\n"
        "    except OSError:\n"
        "        break\n"
        "    if not chunk:\n"
        "        break\n"
        "    out += chunk\n"
        "sys.stdout.write(repr(out))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    on_tty = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT).stdout
    assert "\\x1b[1;31merror\\x1b[0m A001" in on_tty
    no_color = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env={**env, "NO_COLOR": "1"}, cwd=ROOT).stdout
    assert "error A001" in no_color and "\\x1b[" not in no_color


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("policyd check policies/in", ["policies/inbound.policy", "policies/intake/"]),  # a file, and a folder to descend into
        ("policyd test policies/emea", ["policies/emea-team.policy", "policies/emea.policy"]),
        ("policyd check pol", ["policies/", "policyd/"]),  # folders to descend into
        ("policyd check @a", ["@active"]),
    ],
)
def test_shell_completion_completes_policy_files_and_refs(words, expected, monkeypatch):
    monkeypatch.chdir(ROOT)
    env = {"_POLICYD_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
    r = CliRunner().invoke(main, [], prog_name="policyd", env=env)
    assert [line.split(",", 1)[1] for line in r.stdout.splitlines()] == expected
