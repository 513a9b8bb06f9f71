"""The lottery's statistics over 100,000 draws: share, uniform winners, winners by weight.

Draws are computed with `evaluate.draw` (HMAC directly), not through `decide`, so
each test takes a fraction of a second. scipy is not a dependency: the chi-square
tail is computed exactly below and checked against a published table.
"""

from __future__ import annotations

import math

import pytest

from policyd.engine.draw import draw, draw_index
from policyd.lottery.record import recompute

N = 100_000
SEED = "d7c2a35f0e4b9a61c8f3e2d1b0a99887766554433221100ffeeddccbbaa99887"


def chi2_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with integer df (exact closed forms).

    Even df: exp(-x/2) * sum_{i < df/2} (x/2)^i / i!.
    Odd df: erfc(sqrt(x/2)) + exp(-x/2) * sum_{i=1}^{(df-1)/2} t_i, with
    t_1 = sqrt(2x/pi) and t_i = t_{i-1} * x / (2i - 1).
    """
    if x <= 0:
        return 1.0
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= (x / 2) / i
            total += term
        return math.exp(-x / 2) * total
    total = math.erfc(math.sqrt(x / 2))
    term = math.sqrt(2 * x / math.pi)
    acc = 0.0
    for i in range(1, (df - 1) // 2 + 1):
        if i > 1:
            term *= x / (2 * i - 1)
        acc += term
    return total + math.exp(-x / 2) * acc


# Critical values at p = 0.05 and p = 0.001 from the standard chi-square table (NIST/SEMATECH e-Handbook, 1.3.6.7.4).
TABLE = [
    (1, 3.841, 0.05),
    (2, 5.991, 0.05),
    (5, 11.070, 0.05),
    (1, 10.828, 0.001),
    (2, 13.816, 0.001),
    (19, 43.820, 0.001),
    (4, 18.467, 0.001),
]


@pytest.mark.parametrize("df, x, p", TABLE)
def test_chi2_tail_matches_the_published_table(df, x, p):
    assert chi2_sf(x, df) == pytest.approx(p, rel=2e-3)


def chi2(counts: list[int], expected: list[float]) -> float:
    return math.fsum((c - e) ** 2 / e for c, e in zip(counts, expected))


def test_realized_lottery_share_is_within_half_a_point_of_the_ratio():
    for ratio in (0.3, 0.1):
        entered = sum(1 for i in range(N) if draw(SEED, f"L-{i}", "entry") < ratio)
        assert abs(entered / N - ratio) < 0.005, (ratio, entered / N)


def test_winners_are_uniform_over_the_pool():
    n = 20
    counts = [0] * n
    for i in range(N):
        counts[draw_index(draw(SEED, f"L-{i}", "winner"), None, n)] += 1
    stat = chi2(counts, [N / n] * n)
    assert chi2_sf(stat, n - 1) > 0.001, (stat, counts)


def test_winners_follow_the_weights():
    weights = [1.0, 2.0, 3.0, 0.5, 3.5]
    total = sum(weights)
    counts = [0] * len(weights)
    for i in range(N):
        counts[draw_index(draw(SEED, f"L-{i}", "winner"), weights, len(weights))] += 1
    stat = chi2(counts, [N * w / total for w in weights])
    assert chi2_sf(stat, len(weights) - 1) > 0.001, (stat, counts)
    # and the test has power: the same counts are far from uniform
    assert chi2_sf(chi2(counts, [N / len(weights)] * len(weights)), len(weights) - 1) < 1e-9


def test_the_uniform_test_would_catch_a_biased_draw():
    # a draw that favours the first rep a little (2% of draws moved to it) fails the same test
    n = 20
    counts = [0] * n
    for i in range(N):
        u = draw(SEED, f"L-{i}", "winner")
        counts[0 if u > 0.98 else draw_index(u, None, n)] += 1
    assert chi2_sf(chi2(counts, [N / n] * n), n - 1) < 0.001


def test_a_changed_seed_or_lead_id_changes_most_draws():
    pool = [f"r{i}" for i in range(10)]
    base = [recompute(SEED, f"L-{i}", 0.3, pool, None) for i in range(2000)]
    other_seed = [recompute(SEED[:-1] + "0", f"L-{i}", 0.3, pool, None) for i in range(2000)]
    other_id = [recompute(SEED, f"L-{i}x", 0.3, pool, None) for i in range(2000)]
    assert all(a["entry_draw"] != b["entry_draw"] for a, b in zip(base, other_seed))
    assert all(a["entry_draw"] != b["entry_draw"] for a, b in zip(base, other_id))
