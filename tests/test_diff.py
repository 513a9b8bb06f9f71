"""Semantic diff: every kind of change, in words, as a reviewer reads it (snapshots).

Each case edits the reference policy (tests/data/diff/base.policy) and snapshots
the diff lines. Errors and pinned facts are asserted by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from policyd.changes.diff import render, report
from policyd.changes.impact import impact
from policyd.changes.semantic import diff_policies
from policyd.changes.wording import cond_text
from policyd.checks.load import load_text
from policyd.cli.main import main
from policyd.engine.decide import decide

DATA = Path(__file__).parent / "data" / "diff"
BASE = (DATA / "base.policy").read_text(encoding="utf-8")


def edit(*pairs: tuple[str, str]) -> str:
    text = BASE
    for old, new in pairs:
        assert old in text, f"the base policy has no {old!r}"
        text = text.replace(old, new, 1)
    return text


def loaded(text: str):
    out = load_text(text, "inbound.policy")
    # some edits give the analysis something to say (4 points for a stated budget leaves
    # score 13 in no tier); the diff compares models either way
    errors = [d for d in out.errors if not d.code.startswith("A")]
    assert errors == [], [str(d) for d in errors]
    return out


def lines(new_text: str) -> list[str]:
    return [str(c) for c in diff_policies(loaded(BASE).policy, loaded(new_text).policy)]


EXCEPTIONS_SWAPPED = BASE[: BASE.index("exception named_account")] + (
    BASE[BASE.index("exception strategic") : BASE.index("route high")]
    + BASE[BASE.index("exception named_account") : BASE.index("exception strategic")]
    + BASE[BASE.index("route high") :]
)

CASES = {
    "policy_owner_and_review": edit(('owner  "sales-ops"', 'owner  "revops"'), ("review every 3 months", "review every 6 months")),
    "lead_field_added_and_removed": edit(('  language       text = "en"\n', "  region         {emea, amer}?\n")),
    "lead_enum_words": edit(("{it, manufacturing, finance, retail, health, other}", "{it, manufacturing, finance, retail, energy, other}")),
    "lead_type_optional_default": edit(
        ("  employees      int\n", "  employees      number\n"),
        ('  language       text = "en"', '  language       text = "de"'),
        ("  timing_months  int?", "  timing_months  int = 12"),
    ),
    "score_threshold": edit(("3 when employees >= 1000", "3 when employees >= 500")),
    "score_points": edit(("3 when budget is stated", "4 when budget is stated")),
    "score_line_added_and_removed": edit(
        ("  2 when budget is considering\n", "  2 when budget is unknown\n  1 when budget is considering\n"),
        ("  2 when authority is influencer\n", ""),
    ),
    "score_condition_changed": edit(("2 when authority is influencer", "2 when authority in {influencer, info_gathering}")),
    "score_lines_reordered": edit(
        ("  3 when budget is stated\n  2 when budget is considering\n", "  2 when budget is considering\n  3 when budget is stated\n")
    ),
    "score_block_added": edit(
        ("tiers {", "score region {\n  1 when industry is it\n  0 otherwise\n}\n\ntiers {"), ("high    10..12", "high    10..13")
    ),
    "tier_ranges": edit(("medium  7..9", "medium  6..9"), ("low     4..6", "low     4..5")),
    "rep_added_and_removed": edit(
        ("  rep quinn    new      capacity 15\n    skills smb 1\n", ""),
        ("    skills finance 2, smb 2\n}", "    skills finance 2, smb 2\n  rep dave     new\n}"),
    ),
    "rep_level_capacity_weight_languages": edit(
        ("rep erin     veteran", "rep erin     mid"),
        ("rep omar     new      capacity 15", "rep omar     new      capacity 20"),
        ("rep alice    veteran  capacity 30  speaks en, ja", "rep alice    veteran  capacity 30  weight 2  speaks en, ja, ko"),
        ("rep quinn    new      capacity 15", "rep quinn    new"),
    ),
    "rep_skills": edit(("skills enterprise 3, expansion 3, it 3, finance 2", "skills enterprise 3, it 3, finance 3, energy 2")),
    "team_defaults": edit(("capacity default 25", "capacity default 20"), ("skills 1..3, default 1", "skills 1..5, default 2")),
    "team_order": edit(
        ("  rep alice    veteran  capacity 30  speaks en, ja\n    skills enterprise 3, expansion 3, it 3, finance 2\n", ""),
        (
            "  rep dmitri",
            "  rep alice    veteran  capacity 30  speaks en, ja\n    skills enterprise 3, expansion 3, it 3, finance 2\n  rep dmitri",
        ),
    ),
    "exception_added": edit(
        (
            "route high",
            'exception energy "Energy to dave" {\n  when industry is other and employees > 10000\n  queue energy_desk\n}\n\nroute high',
        )
    ),
    "exception_removed": edit(
        ("expect rep erin, by exception named_account", "expect tier low"),
        (
            'exception named_account "Named account owners keep their accounts" {\n  when account_owner is set\n  assign account_owner                         # falls through when the owner is away or full\n}\n',
            "",
        ),
    ),
    "exceptions_reordered": EXCEPTIONS_SWAPPED,
    "exception_when_and_reason": edit(
        ("when employees >= 5000 and segment is enterprise", "when employees >= 2000 and (segment is enterprise or industry is finance)"),
        ('"Very large enterprise deals go to enterprise specialists"', '"Large deals go to specialists"'),
        ("require skill(enterprise) >= 3", "require skill(enterprise) >= 2"),
    ),
    "route_lottery": edit(("lottery 30% among available reps", "lottery 25% among available reps by weight")),
    "route_steps_changed": edit(
        ("require skill(segment) >= 2 and skill(industry) >= 2", "require skill(segment) >= 2 and skill(industry) >= 3"),
        ("  prefer veteran\n", "  prefer veteran, then mid\n"),
        ("  otherwise route medium\n", "  otherwise queue nurture\n"),
    ),
    "route_steps_added_removed": edit(
        ("  pick round robin\n", "  require speaks language\n  pick weighted\n"), ("  prefer new, then mid\n", "")
    ),
    "route_steps_reordered": edit(
        (
            "  require skill(segment) >= 2 and skill(industry) >= 2\n  prefer veteran\n",
            "  prefer veteran\n  require skill(segment) >= 2 and skill(industry) >= 2\n",
        )
    ),
    "route_added": edit(
        ("  low     4..6", "  low     5..6\n  nurture 4..4"),
        ("route low", 'route nurture "Lowest scores" {\n  pick random\n}\n\nroute low'),
    ),
    "route_removed": edit(
        ("  medium  7..9\n  low     4..6\n", "  medium  4..9\n"),
        ('route low "Development: newer members first" {\n  prefer new, then mid\n  pick least loaded\n}\n', ""),
        ("  low     respond within 24h\n", ""),
        ("expect tier low, level new", "expect tier medium"),
    ),
    "sla": edit(
        ("high    respond within 2h, reassign at most 2 times", "high    respond within 1h, reassign at most 3 times"),
        ("  low     respond within 24h\n", ""),
    ),
    "examples": edit(
        ("expect tier low, level new", "expect tier low, level mid"),
        ('example "a named account stays with its owner"', 'example "named accounts stay"'),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_kind_of_change(case, snapshot):
    assert lines(CASES[case]) == snapshot


def test_layout_and_comments_are_no_change():
    text = BASE.replace("  3 when employees >= 1000", "  3   when   employees >= 1000   # big ones").replace("\n\n", "\n\n\n")
    text = text.replace(
        "tiers {\n  high    10..12\n  medium  7..9\n  low     4..6\n}", "tiers {\n  low 4..6\n  medium 7..9\n  high 10..12\n}"
    )
    text = text.replace("when account_owner is set", "when (account_owner is set)")
    assert text != BASE
    a, b = loaded(BASE), loaded(text)
    assert diff_policies(a.policy, b.policy) == []
    data = report("old", "new", a.policy, b.policy, impact(a.compiled, b.compiled))
    assert render(data, "text") == "old -> new: no change in meaning (layout or comments only)\n"
    assert "**No change in meaning**: only layout or comments differ." in render(data, "md")


def test_conditions_print_back_as_written():
    policy = loaded(CASES["exception_when_and_reason"]).policy
    assert cond_text(policy.exceptions[1].when) == "employees >= 2000 and (segment is enterprise or industry is finance)"
    assert cond_text(policy.routes[0].steps[1].cond) == "skill(segment) >= 2 and skill(industry) >= 2"


# ---------------------------------------------------------------- impact, exactly
def imp(new_text: str):
    return impact(loaded(BASE).compiled, loaded(new_text).compiled)


def test_tier_moves_are_totals():
    i = imp(CASES["tier_ranges"])
    assert [str(t) for t in i.tier_moves] == ["total 6: low -> medium"]
    i = imp(CASES["score_block_added"])  # totals now reach 4..13
    assert [str(t) for t in i.tier_moves] == ["total 13: out of range -> high"]


def test_route_changes_name_the_lead_kinds():
    i = imp(CASES["exceptions_reordered"])
    assert [str(r) for r in i.routing] == [
        "exception named_account -> exception strategic for employees >= 5000, account_owner set, segment enterprise"
    ]
    i = imp(CASES["lead_enum_words"])
    assert [(r.old, r.new) for r in i.routing] == [
        ("exception named_account", "refused (industry health is not allowed)"),
        ("exception strategic", "refused (industry health is not allowed)"),
        ("refused (industry energy is not allowed)", "exception named_account"),
        ("refused (industry energy is not allowed)", "exception strategic"),
        ("refused (industry energy is not allowed)", "route high"),
        ("refused (industry energy is not allowed)", "route low"),
        ("refused (industry energy is not allowed)", "route medium"),
        ("route high", "refused (industry health is not allowed)"),
        ("route low", "refused (industry health is not allowed)"),
        ("route medium", "refused (industry health is not allowed)"),
    ]


def test_route_change_matches_the_evaluator_on_real_leads():
    """The impact says employees 500..999 with a stated budget, decision maker, 4..6 months moves medium -> high; check it."""
    old, new = loaded(BASE).compiled, loaded(CASES["score_threshold"]).compiled
    routing = imp(CASES["score_threshold"]).routing
    assert [(r.old, r.new) for r in routing] == [("route low", "route medium"), ("route medium", "route high")]
    up = routing[1].kinds
    # exactly the kinds whose total was 9 with 2 points for size: every one has employees 500..999
    assert len(up) == 6 and all(k.startswith("employees 500..999, ") for k in up)
    lead = {
        "id": "L-1",
        "company": "Acme",
        "employees": 700,
        "budget": "considering",
        "authority": "decision_maker",
        "timing_months": 5,
        "industry": "it",
        "segment": "smb",
        "country": "US",
    }
    assert decide(old, lead, seed="s", lottery=False).tier == "medium"
    assert decide(new, lead, seed="s", lottery=False).tier == "high"
    assert "employees 500..999, budget considering, authority decision_maker, timing_months 4..6, account_owner missing" in up


def test_eligibility_changes_per_rep_and_lead_kind():
    i = imp(CASES["route_steps_changed"])
    got = {str(e) for e in i.eligibility}
    # skill(industry) >= 3: carol has health 2, so she drops out of high for enterprise health leads
    assert "route high: carol eligible, preferred -> not eligible (segment enterprise, industry health)" in got
    # prefer veteran, then mid: a mid rep who qualifies becomes a 2nd choice
    assert "route high: kofi eligible, not preferred -> eligible, 2nd choice (segment enterprise, industry health)" in got
    i = imp(CASES["exception_when_and_reason"])  # require skill(enterprise) >= 3 -> >= 2: the reps with enterprise 2
    assert [str(e) for e in i.eligibility] == [
        "exception strategic: erin not eligible -> eligible (every lead)",
        "exception strategic: gustavo not eligible -> eligible (every lead)",
        "exception strategic: hana not eligible -> eligible (every lead)",
        "exception strategic: kofi not eligible -> eligible (every lead)",
    ]
    i = imp(CASES["rep_added_and_removed"])
    assert [str(e) for e in i.eligibility] == [
        "route low: quinn eligible, preferred -> not on the team (every lead)",
        "route low: dave not on the team -> eligible, preferred (every lead)",
    ]
    i = imp(CASES["rep_skills"])  # alice: expansion 3 dropped, finance 2 -> 3, energy 2 added
    assert [str(e) for e in i.eligibility] == []  # she already qualified for finance at 2; the others are not industries


def test_eligibility_splits_runtime_load():
    text = edit(("  prefer new, then mid\n", "  require load < 0.5\n  prefer new, then mid\n"))
    new_text = text.replace("require load < 0.5", "require load < 0.8")
    a, b = loaded(text), loaded(new_text)
    i = impact(a.compiled, b.compiled)
    assert str(i.eligibility[0]) == "route low: alice not eligible -> eligible, not preferred (0.5 <= load < 0.8)"
    assert len(i.eligibility) == 20


# ---------------------------------------------------------------- formats and the command
def test_full_review_text(snapshot):
    r = CliRunner().invoke(main, ["diff", str(DATA / "base.policy"), str(DATA / "changed.policy")])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.replace(str(DATA), "DATA") == snapshot


def test_full_review_markdown(snapshot):
    r = CliRunner().invoke(main, ["diff", str(DATA / "base.policy"), str(DATA / "changed.policy"), "--format", "md"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.replace(str(DATA), "DATA") == snapshot


def test_json_is_data():
    r = CliRunner().invoke(main, ["diff", str(DATA / "base.policy"), str(DATA / "changed.policy"), "--format", "json"])
    data = json.loads(r.stdout)
    assert data["headline"] == f"{len(data['changes'])} changes in meaning"
    first = data["changes"][0]
    assert {k: first[k] for k in ("area", "kind", "subject", "line", "summary")} == {
        "area": "policy",
        "kind": "changed",
        "subject": "policy",
        "line": 6,
        "summary": 'policy: owner "sales-ops" -> "revenue-ops" (line 6)',
    }
    assert data["impact"]["tier_moves"] == [
        {"low": 6, "high": 6, "old": "low", "new": "medium", "summary": "total 6: low -> medium"},
        {"low": 13, "high": 13, "old": "out of range", "new": "high", "summary": "total 13: out of range -> high"},
    ]


def test_exit_code_3_only_for_changes():
    base, changed, layout = str(DATA / "base.policy"), str(DATA / "changed.policy"), str(DATA / "layout.policy")
    assert CliRunner().invoke(main, ["diff", base, changed, "--exit-code"]).exit_code == 3
    assert CliRunner().invoke(main, ["diff", base, changed]).exit_code == 0
    r = CliRunner().invoke(main, ["diff", base, layout, "--exit-code"])
    assert (r.exit_code, r.stdout.replace(str(DATA), "DATA")) == (
        0,
        "DATA/base.policy -> DATA/layout.policy: no change in meaning (layout or comments only)\n",
    )


def test_diff_refuses_a_policy_with_errors(tmp_path):
    bad = tmp_path / "bad.policy"
    bad.write_text(BASE.replace("otherwise route medium", "otherwise route mediun"))
    r = CliRunner().invoke(main, ["diff", str(DATA / "base.policy"), str(bad)])
    assert r.exit_code == 1
    assert r.stderr.endswith(f"policyd: {bad}: 1 error, 0 warnings; fix the errors first\n")
