"""The review shows quota attainment per rep and realized target shares per route.

A team of three (ann veteran, bob mid, cy new), quota 1,000 per month (ann 2,000 as
a veteran), one route `pick shares veteran 50%, mid 50% per month then least loaded`.
Four leads on 1-4 December; the first two close won (value 600 and 300) on 2 December:

    old (shares):  L1 veteran ann, L2 mid bob, L3 veteran ann, L4 mid bob
                   ann won 600 of 2,000 (30%), bob 300 of 1,000 (30%), cy 0 of 1,000
    new (least loaded, no shares): L1 ann, L2 bob, L3 cy, L4 ann (L1 closed)
                   same won leads: ann 600, bob 300
"""

from __future__ import annotations

import json

import pytest

from policyd.checks.load import load_text
from policyd.replay.review import render_report, run_report

HEAD = """
policy shares_demo {
  owner "ops"
}

lead {
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
  capacity default 10
  quota default 1000 per month
  quota veteran 2000 per month
  rep ann veteran
  rep bob mid
  rep cy  new
}
"""
OLD = (
    HEAD
    + """
route all {
  pick shares veteran 50%, mid 50% per month then least loaded
}
"""
)
NEW = (
    HEAD
    + """
route all {
  pick least loaded
}
"""
)
MAP = """
[source]
format = "jsonl"

[history]
id = "id"
arrival = "arrival"
outcome = "outcome"
won = ["won"]
lost = ["lost"]
value = "value"
closed_at = "closed"

[fields.id]
column = "id"

[fields.value]
column = "value"
"""
ROWS = [
    {"id": "L1", "arrival": "2026-12-01T10:00:00Z", "value": 600, "outcome": "won", "closed": "2026-12-02T09:00:00Z"},
    {"id": "L2", "arrival": "2026-12-01T11:00:00Z", "value": 300, "outcome": "won", "closed": "2026-12-02T09:30:00Z"},
    {"id": "L3", "arrival": "2026-12-03T10:00:00Z", "value": 100},
    {"id": "L4", "arrival": "2026-12-04T10:00:00Z", "value": 100},
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("levers")
    (d / "leads.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    (d / "map.toml").write_text(MAP)
    old = load_text(OLD, "old.policy").compiled
    new = load_text(NEW, "new.policy").compiled
    return run_report([("old", "old.policy", old), ("new", "new.policy", new)], str(d / "leads.jsonl"), str(d / "map.toml"), seed="s")


def test_quota_attainment_per_rep_at_the_end(report):
    rows = {q["rep"]: q["runs"] for q in report["ops"]["quota"]}
    assert report["quota"]["at"] == "2026-12-04"
    ann_old, ann_new = rows["ann"]
    assert ann_old == {"target": 2000, "unit": "value", "period": "month", "won": 600, "attainment": 0.3}
    assert rows["bob"][0]["won"] == 300 and rows["bob"][0]["attainment"] == pytest.approx(0.3)
    assert rows["cy"][0]["won"] == 0 and rows["cy"][1]["attainment"] == 0.0
    assert ann_new["won"] == 600


def test_realized_shares_against_the_declared_targets(report):
    (s,) = report["ops"]["shares"]  # only the old policy picks by shares
    assert (s["label"], s["name"], s["per"], s["counted"]) == ("old", "all", "month", 4)
    assert [(lv["level"], lv["target"], lv["count"], lv["realized"]) for lv in s["levels"]] == [
        ("veteran", 0.5, 2, 0.5),
        ("mid", 0.5, 2, 0.5),
    ]


def test_text(report, snapshot):
    assert render_report(report, "text") == snapshot


def test_markdown(report, snapshot):
    assert render_report(report, "md") == snapshot


def test_html_sections(report, snapshot):
    html = render_report(report, "html")
    start = html.index("<p>Shares in")
    quota = html.index("<h2>Quota attainment")
    assert html[start : html.index("</p>", start) + 4] + "\n" + html[quota : html.index("</table>", quota) + 8] == snapshot
