"""The hooks install and run from a clean pre-commit, exactly as the README documents them.

policyd itself is copied (working tree as it is now) into a scratch git repository with
the README's tag, and a scratch policy repository uses the README's snippet with `repo:`
pointed at that copy: nothing needs the network (pip reads the configured index).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pre_commit.clientlib import load_config, load_manifest

from .conftest import POLICIES, ROOT

PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
GIT = ["git", "-c", "user.name=policy author", "-c", "user.email=author@example.com", "-c", "init.defaultBranch=main"]


def readme_config() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Policy repositories", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def test_the_manifest_is_valid_yaml_and_a_valid_pre_commit_manifest():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"]: h["entry"] for h in hooks} == {
        "policyd-check": "policyd check --strict --dependents",
        "policyd-fmt": "policyd fmt",
        "policyd-fmt-check": "policyd fmt --check --diff",
    }
    assert [h["id"] for h in load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))] == list(h["id"] for h in hooks)
    assert all(re.search(h["files"], "policies/a.policy") and not re.search(h["files"], "a.py") for h in hooks)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def policy_repo(tmp_path_factory):
    """A policy repository using the README's snippet, its hooks installed once (PRE_COMMIT_HOME is per module)."""
    base = tmp_path_factory.mktemp("precommit")
    config = readme_config()
    rev = re.search(r"rev: (\S+)", config).group(1)
    clone = base / "policyd"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True)
    for rel in filter(None, files.stdout.decode().split("\0")):
        if (ROOT / rel).is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, clone / rel)
    git(clone, "init", "-q")
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "policyd")
    git(clone, "tag", rev)
    repo = base / "policies"
    repo.mkdir()
    git(repo, "init", "-q")
    for name in ("emea.policy", "emea-team.policy"):
        shutil.copy2(POLICIES / name, repo / name)
    (repo / ".pre-commit-config.yaml").write_text(re.sub(r"repo: \S+", f"repo: {clone}", config), encoding="utf-8")
    load_config(str(repo / ".pre-commit-config.yaml"))  # pre-commit's own schema
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the EMEA policy")
    env = {**os.environ, "PRE_COMMIT_HOME": str(base / "cache"), "NO_COLOR": "1"}
    return repo, env


def run(repo_env, *files: str) -> subprocess.CompletedProcess:
    repo, env = repo_env
    args = ["--files", *files] if files else ["--all-files"]
    return subprocess.run([*PRE_COMMIT, "run", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=600)


def test_a_good_policy_passes_both_hooks(policy_repo):
    r = run(policy_repo)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"policyd check\.+Passed", r.stdout) and re.search(r"policyd fmt\.+Passed", r.stdout)


def test_a_bad_policy_fails_with_its_diagnostics(policy_repo):
    repo, _ = policy_repo
    text = (repo / "emea.policy").read_text(encoding="utf-8")
    (repo / "bad.policy").write_text(text.replace("route hot", "route hto", 1), encoding="utf-8")
    try:
        r = run(policy_repo, "bad.policy")
    finally:
        (repo / "bad.policy").unlink()
    assert r.returncode == 1
    assert re.search(r"policyd check\.+Failed", r.stdout)
    assert re.search(r"bad\.policy:\d+:\d+: error N004: route for unknown tier `hto`", r.stdout)


def test_a_warning_fails_because_the_hook_is_strict(policy_repo):
    repo, _ = policy_repo
    original = (repo / "emea.policy").read_text(encoding="utf-8")
    (repo / "emea.policy").write_text(original.replace("then veteran", "then veteren"), encoding="utf-8")
    try:
        r = run(policy_repo, "emea.policy")
    finally:
        (repo / "emea.policy").write_text(original, encoding="utf-8")
    assert r.returncode == 1
    assert "emea.policy:66:32: warning N003: no rep has level `veteren`" in r.stdout


def test_changing_only_the_team_file_rechecks_the_policy_that_loads_it(policy_repo):
    repo, _ = policy_repo
    original = (repo / "emea-team.policy").read_text(encoding="utf-8")
    (repo / "emea-team.policy").write_text(original.replace("veteran", "senior"), encoding="utf-8")
    try:
        r = run(policy_repo, "emea-team.policy")
    finally:
        (repo / "emea-team.policy").write_text(original, encoding="utf-8")
    assert r.returncode == 1
    assert "emea-team.policy: team file; 0 errors, 0 warnings" in r.stdout  # the team file alone is fine
    assert "emea.policy:66:32: warning N003: no rep has level `veteran`; levels in the team: mid, new, senior" in r.stdout


def test_the_fmt_hook_rewrites_a_misaligned_policy(policy_repo):
    repo, _ = policy_repo
    original = (repo / "emea.policy").read_text(encoding="utf-8")
    (repo / "emea.policy").write_text(original.replace("\n  ", "\n      "), encoding="utf-8")
    try:
        r = run(policy_repo, "emea.policy")
        fixed = (repo / "emea.policy").read_text(encoding="utf-8")
    finally:
        (repo / "emea.policy").write_text(original, encoding="utf-8")
    assert r.returncode == 1
    assert re.search(r"policyd fmt\.+Failed", r.stdout) and "files were modified by this hook" in r.stdout
    assert "reformatted emea.policy" in r.stdout
    assert fixed == original
