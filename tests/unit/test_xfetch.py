"""XFetch's early-refresh test against its formula, with a seeded random source."""

from __future__ import annotations

import math
import random

import pytest

from jeex_cache.project_cache.xfetch import refresh_probability, should_refresh

EXPIRY = 1_000.0


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("time_to_expiry", [0.1, 0.5, 1.0, 2.0, 4.0])
def test_refresh_frequency_follows_the_formula(beta: float, time_to_expiry: float) -> None:
    rng = random.Random(2015)
    delta, samples = 1.0, 20_000
    now = EXPIRY - time_to_expiry
    hits = sum(should_refresh(now, EXPIRY, delta, beta, rng.random) for _ in range(samples))
    expected = math.exp(-time_to_expiry / (delta * beta))
    assert refresh_probability(time_to_expiry, delta, beta) == pytest.approx(expected)
    # Binomial spread: four standard deviations, plus a sliver for rounding.
    spread = 4 * math.sqrt(expected * (1 - expected) / samples) + 1e-3
    assert abs(hits / samples - expected) <= spread


def test_the_probability_rises_towards_expiry() -> None:
    chances = [refresh_probability(gap, 1.0, 1.0) for gap in (8, 4, 2, 1, 0.5, 0)]
    assert chances == sorted(chances)
    assert chances[-1] == 1.0


def test_edges() -> None:
    always_low = lambda: 0.0  # noqa: E731 - 1 - 0 = 1: ln(1) = 0, never early
    assert not should_refresh(EXPIRY - 0.001, EXPIRY, 10.0, 1.0, always_low)
    assert should_refresh(EXPIRY, EXPIRY, 0.0, 1.0, always_low)  # expired: always
    assert not should_refresh(EXPIRY - 1, EXPIRY, 0.0, 1.0, lambda: 0.999999)  # no delta
    assert refresh_probability(5.0, 0.0, 1.0) == 0.0
    assert refresh_probability(5.0, 1.0, 0.0) == 0.0
