"""What every guarded call carries: failure tracking, retries, metrics and tracing.

``OperationRuntime`` holds the steps of a guarded call besides its plain path (which
``core.resilience.guarded`` runs inline): ``finish`` counts a success, ``recover`` retries or
degrades a failure, ``observe`` wraps a call in a span and OTel metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from opentelemetry import metrics, trace

from jeex_cache.core.circuit_breaker import CircuitOpenError
from jeex_cache.core.errors import BackendError
from jeex_cache.core.resilience import Operation, Outcome
from jeex_cache.core.retry import RetryPolicy
from jeex_cache.core.telemetry import LATENCY_BUCKETS, Telemetry, otel_meter, otel_tracer

__all__ = ["CALL_RETRY", "FailureTracker", "Instruments", "OperationRuntime"]

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


CALL_RETRY = RetryPolicy(1.0, 2.0, 5.0, jitter=True, retries=3, deadline=0.5, at_once=True)
"""A guarded call's retries with the default settings (``MAX_RETRIES``, ``RETRY_DELAY``...)."""


class OperationRuntime:
    """Shared by a manager and its views; read once per guarded call (an attribute).

    ``guarded`` runs the plain path itself and calls ``finish`` after a success; it hands a
    failure to ``recover`` and, when an SDK is installed, the whole call to ``observe``.
    """

    def __init__(self) -> None:
        self.tracker = FailureTracker()
        self.telemetry = Telemetry(buffer_size=100, slow_threshold_ms=10.0)
        self.retry = CALL_RETRY
        self.tracer: trace.Tracer | None = None
        self.instruments: Instruments | None = None
        self.observed = False
        """True when spans or OTel metrics are recorded (an SDK provider is installed)."""
        self.peeks = True
        """Guarded reads may be answered in process (``guarded``'s ``peek``); the composition
        root clears it when nothing can be (no near cache), and no read tries."""

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

    def finish(self, op: Operation, value: Any, seconds: float) -> None:
        """Count a call that succeeded: latency, hit or miss, slow; the backend answered."""
        stats = self.telemetry.operations.get(op.name)
        if stats is None:
            stats = self.telemetry.stats(op.name, op.family.name)
        stats.count += 1
        # OperationStats.observe, inline: every successful call passes here, one frame less.
        stats.latencies.append(seconds)
        stats.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        stats.seconds += seconds
        if op.counts_hits:
            if value is None:
                stats.misses += 1
            else:
                stats.hits += 1
        if seconds > self.telemetry.slow_threshold:
            stats.slow += 1
            self.slow(op.name, seconds)
        if self.tracker.consecutive_failures:
            self.tracker.succeeded()

    async def recover(
        self, op: Operation, method: Callable[..., Awaitable[Any]], owner: object,
        args: tuple[Any, ...], kwargs: dict[str, Any], exc: BackendError, started: float,
    ) -> Outcome[Any]:  # fmt: skip
        """After a failure: retry while the policy allows, else degrade (or re-raise)."""
        retry = 0
        while True:
            self.tracker.failed(op.name, op.family.name, op.family.why, exc)
            if not op.idempotent or not exc.transient or isinstance(exc, CircuitOpenError):
                break
            wait = self.retry.wait(retry)
            if not self.retry.allows(retry, perf_counter() - started + wait):
                break
            if wait:
                await asyncio.sleep(wait)
            retry += 1
            try:
                value = await method(owner, *args, **kwargs)
            except BackendError as again:
                exc = again
                continue
            self.finish(op, value, perf_counter() - started)
            return Outcome(value)
        self.telemetry.failed(op.name, op.family.name, perf_counter() - started)
        if op.family.raises:
            raise exc
        return Outcome(op.degrade(owner, exc), exc)

    async def observe(
        self, op: Operation, method: Callable[..., Awaitable[Any]], owner: object,
        args: tuple[Any, ...], kwargs: dict[str, Any],
    ) -> Outcome[Any]:  # fmt: skip
        """A call with an SDK installed: a span (with a tracer) and OTel metrics. Its outcome
        is this call's own: ``degraded`` only if this call ended on the fallback."""
        started = perf_counter()
        if self.tracer is None:
            done = await self._call(op, method, owner, args, kwargs, started)
            self.record(op, perf_counter() - started, "degraded" if done.failed else "ok")
            return done
        with self.tracer.start_as_current_span(
            f"cache_manager.{op.name}", record_exception=False, set_status_on_exception=False
        ) as span:
            if span.is_recording():
                span.set_attribute("operation", op.name)
                span.set_attribute("family", op.family.name)
                op.attributes.apply(span, owner, args, kwargs)
            try:
                done = await self._call(op, method, owner, args, kwargs, started)
            except Exception as exc:
                _record_error(span, exc)
                raise
            result = "degraded" if done.failed else "ok"
            if op.counts_hits and not done.failed:
                span.set_attribute("cache_hit", done.value is not None)
                result = "hit" if done.value is not None else "miss"
            span.set_attribute("outcome", result)
        self.record(op, perf_counter() - started, result)
        return done

    async def _call(
        self, op: Operation, method: Callable[..., Awaitable[Any]], owner: object,
        args: tuple[Any, ...], kwargs: dict[str, Any], started: float,
    ) -> Outcome[Any]:  # fmt: skip
        try:
            value = await method(owner, *args, **kwargs)
        except BackendError as exc:
            return await self.recover(op, method, owner, args, kwargs, exc, started)
        self.finish(op, value, perf_counter() - started)
        return Outcome(value)

    def record(self, op: Operation, seconds: float, outcome: str) -> None:
        """Export one call to OpenTelemetry (only called when an SDK is installed)."""
        if self.instruments is not None:
            attributes = {"operation": op.name, "family": op.family.name, "outcome": outcome}
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


def _record_error(span: trace.Span, exc: Exception) -> None:
    """An error on ``span``: its type only. Its text may hold what the span must not (an
    identifier, a loader's message), so it stays with the caller."""
    kind = type(exc)
    span.set_status(trace.Status(trace.StatusCode.ERROR, kind.__name__))
    span.add_event("exception", {"exception.type": f"{kind.__module__}.{kind.__qualname__}"})
