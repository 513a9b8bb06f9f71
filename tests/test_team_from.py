"""`team from` reads policy files inside the policy's repository, and never shows anything else.

A pull request is untrusted input: `policyd check` (or the pre-commit hook) on a policy
that names `/proc/self/environ`, a file beyond `..` or a link out of the repository must
refuse without opening it, so no secret of the machine reaches the log.
"""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from policyd.checks.load import load_path
from policyd.cli.main import main
from policyd.lang.diagnostics import PolicyError

from .conftest import POLICIES

SECRET = "PROBE_SECRET=hunter2-do-not-print"


def _policy_with_team_from(repo, target: str):
    text = (POLICIES / "inbound.policy").read_text(encoding="utf-8")
    start, end = text.index("team {"), text.index("# Exceptions run")
    team = text[start:end]
    (repo / ".git").mkdir(exist_ok=True)
    path = repo / "policies" / "p.policy"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text[:start] + f'team from "{target}"\n\n' + text[end:], encoding="utf-8")
    return path, team


def _check(path, *extra):
    result = CliRunner().invoke(main, ["check", str(path), *extra], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture()
def outside(tmp_path):
    """A secret file beside (not inside) the repository."""
    secret = tmp_path / "secret.policy"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    (tmp_path / "repo").mkdir()
    return tmp_path / "repo", secret


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_absolute_path_is_refused_without_reading_it(tmp_path, fmt, monkeypatch):
    monkeypatch.setenv("PROBE_SECRET", "hunter2-do-not-print")
    path, _ = _policy_with_team_from(tmp_path, "/proc/self/environ")
    code, out = _check(path, "--format", fmt)
    assert code == 1
    assert "hunter2" not in out and "PROBE_SECRET" not in out
    assert "P012" in out and "relative to the policy file" in out
    if fmt == "json":
        json.loads(out)


def test_a_file_beyond_the_repository_is_refused(outside):
    repo, _ = outside
    path, _ = _policy_with_team_from(repo, "../../secret.policy")
    code, out = _check(path)
    assert code == 1 and "hunter2" not in out
    assert "lies outside the policy's repository" in out


def test_a_link_out_of_the_repository_is_refused(outside):
    repo, secret = outside
    path, _ = _policy_with_team_from(repo, "team.policy")
    os.symlink(secret, path.parent / "team.policy")
    code, out = _check(path)
    assert code == 1 and "hunter2" not in out
    assert "P012" in out


def test_only_policy_files_are_read(tmp_path):
    path, team = _policy_with_team_from(tmp_path, "team.txt")
    (path.parent / "team.txt").write_text(team, encoding="utf-8")
    code, out = _check(path)
    assert code == 1 and "is not a `.policy` file" in out


def test_a_directory_or_device_is_refused(tmp_path):
    path, _ = _policy_with_team_from(tmp_path, "teams.policy")
    (path.parent / "teams.policy").mkdir()
    code, out = _check(path)
    assert code == 1 and "is not a regular file" in out


def test_a_control_character_in_the_name_is_a_diagnostic(tmp_path):
    with pytest.raises(PolicyError) as err:
        from policyd.lang.model import NO_SPAN
        from policyd.lang.parse import team_path

        team_path("team\x00.policy", NO_SPAN, tmp_path)
    assert err.value.diagnostics[0].code == "P012"
    assert "\\x00" in err.value.diagnostics[0].message


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"team {\n  rep a senior\x00\n}\n", "is binary"), (b"team {\n  rep caf\xe9 senior\n}\n", "is not UTF-8 text (line 2")],
)
def test_binary_or_non_utf8_team_files_are_refused_without_a_traceback(tmp_path, content, words):
    path, _ = _policy_with_team_from(tmp_path, "team.policy")
    (path.parent / "team.policy").write_bytes(content)
    code, out = _check(path)
    assert code == 1 and words in out and "Traceback" not in out


def test_a_team_folder_beside_the_policies_in_the_same_repository_still_works(tmp_path):
    path, team = _policy_with_team_from(tmp_path, "../teams/sales.policy")
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "sales.policy").write_text(team, encoding="utf-8")
    loaded = load_path(path)
    assert loaded.errors == []
    assert "alice" in loaded.compiled.rep_names
