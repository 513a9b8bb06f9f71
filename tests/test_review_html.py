"""The HTML review report in a real headless Chromium: no console errors, every chart drawn."""

from __future__ import annotations

from pathlib import Path

import pytest

from policyd.checks.load import load_path
from policyd.replay.review import render_report, run_report

from .browser import open_page

ROOT = Path(__file__).parent.parent
DATA = ROOT / "tests" / "data" / "replay"


@pytest.mark.slow
def test_review_html_in_chromium(tmp_path):
    old = load_path(DATA / "tiny.policy").compiled
    new = load_path(DATA / "tiny-v2.policy").compiled
    report = run_report(
        [("old", "tiny.policy", old), ("new", "tiny-v2.policy", new)],
        str(DATA / "tiny.csv"),
        str(DATA / "tiny.map.toml"),
        hold_days=2,
        sample=1,
    )
    html = tmp_path / "review.html"
    html.write_text(render_report(report, "html"), encoding="utf-8")
    text = html.read_text()
    # self-contained: no scripts, no external resources
    assert "<script" not in text and "http://" not in text and "https://" not in text
    shot = tmp_path / "review.png"
    with open_page(html, screenshot=shot) as visit:
        page = visit.page
        assert visit.errors == []
        charts = page.eval_on_selector_all("svg[data-chart]", "els => els.map(e => e.getAttribute('data-chart'))")
        assert charts == ["reps", "tiers-old", "tiers-new", "load", "open", "calibration"]
        # every chart is drawn: visible, with marks in it (bars or lines), and laid out with a size
        for key in charts:
            svg = page.locator(f'svg[data-chart="{key}"]')
            assert svg.is_visible()
            box = svg.bounding_box()
            assert box["width"] > 500 and box["height"] > 150
            assert svg.locator("rect, polyline").count() > 2
        # 3 reps x 2 policies in the per-rep chart
        assert page.locator('svg[data-chart="reps"] rect[height]:not([width="10"])').count() == 6
        assert page.locator("h1").inner_text() == "Policy review: Tiny team → Tiny team, v2"
    assert shot.stat().st_size > 10000


@pytest.mark.slow
def test_rebuilt_review_fits_1280_px_and_sorts_reps_without_script(tmp_path):
    """The Maven review at 1,280 px: nothing wider than the page, the rep table re-orders by name
    from its radio buttons (CSS only), every section ops reads is there; a screenshot is taken."""
    maven = ROOT.parent / "shared" / "data" / "maven-crm"
    report = run_report(
        [
            ("old", "maven-crm.policy", load_path(ROOT / "policies" / "maven-crm.policy").compiled),
            ("new", "maven-crm-v2.policy", load_path(ROOT / "policies" / "maven-crm-v2.policy").compiled),
        ],
        str(maven / "sales_pipeline.csv"),
        str(ROOT / "policies" / "maven-crm.map.toml"),
        hold_days=90,
        sample=1,
    )
    html = tmp_path / "review.html"
    html.write_text(render_report(report, "html"), encoding="utf-8")
    assert "<script" not in html.read_text()
    shot = tmp_path / "review-1280.png"
    with open_page(html, screenshot=shot, width=1280) as visit:
        page = visit.page
        assert visit.errors == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        # the flip matrix (35 reps folded to 12 + others, with totals) fits the page
        assert page.locator("table.matrix").bounding_box()["width"] < 1200
        assert page.locator("table.matrix tr.total").count() == 1

        def first_reps() -> list[str]:
            return page.eval_on_selector_all(
                "[data-table=rep-changes] .tr:not(.th)",
                "els => els.map(e => [e.getBoundingClientRect().top, e.firstChild.textContent])"
                ".sort((a, b) => a[0] - b[0]).slice(0, 3).map(x => x[1])",
            )

        by_change = [c["rep"] for c in report["ops"]["rep_changes"][:3]]
        assert first_reps() == by_change
        page.click("label[for=sort-name]")
        assert first_reps() == sorted(c["rep"] for c in report["ops"]["rep_changes"])[:3]
        assert page.locator("[data-calibration=old].flag").count() == 1  # flat: flagged
        text = page.locator("body").inner_text()
        assert "direct" in text and "knock-on" in text and "largest change" in text
    assert shot.stat().st_size > 50000
