"""Every figure of the review report on a small history, computed by hand.

tests/data/replay/tiny.csv has 7 rows; L4 (size "abc") and L5 (no arrival) are
rejected, so 5 leads replay, with --hold 2 (days) for L6, which has no close date.
Team: ann (veteran, capacity 2), bob (mid, 2), cy (new, 1).

OLD = tiny.policy: size >= 100 -> high (2 points) else low (1); exception kind_b
assigns b leads to bob; high: least loaded; low: round robin.

    L1 d1 high -> all at 0 open, team order: ann          (ann 1; closes d3)
    L2 d1 low  -> rotation starts: ann                    (ann 2, full; closes d2)
    L3 d2      -> L2 closes first (ann 1); kind b: exception -> bob  (closes d5)
    L6 d3      -> L1 closes (ann 0); high, least loaded: ann 0/2 and cy 0/1 tie on
                  load and open; cy was never assigned, so cy (longest since last)
                  (cy 1, full; closes d5 = d3 + hold 2)
    L7 d4      -> low, rotation after ann: bob (cy is full)  (bob 2; closes d6)

NEW = tiny-v2.policy: b leads are queued in `partners`; high prefers new, then mid.

    L1 d1 high -> prefer new: cy                          (cy 1, full; closes d3)
    L2 d1 low  -> rotation: ann                           (closes d2)
    L3 d2      -> exception kind_b: queue partners (no rep)
    L6 d3      -> L1 closes (cy 0); high, prefer new: cy   (closes d5)
    L7 d4      -> low, rotation after ann: bob            (closes d6)
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from policyd.checks.load import load_path
from policyd.replay.review import render_report, run_report

ROOT = Path(__file__).parent.parent
DATA = ROOT / "tests" / "data" / "replay"


def tiny_review(**kw):
    old = load_path(DATA / "tiny.policy").compiled
    new = load_path(DATA / "tiny-v2.policy").compiled
    return run_report(
        [("old", "tiny.policy", old), ("new", "tiny-v2.policy", new)],
        str(DATA / "tiny.csv"),
        str(DATA / "tiny.map.toml"),
        hold_days=2,
        seed="s",
        **kw,
    )


@pytest.fixture(scope="module")
def report():
    return tiny_review(sample=1)


def rep(report, run: int, name: str) -> dict:
    return next(r for r in report["runs"][run]["reps"] if r["rep"] == name)


def test_intake_counts_every_row(report):
    i = report["input"]
    assert (i["read"], i["replayed"], i["rejected"]) == (7, 5, 2)
    assert i["rejected_by_field"] == {"arrived": 1, "size": 1}
    assert i["first_rejects"] == [
        'tiny.csv:5: size: "abc" from size is not a whole number',
        "tiny.csv:6: arrived: no arrival time (empty), so the lead cannot be placed in time",
    ]
    # L7's kind "A" is rewritten by the value map
    assert i["notes"] == [{"text": "kind: 'A' read as 'a'", "count": 1}]
    assert i["span"] == {"from": "2024-01-01", "to": "2024-01-04"}
    assert report["unknown_reps"] == {"dan_smith": 1}  # L3's "Dan Smith" is not on the team


def test_per_rep_counts_tiers_value_and_peak(report):
    # OLD: ann L1 (high) L2 (low); bob L3 (high) L7 (low); cy L6 (high)
    assert [(r["rep"], r["count"], r["tiers"]) for r in report["runs"][0]["reps"]] == [
        ("ann", 2, {"high": 1, "low": 1}),
        ("bob", 2, {"high": 1, "low": 1}),
        ("cy", 1, {"high": 1, "low": 0}),
    ]
    # value: ann L1 100 + L2 0; bob L3 300 + L7 50; cy L6 has no value
    assert [rep(report, 0, n)["value"] for n in ("ann", "bob", "cy")] == [100.0, 350.0, 0.0]
    # peak open: ann 2 after L2, bob 2 after L7, cy 1
    assert [rep(report, 0, n)["peak_open"] for n in ("ann", "bob", "cy")] == [2, 2, 1]
    # share of the 3 high-tier leads: a third each
    assert [rep(report, 0, n)["top_share"] for n in ("ann", "bob", "cy")] == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    # NEW: ann L2 (low); bob L7 (low); cy L1, L6 (high); L3 queued
    assert [(r["rep"], r["count"], r["tiers"]) for r in report["runs"][1]["reps"]] == [
        ("ann", 1, {"high": 0, "low": 1}),
        ("bob", 1, {"high": 0, "low": 1}),
        ("cy", 2, {"high": 2, "low": 0}),
    ]
    assert [rep(report, 1, n)["value"] for n in ("ann", "bob", "cy")] == [0.0, 50.0, 100.0]
    assert [rep(report, 1, n)["peak_open"] for n in ("ann", "bob", "cy")] == [1, 1, 1]
    # 2 high-tier leads were assigned (L3 was queued): both to cy
    assert report["runs"][1]["top_total"] == 2
    assert [rep(report, 1, n)["top_share"] for n in ("ann", "bob", "cy")] == [0.0, 0.0, 1.0]


def test_outcome_counts(report):
    old, new = report["runs"]
    assert (old["assigned"], old["queued"], old["queues"]) == (5, 0, {})
    assert (new["assigned"], new["queued"], new["queues"]) == (4, 1, {"partners": 1})
    assert old["tiers"] == new["tiers"] == {"high": 3, "low": 2}
    assert old["by"] == {"route": 4, "exception": 1}
    assert new["by"] == {"route": 4, "exception": 1}  # the queueing exception counts as fired
    assert old["exceptions"] == new["exceptions"] == {"kind_b": 1}
    # still open at the end: OLD bob L3, L7 and cy L6 = 3; NEW cy L6 and bob L7 = 2
    assert (old["open_at_end"], new["open_at_end"]) == (3, 2)
    assert old["lottery"] == new["lottery"] == []


def test_fairness_figures(report):
    old, new = report["runs"]
    # OLD counts [2, 2, 1]: mean 5/3, variance (1/9 + 1/9 + 4/9) / 3 = 2/9,
    # cv = (sqrt(2)/3) / (5/3) = sqrt(2)/5 = 0.2828; Gini = sum|xi-xj| over ordered
    # pairs (4) / (2 * 3^2 * 5/3 = 30) = 0.1333; max/min = 2/1
    a = old["fairness"]["all"]
    assert a["cv"] == pytest.approx(math.sqrt(2) / 5)
    assert a["gini"] == pytest.approx(4 / 30)
    assert a["max_min"] == 2.0
    # OLD high tier [1, 1, 1]: perfectly even
    t = old["fairness"]["top"]
    assert (t["cv"], t["gini"], t["max_min"]) == (0.0, 0.0, 1.0)
    # NEW counts [1, 1, 2]: mean 4/3, variance 2/9, cv = (sqrt(2)/3) / (4/3) = sqrt(2)/4;
    # Gini = 4 / (2 * 9 * 4/3 = 24) = 1/6; max/min = 2
    a = new["fairness"]["all"]
    assert a["cv"] == pytest.approx(math.sqrt(2) / 4)
    assert a["gini"] == pytest.approx(1 / 6)
    assert a["max_min"] == 2.0
    # NEW high tier [0, 0, 2]: mean 2/3, variance (4/9 + 4/9 + 16/9) / 3 = 8/9,
    # cv = (2*sqrt(2)/3) / (2/3) = sqrt(2); Gini = 8 / (2 * 9 * 2/3 = 12) = 2/3;
    # max/min undefined (a rep got none)
    t = new["fairness"]["top"]
    assert t["cv"] == pytest.approx(math.sqrt(2))
    assert t["gini"] == pytest.approx(2 / 3)
    assert t["max_min"] is None


def test_agreement_with_history(report):
    old, new = report["runs"]
    # history: L1 ann, L2 bob, L3 dan_smith (not on the team), L6 cy, L7 ann
    # OLD gave L1 ann (same), L2 ann, L6 cy (same), L7 bob: 2 of 4
    assert old["agreement"] == {"with_assignee": 4, "same": 2, "share": 0.5, "unknown": {"dan_smith": 1}}
    # NEW gave L1 cy, L2 ann, L6 cy (same), L7 bob: 1 of 4
    assert new["agreement"] == {"with_assignee": 4, "same": 1, "share": 0.25, "unknown": {"dan_smith": 1}}


def test_conversion_by_tier_and_score(report):
    # closed: L1 won (high, 2 points), L2 lost (low, 1), L3 won (high, 2), L7 won (low, 1); L6 is open
    for run in report["runs"]:
        conv = run["conversion"]
        assert conv["closed"] == 4
        assert conv["tier"] == [
            {"tier": "high", "closed": 2, "won": 2, "rate": 1.0},
            {"tier": "low", "closed": 2, "won": 1, "rate": 0.5},
        ]
        assert conv["score"] == [
            {"score": 1, "closed": 2, "won": 1, "rate": 0.5},
            {"score": 2, "closed": 2, "won": 2, "rate": 1.0},
        ]


def test_moves_flip_matrix_and_sample(report):
    m = report["moves"]
    # L1 ann -> cy and L3 bob -> queue partners; L2, L6, L7 stay
    assert (m["count"], m["share"]) == (2, 0.4)
    assert m["flips"] == [{"from": "ann", "to": "cy", "count": 1}, {"from": "bob", "to": "queue partners", "count": 1}]
    assert m["causes"] == [{"old": "exception", "new": "exception", "count": 1}, {"old": "route", "new": "route", "count": 1}]
    assert m["matrix"]["froms"] == ["ann", "bob"] and m["matrix"]["tos"] == ["cy", "queue partners"]
    assert [[c["count"] for c in row["cells"]] for row in m["matrix"]["rows"]] == [[1, 0], [0, 1]]
    (s,) = m["sample"]
    assert (s["lead_id"], s["old"], s["new"]) == ("L1", "ann", "cy")
    assert s["old_text"].startswith("Lead L1 -> ann\n  tier high (score 2), by route high")
    assert s["new_text"].startswith("Lead L1 -> cy\n  tier high (score 2), by route high")


def test_load_over_time(report):
    old, new = report["runs"]
    # (day, open in total, busiest rep, least busy rep) after each day's last lead
    assert [(p["day"], p["open"], p["max"], p["min"]) for p in old["load"]] == [
        ("2024-01-01", 2, 2, 0),  # ann 2
        ("2024-01-02", 2, 1, 0),  # ann 1 (L2 closed), bob 1
        ("2024-01-03", 2, 1, 0),  # bob 1, cy 1 (L1 closed)
        ("2024-01-04", 3, 2, 0),  # bob 2, cy 1
    ]
    assert [(p["day"], p["open"], p["max"], p["min"]) for p in new["load"]] == [
        ("2024-01-01", 2, 1, 0),  # ann 1, cy 1
        ("2024-01-02", 1, 1, 0),  # cy 1 (L2 closed; L3 queued)
        ("2024-01-03", 1, 1, 0),  # cy 1 (L1 closed, L6 opened)
        ("2024-01-04", 2, 1, 0),  # bob 1, cy 1
    ]


def test_charts_cover_reps_tiers_and_load(report):
    assert [c["key"] for c in report["charts"]] == ["reps", "tiers-old", "tiers-new", "load", "open", "calibration"]
    reps = report["charts"][0]
    # one bar per rep per policy, in team order, titled with the count
    assert [b["title"] for b in reps["bars"]] == [
        "ann, old (tiny): 2",
        "ann, new (tiny_v2): 1",
        "bob, old (tiny): 2",
        "bob, new (tiny_v2): 1",
        "cy, old (tiny): 1",
        "cy, new (tiny_v2): 2",
    ]


def test_same_inputs_give_the_same_report():
    a, b = tiny_review(sample=2), tiny_review(sample=2)
    assert render_report(a, "json") == render_report(b, "json")
    assert render_report(a, "text") == render_report(b, "text")
    assert render_report(a, "html") == render_report(b, "html")


def test_json_report_has_no_absolute_paths(report):
    text = render_report(report, "json")
    assert str(ROOT) not in text
    assert json.loads(text)["input"]["leads"] == "tiny.csv"


def test_text_report(report, snapshot):
    assert render_report(report, "text") == snapshot


def test_markdown_report(report, snapshot):
    assert render_report(report, "md") == snapshot


def test_html_report(report, snapshot):
    assert render_report(report, "html") == snapshot
