"""Probabilistic early refresh (XFetch; Vattani, Chierichetti and Lowenstein, PVLDB 8(8), 2015).

A reader refreshes an entry early when ``now - delta * beta * ln(rand) >= expiry``, where
``delta`` is how long the entry's load took and ``rand`` is uniform in (0, 1]. The chance is
``exp(-(expiry - now) / (delta * beta))``: negligible far from expiry, rising to 1 at it, and
sooner for slow loads. A larger ``beta`` refreshes earlier.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["refresh_probability", "should_refresh"]


def should_refresh(
    now: float, expiry: float, delta: float, beta: float, rand: Callable[[], float]
) -> bool:
    """XFetch's test; ``rand`` returns a float in [0, 1) (``random.random``), used as 1 - x."""
    if now >= expiry:
        return True
    if delta <= 0 or beta <= 0:
        return False
    return now - delta * beta * math.log(1.0 - rand()) >= expiry


def refresh_probability(time_to_expiry: float, delta: float, beta: float) -> float:
    """The chance that ``should_refresh`` says yes ``time_to_expiry`` seconds before expiry."""
    if time_to_expiry <= 0:
        return 1.0
    if delta <= 0 or beta <= 0:
        return 0.0
    return math.exp(-time_to_expiry / (delta * beta))
