"""Refs: a file, a stored version or a git revision (with its team file from the same revision)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyd.cli.main import main
from policyd.storage.refs import RefError, kind_of, load_ref, read_bundle
from policyd.storage.store import Store, bundle_of

ROOT = Path(__file__).parent.parent
POLICY = ROOT / "policies" / "inbound.policy"


def split_team(text: str) -> tuple[str, str]:
    """The reference policy with its team moved to `team.policy`."""
    start, end = text.index("team {"), text.index("# Exceptions run")
    return text[:start] + 'team from "team.policy"\n\n' + text[end:], text[start:end]


def git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]
    out = subprocess.run(["git", *env_args, *args], cwd=repo, capture_output=True, text=True, check=True)
    return out.stdout


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A repository with two commits: the second moves erin to mid (team file) and lowers the lottery."""
    repo = tmp_path / "repo"
    (repo / "policies").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    main_text, team_text = split_team(POLICY.read_text(encoding="utf-8"))
    (repo / "policies" / "inbound.policy").write_text(main_text)
    (repo / "policies" / "team.policy").write_text(team_text)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    (repo / "policies" / "inbound.policy").write_text(main_text.replace("lottery 30%", "lottery 25%"))
    (repo / "policies" / "team.policy").write_text(team_text.replace("rep erin     veteran", "rep erin     mid"))
    git(repo, "commit", "-q", "-am", "second")
    # the working tree moves on again: a revision must not read it
    (repo / "policies" / "team.policy").write_text(team_text.replace("rep erin     veteran", "rep erin     new"))
    monkeypatch.chdir(repo)
    return repo


def test_kinds():
    assert [kind_of(r) for r in ("@3", "@active", "main:p.policy", "p.policy", str(POLICY))] == [
        "version",
        "version",
        "git",
        "file",
        "file",
    ]


def test_a_file_ref_is_loaded_from_disk():
    loaded = load_ref(str(POLICY))
    assert loaded.errors == [] and loaded.label == str(POLICY)


def test_git_revisions_read_the_team_file_from_the_same_revision(repo):
    old = load_ref("HEAD~1:policies/inbound.policy")
    new = load_ref("main:policies/inbound.policy")
    assert old.errors == [] and new.errors == []
    assert (old.label, new.label) == ("HEAD~1:policies/inbound.policy", "main:policies/inbound.policy")
    assert old.compiled.levels[old.compiled.rep_index["erin"]] == "veteran"
    assert new.compiled.levels[new.compiled.rep_index["erin"]] == "mid"  # not the working tree's "new"
    assert load_ref("policies/inbound.policy").compiled.levels[new.compiled.rep_index["erin"]] == "new"
    b = read_bundle("main:policies/inbound.policy")
    assert (b.main_file, sorted(b.files), b.kind) == ("inbound.policy", ["inbound.policy", "team.policy"], "git")
    # a path relative to the current directory
    (repo / "policies" / "sub").mkdir()
    import os

    os.chdir(repo / "policies")
    assert load_ref("main:./inbound.policy").compiled.levels[new.compiled.rep_index["erin"]] == "mid"


def test_diff_between_two_git_revisions(repo):
    r = CliRunner().invoke(main, ["diff", "HEAD~1:policies/inbound.policy", "HEAD:policies/inbound.policy", "--no-impact"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (
        "HEAD~1:policies/inbound.policy -> HEAD:policies/inbound.policy: 2 changes in meaning\n"
        "team: erin level veteran -> mid (team.policy line 11)\n"
        "route high: lottery 30% -> 25% (line 72)\n"
    )
    r = CliRunner().invoke(main, ["diff", "HEAD~1:policies/inbound.policy", "main:policies/inbound.policy", "--exit-code"])
    assert r.exit_code == 3
    assert "route high: erin eligible, preferred -> eligible, not preferred (industry retail or health)" in r.stdout
    r = CliRunner().invoke(main, ["diff", "HEAD:policies/inbound.policy", "main:policies/inbound.policy", "--exit-code"])
    assert (r.exit_code, r.stdout) == (
        0,
        "HEAD:policies/inbound.policy -> main:policies/inbound.policy: no change in meaning (identical)\n",
    )


def test_the_same_content_from_git_and_from_a_file_is_one_version(repo, tmp_path):
    db = tmp_path / "p.db"
    git(repo, "stash", "-q")  # working tree back to HEAD
    store = Store(db)
    v1, _ = store.publish(*bundle_of(load_ref("policies/inbound.policy")), "from the file", "dana")
    b = read_bundle("HEAD:policies/inbound.policy")
    v2, created = store.publish(b.main_file, b.files, "from git", "dana")
    assert (created, v2.number) == (False, v1.number)
    assert load_ref("@1", str(db)).label == "@1"
    store.activate("@1", "dana")
    assert load_ref("@active", str(db)).compiled.rep_names == load_ref("policies/inbound.policy").compiled.rep_names


@pytest.mark.parametrize(
    "ref, message",
    [
        (
            "nope.policy",
            "nope.policy: no such policy: not a file, a stored version (@N, @active, @previous, @latest) or a git revision (REV:PATH)",
        ),
        (
            "main:nope.policy",
            "main:nope.policy: not a file, and git cannot read nope.policy at main: path 'nope.policy' does not exist in 'main'",
        ),
        (
            "nosuch:policies/inbound.policy",
            "nosuch:policies/inbound.policy: not a file, and git cannot read policies/inbound.policy at nosuch: invalid object name 'nosuch'.",
        ),
        ("policies", "policies: is a directory, not a policy file"),
        (
            ":policies/inbound.policy",
            ":policies/inbound.policy: no such policy: not a file, a stored version (@N, @active, @previous, @latest) or a git revision (REV:PATH)",
        ),
    ],
)
def test_bad_refs_say_what_was_tried(repo, ref, message):
    with pytest.raises(RefError) as err:
        load_ref(ref)
    assert str(err.value) == message


def test_bad_version_refs(tmp_path):
    db = tmp_path / "p.db"
    with pytest.raises(RefError) as err:
        load_ref("@1", str(db))
    assert str(err.value) == f"@1: no policy store at {db} (publish first, or point --db / POLICYD_DB at one)"
    assert not db.exists()  # reading never creates a store
    store = Store(db)
    store.publish(*bundle_of(load_ref(str(POLICY))), "first", "dana")
    with pytest.raises(RefError) as err:
        load_ref("@4", str(db))
    assert str(err.value) == f"@4: no version 4 in {db} (versions are @1..@1)"
    with pytest.raises(RefError) as err:
        load_ref("@previous", str(db))
    assert str(err.value) == f"@previous: there is no previously active version in {db}"


def test_git_outside_a_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with pytest.raises(RefError) as err:
        load_ref("main:p.policy")
    assert (
        str(err.value)
        == "main:p.policy: not a file, and git cannot read p.policy at main: not a git repository (or any of the parent directories): .git"
    )


def test_cli_commands_take_refs(repo, tmp_path):
    r = CliRunner().invoke(main, ["check", "HEAD~1:policies/inbound.policy"])
    assert r.exit_code == 0  # the reference's A009 note (its high route falls back to medium) is shown
    assert r.stderr.endswith("HEAD~1:policies/inbound.policy: 0 errors, 0 warnings, 1 note\n")
    r = CliRunner().invoke(main, ["test", "main:policies/inbound.policy"])
    assert r.exit_code == 0 and r.stdout.endswith("3 passed, 0 failed\n")
    r = CliRunner().invoke(main, ["check", "@2", "--db", str(tmp_path / "none.db")])
    assert (r.exit_code, r.stderr) == (
        1,
        f"policyd: @2: no policy store at {tmp_path / 'none.db'} (publish first, or point --db / POLICYD_DB at one)\n",
    )
    r = CliRunner().invoke(main, ["check", "nope.policy"])
    assert r.exit_code == 1
    assert (
        r.stderr
        == "policyd: nope.policy: no such policy: not a file, a stored version (@N, @active, @previous, @latest) or a git revision (REV:PATH)\n"
    )


def test_errors_in_a_revision_name_the_repository_files(repo):
    """The bundle is loaded from a temporary directory; no message may show it."""
    team = (repo / "policies" / "team.policy").read_text()
    (repo / "policies" / "team.policy").write_text(team.replace("rep erin     new", "rep erin     new capacity x"))
    git(repo, "commit", "-q", "-am", "broken team")
    r = CliRunner().invoke(main, ["check", "HEAD:policies/inbound.policy"])
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0] == "policies/team.policy:11:29: error P001: unexpected `x`; expected `default` or a number"
    assert "policyd-bundle" not in r.stderr
    r = CliRunner().invoke(main, ["check", "HEAD~1:policies/inbound.policy"])
    assert r.exit_code == 0
    loaded = load_ref("HEAD~1:policies/inbound.policy")
    assert {r.span.file for r in loaded.policy.team.reps} == {"policies/team.policy"}
    assert [name for name, _ in loaded.policy.sources] == ["policies/inbound.policy", "policies/team.policy"]
