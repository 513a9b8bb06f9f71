"""The review rebuilt for ops: every tier and score of both policies, the tier flip table,
per-rep changes and level totals, direct vs knock-on moves, the folded flip matrix,
calibration flags, hot-to-cold colours and explanations that are never cut."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from policyd.checks.load import load_path, load_text
from policyd.replay.charts import HOT_TO_COLD, tier_colors
from policyd.replay.moves import _matrix
from policyd.replay.ops import calibration
from policyd.replay.review import render_report, run_report, side_by_side

DATA = Path(__file__).parent / "data" / "replay"
TINY = (DATA / "tiny.policy").read_text()
# the top tier renamed (high -> top) and a score of 3 only this policy reaches
RENAMED = (
    TINY.replace("high  2..2", "top   2..3")
    .replace("route high", "route top")
    .replace("2 when size >= 100", "3 when size >= 180\n  2 when size >= 100")
    .replace("policy tiny", "policy tiny_renamed")
)


def review(new_text: str, **kw):
    old = load_path(DATA / "tiny.policy").compiled
    new = load_text(new_text, "renamed.policy").compiled
    return run_report(
        [("old", "tiny.policy", old), ("new", "renamed.policy", new)],
        str(DATA / "tiny.csv"),
        str(DATA / "tiny.map.toml"),
        hold_days=2,
        seed="s",
        **kw,
    )


def test_a_tier_and_a_score_only_the_new_policy_has_are_shown():
    r = review(RENAMED)
    tiers = {t["tier"]: t["counts"] for t in r["ops"]["tiers"]}
    assert tiers == {"high": [3, None], "top": [None, 3], "low": [2, 2]}
    scores = {s["score"]: [x and x["closed"] for x in s["runs"]] for s in r["ops"]["scores"]}
    assert scores == {1: [2, 2], 2: [2, 1], 3: [None, 1]}  # L3 (size 200) scores 3 under the new policy
    text = render_report(r, "text")
    assert "tier top" in text and "(no such tier)" in text and "score 3" in text
    for fmt in ("md", "html"):
        out = render_report(r, fmt)
        assert "tier top" in out and "tier high" in out
    # the tier flip table says where the renamed tier's leads went
    flips = r["moves"]["tier_flips"]
    assert flips["news"] == ["low", "top"]
    assert {row["old"]: row["cells"] for row in flips["rows"]} == {"high": [0, 3], "low": [2, 0]}
    assert flips["totals"] == [2, 3] and flips["total"] == 5


ROTATION = """policy rr {{ owner "t" }}
lead {{
  id    text
  size  int
  kind  {{a, b}}
}}
score s {{ 1 otherwise }}
tiers {{ all 1..1 }}
team {{
  capacity default 9
  rep ann veteran
  rep bob mid
  rep cy  new
}}
{exception}
route all {{ pick round robin }}
"""


def test_direct_moves_are_told_from_knock_on_reshuffles(tmp_path):
    src = tmp_path / "h.csv"
    src.write_text("id,arrived,size,kind\nL1,2024-01-01,1,b\nL2,2024-01-02,1,a\nL3,2024-01-03,1,a\n")
    m = tmp_path / "m.toml"
    m.write_text('[history]\nid = "id"\narrival = "arrived"\n[fields]\nid = "id"\nsize = "size"\nkind = "kind"\n')
    old = load_text(ROTATION.format(exception=""), "old.policy").compiled
    new = load_text(ROTATION.format(exception="exception b {\n  when kind is b\n  assign cy\n}"), "new.policy").compiled
    r = run_report([("old", "old", old), ("new", "new", new)], str(src), str(m))
    # old: ann, bob, cy by rotation. new: L1 to cy by the exception (direct); the rotation has
    # not moved, so L2 -> ann, L3 -> bob: from old's state the new rules would agree (knock-on)
    assert {(f["from"], f["to"]) for f in r["moves"]["flips"]} == {("ann", "cy"), ("bob", "ann"), ("cy", "bob")}
    assert (r["moves"]["direct"], r["moves"]["knock_on"]) == (1, 2)


def test_per_rep_change_sorted_by_largest_change_and_level_totals():
    r = review(RENAMED)
    changes = r["ops"]["rep_changes"]
    assert all(abs(a["change"]) >= abs(b["change"]) for a, b in zip(changes, changes[1:]))
    assert all(c["change"] == c["counts"][1] - c["counts"][0] for c in changes)
    assert sorted(c["by_name"] for c in changes) == [0, 1, 2]
    levels = {lv["level"]: lv["counts"] for lv in r["ops"]["levels"]}
    per_rep = {c["level"]: c["counts"] for c in changes}
    assert levels == per_rep  # one rep per level in the tiny team
    assert sum(lv["counts"][1] for lv in r["ops"]["levels"]) == r["runs"][1]["assigned"]


def test_the_flip_matrix_folds_past_twelve_and_has_totals():
    flips = Counter({(f"r{i:02}", f"r{(i + 1) % 20:02}"): 20 - i for i in range(20)})
    m = _matrix(flips)
    assert len(m["froms"]) == len(m["tos"]) == 13 and m["froms"][-1] == "(others)" and m["folded"]
    assert m["total"] == sum(flips.values()) == sum(row["total"] for row in m["rows"]) == sum(m["totals"])
    small = _matrix(Counter({("a", "b"): 2, ("b", "a"): 1}))
    assert small["froms"] == ["a", "b"] and not small["folded"] and small["totals"] == [1, 2]


def conv(rates: list[tuple[int, int, int]]) -> dict:
    return {
        "closed": sum(c for _, c, _ in rates),
        "tier": [],
        "score": [{"score": s, "closed": c, "won": w, "rate": w / c} for s, c, w in rates],
    }


def test_calibration_is_flagged_when_flat_or_not_monotone():
    flat = calibration(conv([(1, 100, 62), (2, 100, 64), (3, 100, 65)]))
    assert flat["flat"] and flat["monotone"]
    assert flat["note"] == "flat: every score converts 62-65%, so the score does not separate leads that convert"
    dip = calibration(conv([(1, 100, 20), (2, 100, 50), (3, 100, 30), (4, 100, 70)]))
    assert not dip["flat"] and not dip["monotone"] and dip["note"] == "not monotone: conversion falls from score 2 to 3"
    good = calibration(conv([(1, 100, 10), (2, 100, 30), (3, 100, 60), (4, 5, 0)]))  # score 4: too few to judge
    assert good["note"] == "rises with the score" and good["judged"] == 3
    assert calibration(None) is None


def test_the_maven_review_flags_flat_calibration_and_charts_it():
    maven = Path(__file__).parent.parent.parent / "shared" / "data" / "maven-crm"
    root = Path(__file__).parent.parent
    r = run_report(
        [
            ("old", "maven-crm.policy", load_path(root / "policies" / "maven-crm.policy").compiled),
            ("new", "maven-crm-v2.policy", load_path(root / "policies" / "maven-crm-v2.policy").compiled),
        ],
        str(maven / "sales_pipeline.csv"),
        str(root / "policies" / "maven-crm.map.toml"),
        hold_days=90,
        sample=0,
    )
    assert all(c["flat"] for c in r["ops"]["calibration"])
    chart = next(c for c in r["charts"] if c["key"] == "calibration")
    assert "flat: every score converts 62-65%" in chart["title"]
    assert r["moves"]["direct"] + r["moves"]["knock_on"] == r["moves"]["count"] and r["moves"]["knock_on"] > 1000
    assert r["warnings"] == []


def test_tier_colours_read_hot_to_cold():
    assert tier_colors(["high", "medium", "low"]) == {"high": "#c0392b", "medium": "#f1c40f", "low": "#3f7fb5"}
    five = tier_colors(list("abcde"))
    assert five["a"] == HOT_TO_COLD[0] and five["e"] == HOT_TO_COLD[5]
    r = review(RENAMED)
    old_tiers = next(c for c in r["charts"] if c["key"] == "tiers-old")
    assert old_tiers["legend"][0] == {"name": "high", "color": "#c0392b"}  # the hottest tier first, in red


def test_sample_explanations_wrap_instead_of_being_cut():
    left = "short\n  " + " ".join(f"word{i}" for i in range(40))
    out = side_by_side(left, "right side")
    assert all(f"word{i}" in out for i in range(40))
    assert all(line.find("|") == 79 for line in out.splitlines())  # the left column stays 78 wide
