"""The inequality measures, on counts small enough to check by hand."""

from __future__ import annotations

import math

import pytest

from policyd.replay.fairness import cv, gini, max_min, spread


def test_even_counts_are_perfectly_fair():
    assert (cv([4, 4, 4]), gini([4, 4, 4]), max_min([4, 4, 4])) == (0.0, 0.0, 1.0)


def test_coefficient_of_variation():
    # [1, 3]: mean 2, population sd 1 -> 0.5
    assert cv([1, 3]) == 0.5
    # [0, 0, 6]: mean 2, variance (4 + 4 + 16) / 3 = 8 -> sd 2*sqrt(2), cv sqrt(2)
    assert cv([0, 0, 6]) == pytest.approx(math.sqrt(2))
    assert cv([]) == 0.0 and cv([0, 0]) == 0.0


def test_gini():
    # one rep gets everything among n: (n - 1) / n
    assert gini([0, 0, 0, 10]) == pytest.approx(3 / 4)
    # [1, 3]: |1-3| twice = 4, / (2 * 2^2 * mean 2 = 16) = 0.25
    assert gini([1, 3]) == pytest.approx(0.25)
    # order does not matter
    assert gini([3, 1, 2]) == pytest.approx(gini([1, 2, 3]))
    # [1, 2, 3]: ordered pairs sum 2*(1 + 2 + 1) = 8, / (2 * 9 * 2 = 36) = 2/9
    assert gini([1, 2, 3]) == pytest.approx(2 / 9)
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0


def test_max_min_ratio():
    assert max_min([2, 8, 4]) == 4.0
    assert max_min([0, 5]) is None  # someone got nothing: no finite ratio
    assert max_min([]) is None


def test_spread_bundles_the_three():
    assert spread([1, 3]) == {"cv": 0.5, "gini": 0.25, "max_min": 3.0, "max": 3, "min": 1}


def test_load_series_stays_bounded_over_a_long_span():
    from policyd.checks.load import load_path
    from policyd.replay.fairness import LOAD_POINTS
    from policyd.replay.records import HistoryRow
    from policyd.replay.replay import Replay

    c = load_path("tests/data/replay/tiny.policy").compiled
    days = 5 * LOAD_POINTS  # one lead a day
    rows = (HistoryRow(i + 1, "", {"id": f"D{i}", "size": 5, "kind": "a"}, f"D{i}", i * 86400.0) for i in range(days))
    r = Replay([("p", c)], hold_days=0.5)
    r.run(rows)
    load = r.lanes[0].tally.load
    assert LOAD_POINTS <= len(load) < 2 * LOAD_POINTS
    # merged points keep the last day of their span, in order, and cover the whole span
    assert [p[0] for p in load] == sorted(p[0] for p in load)
    assert load[-1][0] == days - 1
    # each lead closes half a day later, so at each day's last lead exactly one is open
    assert {p[1:] for p in load} == {(1, 1, 0)}
