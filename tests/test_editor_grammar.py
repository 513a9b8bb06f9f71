"""The VS Code extension: its TextMate grammar passes `vscode-tmgrammar-test` (from the npm registry, installed
into editors/vscode/.tools on first run), and its manifest wires the grammar and `policyd lsp` up."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from .conftest import ROOT

VSCODE = ROOT / "editors" / "vscode"
TOOLS = VSCODE / ".tools"
TESTER = TOOLS / "node_modules" / ".bin" / "vscode-tmgrammar-test"


@pytest.fixture(scope="module")
def tester() -> str:
    if not TESTER.exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install vscode-tmgrammar-test"
        r = subprocess.run(
            [npm, "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund", "vscode-tmgrammar-test@0.1.3"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, f"npm install vscode-tmgrammar-test failed:\n{r.stderr}"
    return str(TESTER)


def grammar_test(tester: str, *files: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tester, "-g", "syntaxes/policyd.tmLanguage.json", *files], cwd=VSCODE, capture_output=True, text=True, timeout=120
    )


def test_the_grammar_passes_its_scope_assertions(tester):
    r = grammar_test(tester, "tests/highlight.policy")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "highlight.policy run successfuly" in r.stdout


def test_a_wrong_scope_assertion_fails(tester, tmp_path):
    wrong = (
        (VSCODE / "tests" / "highlight.policy")
        .read_text(encoding="utf-8")
        .replace("entity.name.type.rep.policyd", "string.quoted.double.policyd")
    )
    target = VSCODE / "tests" / f"wrong-{tmp_path.name}.policy"
    target.write_text(wrong, encoding="utf-8")
    try:
        r = grammar_test(tester, f"tests/{target.name}")
    finally:
        target.unlink()
    assert r.returncode != 0 and "missing required scopes: string.quoted.double.policyd" in r.stdout


def test_the_manifest_wires_the_grammar_and_the_server():
    pkg = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (lang,) = pkg["contributes"]["languages"]
    (grammar,) = pkg["contributes"]["grammars"]
    assert lang["extensions"] == [".policy"] and grammar["language"] == lang["id"] == "policyd"
    assert json.loads((VSCODE / grammar["path"]).read_text(encoding="utf-8"))["scopeName"] == grammar["scopeName"]
    assert pkg["contributes"]["configuration"]["properties"]["policyd.command"]["default"] == ["policyd", "lsp"]
    assert f"onLanguage:{lang['id']}" in pkg["activationEvents"]
    assert "vscode-languageclient/node" in (VSCODE / pkg["main"]).read_text(encoding="utf-8")
