"""docs/diagnostics.md cannot drift: it lists every diagnostic code the code base can emit,
and each example in it, when checked, produces the message printed under it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from policyd.checks.load import load_text
from policyd.lang.diagnostics import PolicyError
from policyd.lang.layout import LayoutNode, layout

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "diagnostics.md"
CODE_RE = re.compile(r'"([PSNTA]\d{3})"')


def code_base_codes() -> set[str]:
    """Every code literal in the package: a diagnostic code cannot be emitted without one."""
    return {c for path in (ROOT / "policyd").rglob("*.py") for c in CODE_RE.findall(path.read_text())}


def _key(item: LayoutNode) -> tuple:
    toks = item.tokens()
    if item.rule in ("score_block", "route_block", "exception_block", "example_block"):
        return (item.rule, toks[1].value)
    if item.rule == "team_from":
        return ("team_block",)
    return (item.rule,)


def _items(text: str) -> list[tuple[tuple, str]]:
    tree, _ = layout(text)
    lines = text.splitlines()
    out = []
    for item in tree.children:
        toks = item.tokens()
        out.append((_key(item), "\n".join(lines[toks[0].line - 1 : toks[-1].end_line])))
    return out


def merge(base: str, snippet: str) -> str:
    """The base policy with each block of `snippet` replacing the block of the same kind and name."""
    items = _items(base)
    for key, text in _items(snippet):
        for i, (k, _) in enumerate(items):
            if k == key:
                items[i] = (key, text)
                break
        else:
            items.append((key, text))
    return "\n\n".join(t for _, t in items) + "\n"


def sections(doc: str) -> dict[str, tuple[str, str, str]]:
    """code -> (mode, policy text, first line of the printed diagnostic)."""
    out = {}
    for m in re.finditer(r"^### ([PSNTA]\d{3})\b(.*?)(?=^### |\Z)", doc, re.S | re.M):
        body = m.group(2)
        pol = re.search(r"```policy( file)?\n(.*?)```", body, re.S)
        msg = re.search(r"```text\n(.*?)\n", body, re.S)
        assert pol and msg, f"{m.group(1)}: needs a ```policy example and a ```text message"
        out[m.group(1)] = ("file" if pol.group(1) else "base", pol.group(2), msg.group(1))
    return out


def base_policy(doc: str) -> str:
    return re.search(r"<!-- base -->\n```policy\n(.*?)```", doc, re.S).group(1)


def diagnostics_of(text: str):
    try:
        return load_text(text, "example.policy", ROOT / "docs").diagnostics
    except PolicyError as err:
        return err.diagnostics


def test_doc_lists_every_code_of_the_code_base():
    documented = set(sections(DOC.read_text()))
    emitted = code_base_codes()
    assert sorted(emitted - documented) == [], "add a section (example and message) to docs/diagnostics.md"
    assert sorted(documented - emitted) == [], "these documented codes are no longer emitted anywhere"
    assert len(documented) >= 52


def test_base_policy_of_the_doc_checks_clean():
    assert diagnostics_of(base_policy(DOC.read_text())) == []


@pytest.mark.parametrize("code", sorted(sections(DOC.read_text())))
def test_each_doc_example_produces_its_documented_message(code):
    doc = DOC.read_text()
    mode, snippet, shown = sections(doc)[code]
    text = snippet if mode == "file" else merge(base_policy(doc), snippet)
    got = [f"{d.severity} {d.code}: {d.message}" for d in diagnostics_of(text)]
    assert shown in got
