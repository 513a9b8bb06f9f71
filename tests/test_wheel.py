"""The installed package loads the one grammar, as a wheel and as an editable install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile

import pytest

from policyd.lang.grammar import grammar_text

from .conftest import POLICIES, ROOT


def test_editable_install_reads_the_top_level_grammar():
    assert grammar_text() == (ROOT / "policyd" / "lang" / "policy.lark").read_text(encoding="utf-8")


@pytest.mark.slow
def test_wheel_installs_in_a_clean_venv_and_checks_a_policy(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)], check=True, capture_output=True)
    wheel = next(dist.glob("policyd-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "policyd/lang/policy.lark" in names
        assert zf.read("policyd/lang/policy.lark").decode() == (ROOT / "policyd" / "lang" / "policy.lark").read_text(encoding="utf-8")
        assert "policyd/render/templates/explain.text.j2" in names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = env_dir / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", str(wheel)], check=True, capture_output=True)

    work = tmp_path / "work"  # away from the source tree, so only the wheel can be imported
    work.mkdir()
    for name in ("emea.policy", "emea-team.policy", "inbound.policy"):
        shutil.copy(POLICIES / name, work / name)
    policyd = env_dir / "bin" / "policyd"
    out = subprocess.run([str(policyd), "check", "emea.policy"], cwd=work, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "emea.policy: 0 errors, 0 warnings" in out.stderr
    where = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", "import policyd, sys; print(policyd.__file__)"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(env_dir) in where.stdout
    tested = subprocess.run([str(policyd), "test", "inbound.policy"], cwd=work, capture_output=True, text=True)
    assert tested.returncode == 0 and "3 passed, 0 failed" in tested.stdout
