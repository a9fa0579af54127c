"""The failure policy: what each family of operations does when the backend fails.

This module is the one place that applies the table of ``shared/DESIGN.md``. Public
operations are decorated with ``@guarded(Family.X)``; a ``BackendError`` raised beneath them
is retried when the operation is idempotent and time allows, then logged (rate-limited),
counted, and turned into the family's fallback, or re-raised where the table says the caller
must know. The same wrapper measures every call (``Telemetry``) and, when an OpenTelemetry
SDK is installed, opens a span and records OTel metrics. A span carries the operation, its
family and outcome, and only the attributes the operation declares (``attributes=``).
"""

from __future__ import annotations

import asyncio
import enum
import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from jeex_cache.core.circuit_breaker import CircuitOpenError
from jeex_cache.core.errors import BackendError
from jeex_cache.core.runtime import FailureTracker, OperationRuntime
from jeex_cache.core.telemetry import SpanAttributes
from jeex_cache.project_cache.model import WriteOutcome, WriteResult
from jeex_cache.rate_limit.policy import RateLimitResult

__all__ = [
    "FAILED_WRITE",
    "FAILURE_POLICY",
    "Degradation",
    "Family",
    "FailureTracker",
    "OperationRuntime",
    "guarded",
]


class Family(enum.Enum):
    """Operation families of the failure table."""

    CACHE_READ = "cache_read"
    CACHE_WRITE = "cache_write"
    CACHE_INVALIDATE = "cache_invalidate"
    RATE_LIMIT = "rate_limit"
    SESSION = "session"
    SESSION_REVOKE = "session_revoke"
    PROGRESS = "progress"
    TASK_ENQUEUE = "task_enqueue"
    TASK_CONTROL = "task_control"


@dataclass(frozen=True, slots=True)
class Degradation:
    """What a family returns when the backend fails; ``raises`` means the error propagates.

    ``answer``, when set, replaces ``fallback`` for a family whose answer depends on the
    failed call: it is called with the guarded object and the error.
    """

    fallback: Callable[[], Any]
    raises: bool = False
    why: str = ""
    answer: Callable[[Any, BackendError], Any] | None = None


def _raise() -> Any:  # pragma: no cover - never called: ``raises`` short-circuits
    raise AssertionError


FAILED_WRITE = WriteResult(WriteOutcome.FAILED, None)


def _rate_limit_answer(owner: Any, exc: BackendError) -> RateLimitResult:
    # Fail open (the spec): allow, and say why. ``RATE_LIMIT_FAIL_CLOSED`` (read through the
    # manager's ``rate_limit_fail_closed``) turns it into a refusal.
    closed = bool(getattr(owner, "rate_limit_fail_closed", False))
    return RateLimitResult.unavailable(f"rate limiting unavailable: {exc}", allowed=not closed)


# The failure table. Later capabilities add their rows here, and only here. An operation
# whose result is not of the row's type names its own neutral value (``fallback=``): an
# empty list for a listing read, ``FAILED_WRITE`` for a write that reports a WriteResult.
FAILURE_POLICY: dict[Family, Degradation] = {
    Family.CACHE_READ: Degradation(lambda: None, why="a miss: the caller has the database"),
    Family.CACHE_WRITE: Degradation(lambda: False, why="never break the request"),
    Family.CACHE_INVALIDATE: Degradation(lambda: 0, why="never break the request"),
    Family.RATE_LIMIT: Degradation(
        lambda: RateLimitResult.unavailable("rate limiting unavailable", allowed=True),
        why="allow, with error in the result (fail open; RATE_LIMIT_FAIL_CLOSED refuses)",
        answer=_rate_limit_answer,
    ),
    Family.SESSION: Degradation(lambda: None, why="deny: fail closed for security"),
    Family.SESSION_REVOKE: Degradation(
        _raise, raises=True, why="a revocation is never lost silently: the caller must retry"
    ),
    Family.PROGRESS: Degradation(lambda: None, why="never break the reported operation"),
    Family.TASK_ENQUEUE: Degradation(_raise, raises=True, why="a task is never lost silently"),
    Family.TASK_CONTROL: Degradation(_raise, raises=True, why="a task's state is never guessed"),
}


class Guarded(Protocol):
    """Anything whose operations are guarded carries an ``OperationRuntime`` (an attribute,
    not a property: it is read on every call)."""

    runtime: OperationRuntime


S = TypeVar("S", bound=Guarded)
P = ParamSpec("P")
R = TypeVar("R")


def guarded(
    family: Family,
    fallback: Callable[[], Any] | None = None,
    *,
    idempotent: bool = False,
    attributes: Mapping[str, str] | None = None,
) -> Callable[
    [Callable[Concatenate[S, P], Awaitable[R]]], Callable[Concatenate[S, P], Awaitable[R]]
]:
    """Apply the failure policy of ``family`` to an async method, and measure it.

    ``fallback`` replaces the row's value for an operation of another result type; it cannot
    turn a row that raises into one that degrades. ``idempotent`` operations are retried on
    connection-level failures (``RetryPolicy``); others never are, since a lost answer may
    hide an applied write.

    ``attributes`` declares the span's own attributes: attribute name -> parameter name (or
    ``self.<name>``), e.g. ``{"session": "session_id", "project_id": "project_id"}``. A
    session ID is exported only as its hash prefix; arguments not declared never are.
    """
    degradation = FAILURE_POLICY[family]
    if fallback is not None and degradation.raises:
        raise ValueError(f"{family.value} raises on backend failure; it has no fallback")
    neutral = degradation.fallback if fallback is None else fallback
    family_name = family.value
    counts_hits = family is Family.CACHE_READ and fallback is None
    answer = degradation.answer if fallback is None else None

    def decorate(
        method: Callable[Concatenate[S, P], Awaitable[R]],
    ) -> Callable[Concatenate[S, P], Awaitable[R]]:
        operation = method.__name__
        declared = SpanAttributes(method, attributes or {})

        def finish(runtime: OperationRuntime, result: Any, seconds: float) -> None:
            stats = runtime.telemetry.operations.get(operation)
            if stats is None:
                stats = runtime.telemetry.stats(operation, family_name)
            stats.count += 1
            stats.latencies.append(seconds)
            if counts_hits:
                if result is None:
                    stats.misses += 1
                else:
                    stats.hits += 1
            if seconds > runtime.telemetry.slow_threshold:
                stats.slow += 1
                runtime.slow(operation, seconds)
            if runtime.tracker.consecutive_failures:
                runtime.tracker.succeeded()

        async def recover(
            runtime: OperationRuntime, self: S, args: Any, kwargs: Any, exc: BackendError,
            started: float,
        ) -> R:  # fmt: skip
            retry = runtime.retry
            for attempt in range(retry.max_retries + 1):
                runtime.tracker.failed(operation, family_name, degradation.why, exc)
                delay = retry.delay(attempt)
                if (
                    not idempotent
                    or not exc.transient
                    or isinstance(exc, CircuitOpenError)
                    or attempt == retry.max_retries
                    or perf_counter() - started + delay >= retry.deadline
                ):
                    break
                await asyncio.sleep(delay)
                try:
                    result = await method(self, *args, **kwargs)
                except BackendError as again:
                    exc = again
                    continue
                finish(runtime, result, perf_counter() - started)
                return result
            stats = runtime.telemetry.stats(operation, family_name)
            stats.count += 1
            stats.errors += 1
            stats.latencies.append(perf_counter() - started)
            if degradation.raises:
                raise exc
            value: R = neutral() if answer is None else answer(self, exc)
            return value

        async def call(runtime: OperationRuntime, self: S, args: Any, kwargs: Any) -> R:
            started = perf_counter()
            try:
                result = await method(self, *args, **kwargs)
            except BackendError as exc:
                return await recover(runtime, self, args, kwargs, exc, started)
            finish(runtime, result, perf_counter() - started)
            return result

        async def traced(runtime: OperationRuntime, self: S, args: Any, kwargs: Any) -> R:
            assert runtime.tracer is not None
            started = perf_counter()
            with runtime.tracer.start_as_current_span(f"cache_manager.{operation}") as span:
                if span.is_recording():
                    span.set_attribute("operation", operation)
                    span.set_attribute("family", family_name)
                    declared.apply(span, self, args, kwargs)
                stats = runtime.telemetry.stats(operation, family_name)
                errors = stats.errors
                result = await call(runtime, self, args, kwargs)
                degraded = stats.errors != errors  # the call ended on the fallback
                outcome = "degraded" if degraded else "ok"
                if counts_hits and not degraded:
                    span.set_attribute("cache_hit", result is not None)
                    outcome = "hit" if result is not None else "miss"
                span.set_attribute("outcome", outcome)
            runtime.record(operation, family_name, perf_counter() - started, outcome)
            return result

        async def metered(runtime: OperationRuntime, self: S, args: Any, kwargs: Any) -> R:
            stats = runtime.telemetry.stats(operation, family_name)
            errors, started = stats.errors, perf_counter()
            result = await call(runtime, self, args, kwargs)
            outcome = "degraded" if stats.errors != errors else "ok"
            runtime.record(operation, family_name, perf_counter() - started, outcome)
            return result

        @functools.wraps(method)
        async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            runtime = self.runtime
            if runtime.observed:  # an OpenTelemetry SDK is installed
                if runtime.tracer is not None:
                    return await traced(runtime, self, args, kwargs)
                return await metered(runtime, self, args, kwargs)
            # The plain path, inlined: no extra coroutine frame per call.
            started = perf_counter()
            try:
                result = await method(self, *args, **kwargs)
            except BackendError as exc:
                return await recover(runtime, self, args, kwargs, exc, started)
            finish(runtime, result, perf_counter() - started)
            return result

        return run

    return decorate
