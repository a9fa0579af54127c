"""What every guarded call carries: failure tracking, retry policy, metrics and tracing."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass

from opentelemetry import metrics, trace

from jeex_cache.core.errors import BackendError
from jeex_cache.core.telemetry import Telemetry, otel_meter, otel_tracer

__all__ = ["FailureTracker", "Instruments", "OperationRuntime", "RetryPolicy"]

logger = logging.getLogger("jeex_cache.resilience")


class FailureTracker:
    """Counts backend failures per operation and keeps the log readable during an outage.

    The first failure of an operation is logged at WARNING; further ones at most once per
    ``log_interval`` seconds, with the number suppressed in between.
    """

    def __init__(self, log_interval: float = 10.0) -> None:
        self.failures: Counter[str] = Counter()
        self.consecutive_failures = 0
        self.last_failure: str | None = None
        self._log_interval = log_interval
        self._last_logged: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    @property
    def degraded(self) -> bool:
        """True while the latest backend call failed (an outage, not a miss)."""
        return self.consecutive_failures > 0

    def succeeded(self) -> None:
        """Record that the backend answered."""
        self.consecutive_failures = 0

    def failed(self, operation: str, family: str, why: str, exc: BackendError) -> None:
        """Record, count and (rate-limited) log one failure."""
        self.failures[operation] += 1
        self.consecutive_failures += 1
        self.last_failure = f"{operation}: {exc}"
        now = time.monotonic()
        last = self._last_logged.get(operation)
        if last is not None and now - last < self._log_interval:
            self._suppressed[operation] += 1
            return
        self._last_logged[operation] = now
        suppressed = self._suppressed.pop(operation, 0)
        logger.warning(
            "backend failure in %s (%s, %s): %s%s",
            operation,
            family,
            why,
            exc,
            f" [{suppressed} more since last report]" if suppressed else "",
            extra={"operation": operation, "family": family, "suppressed": suppressed},
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped, within a per-call deadline.

    The n-th retry waits a random time up to ``min(max_delay, base_delay * multiplier**n)``
    and happens only if that wait ends before ``deadline`` seconds since the call began: an
    outage costs a caller at most the deadline, never the sum of the backoffs.
    """

    max_retries: int = 3
    base_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 5.0
    deadline: float = 0.5

    def delay(self, retry: int) -> float:
        """The wait before retry number ``retry`` (0-based)."""
        ceiling = min(self.max_delay, self.base_delay * self.multiplier**retry)
        return random.uniform(0, ceiling)


@dataclass(frozen=True, slots=True)
class Instruments:
    """OpenTelemetry instruments, created only when an SDK meter provider is installed."""

    calls: metrics.Counter
    duration: metrics.Histogram

    @classmethod
    def create(cls, meter: metrics.Meter) -> Instruments:
        return cls(
            calls=meter.create_counter(
                "jeex_cache.operations", description="Calls by operation and outcome"
            ),
            duration=meter.create_histogram(
                "jeex_cache.operation.duration", unit="s", description="Call latency"
            ),
        )


class OperationRuntime:
    """Shared by a manager and its views; read once per guarded call (an attribute)."""

    def __init__(self) -> None:
        self.tracker = FailureTracker()
        self.telemetry = Telemetry(buffer_size=100, slow_threshold_ms=10.0)
        self.retry = RetryPolicy()
        self.tracer: trace.Tracer | None = None
        self.instruments: Instruments | None = None
        self.observed = False
        """True when spans or OTel metrics are recorded (an SDK provider is installed)."""

    def configure(
        self,
        retry: RetryPolicy,
        buffer_size: int,
        slow_threshold_ms: float,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        """Apply settings; use the given OpenTelemetry providers, else the global ones if an
        SDK has installed them by now."""
        self.retry = retry
        self.telemetry = Telemetry(buffer_size, slow_threshold_ms)
        self.tracer = otel_tracer(tracer_provider)
        meter = otel_meter(meter_provider)
        self.instruments = Instruments.create(meter) if meter is not None else None
        self.observed = self.tracer is not None or self.instruments is not None

    def record(self, operation: str, family: str, seconds: float, outcome: str) -> None:
        """Export one call to OpenTelemetry (only called when instruments exist)."""
        if self.instruments is not None:
            attributes = {"operation": operation, "family": family, "outcome": outcome}
            self.instruments.calls.add(1, attributes)
            self.instruments.duration.record(seconds, attributes)

    def slow(self, operation: str, seconds: float) -> None:
        """Log and remember a slow call."""
        self.telemetry.slow_call(operation, seconds)
        logger.info(
            "slow cache operation %s: %.2f ms",
            operation,
            seconds * 1000,
            extra={"operation": operation, "ms": round(seconds * 1000, 3)},
        )
