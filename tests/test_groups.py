"""Target shares by named group: `group closers ann, cy` in the team, `pick shares closers 60%, others 40%`.

Parse, the checks with the rep each finding names, decide through the one shares
rule (groups, levels and `others` alike), explanations in every format and why-not,
`example` blocks, fmt round trip and the semantic diff.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from policyd import PolicyError, check_text, load_text
from policyd.changes.semantic import diff_policies
from policyd.engine.decide import decide
from policyd.engine.state import State, apply
from policyd.explain.examples import run_examples
from policyd.explain.explain import render
from policyd.lang.fmt import format_text
from policyd.lang.parse import parse_text

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC).timestamp()

GROUPS = """lead {
  id     text
  value  number = 0
}

score base {
  1 otherwise
}

tiers {
  all  1..1
}

team {
  capacity default 50
  cap default 6 per day
  quota default 1000 per month
  rep ann  veteran
  rep bea  veteran
  rep bob  mid
  rep cy   new
  rep dee  new
  group closers ann, cy
  group hunters bob, dee
}

route all {
  pick shares closers 60%, others 40% then round robin
}
"""


def codes(text: str) -> list[tuple[str, str, str | None]]:
    return [(d.code, d.message, d.hint) for d in check_text(text, "g.policy")]


def run(c, n: int, st: State | None = None, at: float = NOW) -> tuple[list[str], State]:
    st = st or State()
    got = []
    for i in range(n):
        d = decide(c, {"id": f"L{i}"}, st, at=at)
        st = apply(st, d, at)
        got.append(d.rep)
    return got, st


def test_group_lines_parse_into_the_team_and_format_unchanged():
    p, problems = parse_text(GROUPS, "g.policy")
    assert problems == []
    assert [(g.name, g.reps, g.span.line) for g in p.team.groups] == [("closers", ("ann", "cy"), 23), ("hunters", ("bob", "dee"), 24)]
    pick = p.routes[0].steps[0]
    assert (pick.kind, pick.shares, pick.then) == ("shares", (("closers", 60.0), ("others", 40.0)), "round_robin")
    assert format_text(GROUPS, "g.policy") == GROUPS
    messy = GROUPS.replace("  group closers ann, cy\n", "group   closers ann ,cy   # the deal closers\n")
    assert format_text(messy, "g.policy") == GROUPS.replace("  group closers ann, cy\n", "  group closers ann, cy   # the deal closers\n")
    assert codes(GROUPS) == []


def test_group_with_unknown_rep_duplicate_and_level_name_are_errors():
    bad = GROUPS.replace("group closers ann, cy", "group closers ann, cyy, ann\n  group new bea\n  group closers bob")
    got = codes(bad)
    assert ("N002", "group `closers` names unknown rep `cyy`", "did you mean `cy`?") in got
    assert ("N007", "group `closers` lists rep `ann` twice", None) in got
    assert ("N007", "group `new` has the name of a level, so `pick shares new` could mean either", "rename the group") in got
    assert any(c == "N007" and m.startswith("duplicate group `closers` (first declared on line 23)") for c, m, _ in got)


def test_unknown_group_in_shares_says_did_you_mean():
    got = codes(GROUPS.replace("closers 60%, others 40%", "closrs 60%, others 40%"))
    assert ("N011", "`pick shares`: no rep has level `closrs`, and no group is named `closrs`", "did you mean `closers`?") in got


def test_overlapping_shares_are_an_error_naming_the_rep_in_both():
    got = codes(GROUPS.replace("closers 60%, others 40%", "closers 50%, veteran 50%"))
    msg = "`pick shares`: rep `ann` is in both group `closers` and level `veteran`, so a lead for ann would count toward two shares"
    assert ("T021", msg, "the shares must split the reps: take `ann` out of one of them") in got
    with pytest.raises(PolicyError) as err:
        load_text(GROUPS.replace("closers 60%, others 40%", "closers 50%, veteran 50%"), "g.policy")
    assert "T021" in [d.code for d in err.value.diagnostics]  # an error: the policy cannot be published or served


def test_reps_in_no_share_are_named_and_others_covers_them():
    got = codes(GROUPS.replace("closers 60%, others 40%", "closers 60%, hunters 40%"))
    assert got == [
        (
            "N013",
            "`pick shares`: `bea` is in no share, so gets these leads only when no share has a candidate",
            "add `bea` to a group, or give the rest a share: `others N%`",
        )
    ]
    assert [c for c, _, _ in codes(GROUPS.replace("others 40%", "hunters 20%, others 20%"))] == []
    empty = GROUPS.replace("group hunters bob, dee", "group hunters bea, bob, dee").replace("others 40%", "hunters 30%, others 10%")
    assert [c for c, _, _ in codes(empty)] == ["N013"]  # every rep is in a group: `others` holds nobody


def test_shares_not_adding_to_100_is_t019():
    got = codes(GROUPS.replace("others 40%", "others 30%"))
    assert ("T019", "`pick shares`: the shares add up to 90%, not 100% (each above 0%)", None) in got


def test_groups_keep_the_declared_split_and_rotate_inside_each_share():
    c = load_text(GROUPS, "g.policy").compiled
    got, st = run(c, 20)  # `cap default 6 per day`: 20 leads fit the closers' two caps exactly
    closers = [r for r in got if r in ("ann", "cy")]
    assert len(closers) == 12  # 60% of 20
    assert closers.count("ann") == closers.count("cy") == 6  # one rotation per share
    others = [r for r in got if r not in ("ann", "cy")]
    assert sorted(set(others)) == ["bea", "bob", "dee"] and max(map(others.count, set(others))) - min(map(others.count, set(others))) <= 1
    assert st.counts["share:route:all:month:2026-12"] == {"closers": 12, "others": 8}


def test_a_share_without_a_candidate_yields_to_the_others():
    c = load_text(GROUPS, "g.policy").compiled
    got, st = run(c, 5, State(away=frozenset({"ann", "cy"})))
    assert set(got) <= {"bea", "bob", "dee"}
    assert st.counts["share:route:all:month:2026-12"] == {"others": 5}
    back = State(counts=st.counts, open=st.open)  # closers return 5 behind: they get the next leads until they catch up
    got, _ = run(c, 7, back)
    assert got[:7].count("ann") + got[:7].count("cy") >= 6


def test_groups_and_levels_share_one_rule():
    """The same counts give the same choice whether the share names a level or a group of exactly those reps."""
    by_level = GROUPS.replace("closers 60%, others 40%", "veteran 60%, mid 20%, new 20%")
    by_group = GROUPS.replace(
        "group closers ann, cy\n  group hunters bob, dee", "group vets ann, bea\n  group mids bob\n  group news cy, dee"
    )
    by_group = by_group.replace("closers 60%, others 40%", "vets 60%, mids 20%, news 20%")
    a, _ = run(load_text(by_level, "l.policy").compiled, 30)
    b, _ = run(load_text(by_group, "g.policy").compiled, 30)
    assert a == b


def test_explanation_and_why_not_name_the_group_and_its_standing(snapshot):
    c = load_text(GROUPS, "g.policy").compiled
    st = State(counts={"share:route:all:month:2026-12": {"closers": 7, "others": 5}})
    d = decide(c, {"id": "X-1"}, st, at=NOW, trace=True)
    assert d.rep == "ann"  # closers 7 of 12 (58%) is further below 60% than others 5 of 12 is below 40%
    text = render(c, d, "text", "bob")
    assert "group closers has 7 of 12 this month (58%, share 60%)" in text
    assert "Why not bob?" in text and "others has 5 of 12 this month (42%, share 40%); group closers is further below its share" in text
    assert text == snapshot(name="text")
    assert render(c, d, "md", "cy") == snapshot(name="md")
    assert render(c, d, "html", "bob") == snapshot(name="html")
    data = json.loads(render(c, d, "json", "bob"))
    pick = [s for s in data["pipeline"]["steps"] if s["kind"] == "pick"][0] if "pipeline" in data else None
    assert data == snapshot(name="json") and (pick is None or "group closers" in pick["summary"])


def test_example_blocks_expect_a_group_members_rep():
    text = (
        GROUPS
        + """
example "closers are behind: a closer gets it" {
  at "2026-12-01T10:00:00Z"
  lead { id "E-1" }
  expect rep ann
}
"""
    )
    results = run_examples(load_text(text, "g.policy").compiled)
    assert [r.ok for r in results] == [True]
    wrong = text.replace("expect rep ann", "expect rep bob")
    assert [r.ok for r in run_examples(load_text(wrong, "g.policy").compiled)] == [False]


def test_diff_names_group_changes_and_notes_the_impact():
    a = parse_text(GROUPS, "a.policy")[0]
    b = parse_text(
        GROUPS.replace("group closers ann, cy", "group closers ann, bea").replace("hunters bob, dee", "hunters bob"), "b.policy"
    )[0]
    texts = [ch.text for ch in diff_policies(a, b)]
    assert texts == ["group closers: added bea; removed cy", "group hunters: removed dee"]
    c = parse_text(GROUPS.replace("group hunters bob, dee\n", "").replace("others 40%", "others 30%, hunters 10%"), "c.policy")[0]
    assert [ch.text for ch in diff_policies(a, c)] == [
        "group hunters removed (was bob, dee)",
        "pick shares closers 60%, others 40% per month then round robin -> shares closers 60%, others 30%, hunters 10% per month then round robin",
    ]
