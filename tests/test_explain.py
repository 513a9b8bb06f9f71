"""Explanations a rep can follow line by line (syrupy snapshots, each read as a rep would)."""

from __future__ import annotations

import json

import pytest

from policyd.engine.decide import decide
from policyd.engine.state import State
from policyd.explain.explain import explain, render

IN = {
    "id": "L-10",
    "company": "Globex",
    "employees": 1500,
    "budget": "stated",
    "authority": "decision_maker",
    "timing_months": 2,
    "industry": "finance",
    "segment": "enterprise",
    "country": "JP",
}
EM = {"id": "E-10", "company": "Kraftwerk AG", "seats": 800, "source": "event", "segment": "enterprise", "language": "de", "urgent": True}

# (case id, policy fixture, lead, state, seed, lottery, why-not rep)
CASES = [
    ("inbound-high-route-least-loaded", "inbound", IN, State(open={"alice": 10, "carol": 12, "farah": 4}), "w48", False, "dmitri"),
    ("inbound-high-lottery-not-drawn", "inbound", dict(IN, id="L-3"), State(), "w48", True, "farah"),
    ("inbound-high-by-lottery", "inbound", dict(IN, id="L-10"), State(), "w48", True, "kofi"),
    ("inbound-named-account", "inbound", dict(IN, employees=50, budget="unknown", account_owner="erin"), State(), "w48", False, "alice"),
    (
        "inbound-named-owner-away-falls-through",
        "inbound",
        dict(IN, employees=50, budget="unknown", authority="influencer", account_owner="erin"),
        State(away=frozenset({"erin"})),
        "w48",
        False,
        "erin",
    ),
    ("inbound-strategic-exception", "inbound", dict(IN, employees=8000), State(open={"alice": 20}), "w48", False, "alice"),
    (
        "inbound-medium-round-robin",
        "inbound",
        dict(IN, employees=150, budget="considering", timing_months=None),
        State(cursors={"route:medium": "hana"}),
        "w48",
        False,
        "alice",
    ),
    (
        "inbound-low-prefer-new-tie-break",
        "inbound",
        dict(IN, employees=20, budget="unknown", authority="info_gathering", timing_months=None),
        State(open={"nadia": 3}, away=frozenset({"priya"})),
        "w48",
        False,
        "priya",
    ),
    (
        "inbound-high-falls-to-medium",
        "inbound",
        dict(IN, industry="other"),
        State(open={"alice": 30, "carol": 30, "dmitri": 25, "erin": 25, "farah": 25}),
        "w48",
        False,
        "carol",
    ),
    ("emea-hot-speaks-language-weighted", "emea", EM, State(), "s", False, "bruno"),
    ("emea-hot-prefer-second-option", "emea", dict(EM, language="ja"), State(), "s", False, "chiara"),
    ("emea-partner-exception", "emea", dict(EM, source="partner", urgent=False, seats=120), State(), "s", False, "anna"),
    ("emea-spam-queue", "emea", dict(EM, spam_score=0.93), State(), "s", False, "anna"),
    ("emea-hot-backlog-otherwise-queue", "emea", dict(EM, source="referral"), State(open={"anna": 10, "bruno": 10}), "s", False, "anna"),
    (
        "emea-warm-require-load-round-robin",
        "emea",
        dict(EM, seats=60, source="web", urgent=True, language="en"),
        State(open={"anna": 8, "bruno": 9}),
        "s",
        False,
        "anna",
    ),
    ("emea-cold-random", "emea", dict(EM, seats=5, source="web", urgent=False), State(open={"dev": 5}), "s", False, "dev"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_text_explanation(case, snapshot, request):
    name, fixture, lead, state, seed, lottery, why_not = case
    c = request.getfixturevalue(fixture).compiled
    d = decide(c, lead, state, seed, lottery=lottery)
    assert render(c, d, "text", why_not) == snapshot


def test_markdown_and_html_and_json(inbound, snapshot):
    c = inbound.compiled
    d = decide(c, IN, State(open={"alice": 10, "carol": 12, "farah": 4}), "w48", lottery=False)
    assert render(c, d, "md", "kofi") == snapshot(name="md")
    assert render(c, d, "html", "kofi") == snapshot(name="html")
    data = json.loads(render(c, d, "json", "kofi"))
    assert data == snapshot(name="json")


def test_html_escapes_lead_values(inbound):
    c = inbound.compiled
    d = decide(c, dict(IN, company="<script>alert(1)</script>"), seed="w48", lottery=False)
    html = render(c, d, "html")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_why_not_names_the_first_step_that_removed_the_rep(inbound):
    c = inbound.compiled
    d = decide(c, IN, State(open={"alice": 30}, away=frozenset({"carol"})), "w48", lottery=False)
    data = explain(c, d, "alice")
    assert data["why_not"]["answer"] == (
        "You were at capacity: 30 of 30 open leads. Removed at line 115 (route high, `available reps`): at capacity (30 open of 30)"
    )
    assert data["why_not"]["plain"] == "you were at capacity: 30 of 30 open leads"
    assert explain(c, d, "carol")["why_not"]["answer"] == "You were away. Removed at line 115 (route high, `available reps`): away"
    assert explain(c, d, "dmitri")["why_not"]["value"] == "skill(finance) = 1, needs >= 2"
    assert explain(c, d, "kofi")["why_not"]["line"] == 118
    assert explain(c, d, d.rep)["why_not"]["answer"] == "You got this lead"
    assert explain(c, d, "zed")["why_not"]["answer"] == "zed is not on the team"


def test_explanation_lists_every_score_line_that_fired_with_its_value(inbound):
    c = inbound.compiled
    data = explain(c, decide(c, dict(IN, timing_months=None), seed="x", lottery=False))
    assert [(s["block"], s["points"], s["line"]) for s in data["scores"]] == [
        ("company_size", 3, 28),
        ("budget", 3, 34),
        ("authority", 3, 40),
        ("timing", 1, 48),
    ]
    assert data["scores"][0]["values"] == [{"field": "employees", "value": 1500, "text": "1500"}]  # typed, and as shown
    assert data["total"] == 10 and data["tier"] == {"name": "high", "range": "10..12", "line": 52}
