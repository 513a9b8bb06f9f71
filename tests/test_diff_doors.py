"""`policyd diff` of two front doors: send rules added, removed, changed and moved; fields, examples; where leads go (snapshots)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyd.changes.door_diff import diff_doors, door_impact
from policyd.cli.main import main
from policyd.door.route import CompiledDoor, route
from policyd.lang.door import parse_door_text

MAVEN = Path(__file__).resolve().parent.parent / "policies" / "maven"
BASE = (MAVEN / "door.policy").read_text(encoding="utf-8")
GTK = "  send west when series is gtk\n"


def edit(*pairs: tuple[str, str]) -> str:
    text = BASE
    for old, new in pairs:
        assert old in text, f"the Maven door has no {old!r}"
        text = text.replace(old, new, 1)
    return text


CASES = {
    "a rule moved below the others": edit((GTK, ""), ("  send west otherwise", GTK + "  send west otherwise")),
    "a rule sends to another team": edit(("send east when office is east", "send central when office is east")),
    "a rule's condition changed": edit(("send east when office is east", "send east when office in {east, unknown}")),
    "a rule added and one removed": edit((GTK, "  send east when series is mg\n")),
    "otherwise goes elsewhere": edit(("send west otherwise", "send central otherwise")),
    "title, a field and an example": edit(
        ('"MavenTech regional offices"', '"MavenTech offices"'),
        ("  series  {gtx, mg, gtk}\n", "  series  {gtx, mg, gtk}\n  price   int = 0\n"),
        (
            "expect team east\n}",
            'expect team east\n}\n\nexample "a Central deal stays in the Central office" {\n'
            "  lead { office central, series gtx }\n  expect team central\n}",
        ),
    ),
}


def files(tmp_path: Path, new_text: str) -> tuple[str, str]:
    new = tmp_path / "door.policy"
    new.write_text(new_text, encoding="utf-8")
    return str(MAVEN / "door.policy"), str(new)


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.output


@pytest.mark.parametrize("case", CASES)
def test_each_kind_of_door_change_in_text(case, tmp_path, snapshot):
    old, new = files(tmp_path, CASES[case])
    code, out = run("diff", old, new)
    assert code == 0, out
    assert out.replace(str(MAVEN), "MAVEN").replace(str(tmp_path), "NEW") == snapshot


def test_a_door_diff_as_a_pull_request_comment(tmp_path, snapshot):
    old, new = files(tmp_path, CASES["a rule added and one removed"])
    code, out = run("diff", old, new, "--format", "md")
    assert code == 0, out
    assert out.replace(str(MAVEN), "MAVEN").replace(str(tmp_path), "NEW") == snapshot


def test_the_impact_is_what_each_door_routes(tmp_path):
    """Every kind of lead reported as moving really goes from one team to the other, and no other kind moves."""
    old, _ = parse_door_text(BASE, "door.policy")
    new, _ = parse_door_text(CASES["a rule moved below the others"], "door.policy")
    a, b = CompiledDoor(old), CompiledDoor(new)
    impact = door_impact(old, new)
    assert impact["exact"]
    moved = {k: (mv["old"], mv["new"]) for mv in impact["moves"] for k in mv["kinds"]}
    for office in ("central", "east", "west", "unknown"):
        for series in ("gtx", "mg", "gtk"):
            lead = {"office": office, "series": series}
            before, after = route(a, lead).team, route(b, lead).team
            kind = f"office {office}, series {series}"
            assert moved.get(kind) == ((before, after) if before != after else None), kind


def test_layout_and_comments_are_no_change(tmp_path):
    old, new = files(tmp_path, "# reordered blank lines\n" + BASE.replace("  send", "  send  ").replace("\n\n", "\n\n\n"))
    code, out = run("diff", old, new, "--exit-code")
    assert code == 0 and "no change in meaning (layout or comments only)" in out.splitlines()[0], out
    assert diff_doors(*(parse_door_text(t, "d")[0] for t in (BASE, BASE))) == []


def test_exit_code_json_and_no_impact(tmp_path):
    old, new = files(tmp_path, CASES["a rule sends to another team"])
    assert run("diff", old, new, "--exit-code")[0] == 3
    code, out = run("diff", old, new, "--format", "json")
    data = json.loads(out)
    assert code == 0 and [c["summary"] for c in data["changes"]] == ["rule 3 (when office is east): team east -> central (line 12)"]
    assert data["door_impact"]["moves"] == [
        {"old": "east", "new": "central", "kinds": ["office east, series gtx", "office east, series mg"]}
    ]
    code, out = run("diff", old, new, "--no-impact")
    assert code == 0 and "Impact" not in out


def test_two_stored_door_versions(tmp_path):
    db = str(tmp_path / "policyd.db")
    _, new = files(tmp_path, CASES["otherwise goes elsewhere"])
    assert run("publish", str(MAVEN / "door.policy"), "--db", db, "-m", "door")[0] == 0
    assert run("publish", new, "--db", db, "-m", "central takes the rest")[0] == 0
    code, out = run("diff", "maven@1", "maven@2", "--db", db)
    assert code == 0, out
    # labelled as the store names them (one name in the store: @1, as the policy diff does)
    assert out.splitlines()[:2] == ["@1 -> @2: 1 change in meaning", "rule 4 (otherwise): team west -> central (line 13)"]


def test_a_door_against_a_policy_is_refused(tmp_path):
    code, out = run("diff", str(MAVEN / "door.policy"), str(MAVEN / "east.policy"))
    assert code == 1 and "is a front door and" in out and "diff compares two policies or two doors" in out
