"""Percentiles and summaries of latency samples (nanoseconds in, microseconds out)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LatencySummary", "percentile", "summarize"]


def percentile(ordered: Sequence[int], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) of sorted ``ordered``, linearly interpolated."""
    if not ordered:
        return math.nan
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    weight = position - low
    return ordered[low] * (1 - weight) + ordered[high] * weight


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency percentiles in microseconds over ``samples`` calls."""

    samples: int
    mean_us: float
    p50_us: float
    p95_us: float
    p99_us: float


def summarize(samples_ns: Sequence[int]) -> LatencySummary:
    """Summarise per-call durations given in nanoseconds."""
    ordered = sorted(samples_ns)
    mean = sum(ordered) / len(ordered) if ordered else math.nan
    return LatencySummary(
        samples=len(ordered),
        mean_us=mean / 1000,
        p50_us=percentile(ordered, 0.50) / 1000,
        p95_us=percentile(ordered, 0.95) / 1000,
        p99_us=percentile(ordered, 0.99) / 1000,
    )
