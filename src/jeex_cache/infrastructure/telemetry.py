"""Per-operation metrics from a bounded latency buffer, and OpenTelemetry when configured.

``Telemetry.record`` is on every call's path, so it does little: a counter, a deque append,
a comparison. Percentiles are computed when someone asks (``snapshot``). OpenTelemetry spans
and instruments are used only when an SDK provider is installed before ``initialize()``;
with the API alone they would cost microseconds per call for nothing.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from opentelemetry import metrics, trace

__all__ = ["OperationStats", "Telemetry", "otel_meter", "otel_tracer"]

_RECENT_SLOW = 10


class OperationStats:
    """Counts and recent latencies (seconds) of one operation."""

    __slots__ = ("count", "errors", "family", "hits", "latencies", "misses", "slow")

    def __init__(self, family: str, buffer_size: int) -> None:
        self.family = family
        self.count = 0
        self.errors = 0
        self.hits = 0
        self.misses = 0
        self.latencies: deque[float] = deque(maxlen=buffer_size)
        self.slow = 0

    def summary(self) -> dict[str, Any]:
        """Counts, hit ratio and p50/p95/p99 (milliseconds) of the buffered latencies."""
        ordered = sorted(self.latencies)
        lookups = self.hits + self.misses
        return {
            "family": self.family,
            "count": self.count,
            "errors": self.errors,
            "error_rate": round(self.errors / self.count, 4) if self.count else 0.0,
            "hits": self.hits,
            "misses": self.misses,
            "hit_ratio": round(self.hits / lookups, 4) if lookups else None,
            "slow": self.slow,
            "latency_ms": {
                "p50": _percentile(ordered, 0.50),
                "p95": _percentile(ordered, 0.95),
                "p99": _percentile(ordered, 0.99),
                "samples": len(ordered),
            },
        }


def _percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return round(ordered[index] * 1000, 3)


class Telemetry:
    """Operation statistics of one manager; ``snapshot()`` is the spec's metrics view."""

    def __init__(self, buffer_size: int, slow_threshold_ms: float) -> None:
        self.buffer_size = buffer_size
        self.slow_threshold = slow_threshold_ms / 1000
        self.operations: dict[str, OperationStats] = {}
        self.recent_slow: deque[dict[str, Any]] = deque(maxlen=_RECENT_SLOW)
        self.started_at = time.time()
        self._last_asked = (0, 0)

    def stats(self, operation: str, family: str) -> OperationStats:
        """The statistics of ``operation``, created on first use."""
        stats = self.operations.get(operation)
        if stats is None:
            stats = self.operations[operation] = OperationStats(family, self.buffer_size)
        return stats

    def slow_call(self, operation: str, seconds: float) -> None:
        """Remember a call slower than the threshold (the caller counted it)."""
        self.recent_slow.append(
            {"operation": operation, "ms": round(seconds * 1000, 3), "at": time.time()}
        )

    def error_rate_since_last_asked(self) -> float:
        """Failed share of the calls made since the previous call of this method.

        Health checks ask every ``CACHE_HEALTH_CHECK_INTERVAL``, so this is the error rate
        of the last interval: an outage that is over stops counting after one interval.
        """
        calls = sum(s.count for s in self.operations.values())
        errors = sum(s.errors for s in self.operations.values())
        previous_calls, previous_errors = self._last_asked
        self._last_asked = (calls, errors)
        new_calls = calls - previous_calls
        return round((errors - previous_errors) / new_calls, 4) if new_calls else 0.0

    def snapshot(self) -> dict[str, Any]:
        """Per-operation summaries, totals and ``slow_operations`` (count, threshold, recent)."""
        operations = {name: s.summary() for name, s in sorted(self.operations.items())}
        total = sum(s.count for s in self.operations.values())
        errors = sum(s.errors for s in self.operations.values())
        hits = sum(s.hits for s in self.operations.values())
        lookups = hits + sum(s.misses for s in self.operations.values())
        return {
            "operations": operations,
            "totals": {
                "count": total,
                "errors": errors,
                "error_rate": round(errors / total, 4) if total else 0.0,
                "hit_ratio": round(hits / lookups, 4) if lookups else None,
            },
            "slow_operations": {
                "count": sum(s.slow for s in self.operations.values()),
                "threshold_ms": self.slow_threshold * 1000,
                "recent": list(self.recent_slow),
            },
            "since": self.started_at,
        }


def otel_tracer(provider: trace.TracerProvider | None = None) -> trace.Tracer | None:
    """Our tracer from ``provider`` or the global one when an SDK installed it, else None
    (then no spans at all)."""
    provider = provider or trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return provider.get_tracer("jeex_cache")


def otel_meter(provider: metrics.MeterProvider | None = None) -> metrics.Meter | None:
    """Our meter from ``provider`` or the global one when an SDK installed it, else None."""
    provider = provider or metrics.get_meter_provider()
    if isinstance(provider, metrics.NoOpMeterProvider) or type(provider).__name__.startswith(
        "_Proxy"
    ):
        return None
    return provider.get_meter("jeex_cache")
