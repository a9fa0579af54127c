"""Per-operation metrics from a bounded latency buffer, and OpenTelemetry when configured.

``Telemetry.record`` is on every call's path, so it does little: a counter, a deque append,
a comparison. Percentiles are computed when someone asks (``snapshot``). OpenTelemetry spans
and instruments are used only when an SDK provider is installed before ``initialize()``;
with the API alone they would cost microseconds per call for nothing. A span carries only
the attributes its operation declares (``SpanAttributes``); a session only by its hash prefix.
"""

from __future__ import annotations

import hashlib
import inspect
import re
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from opentelemetry import metrics, trace

from jeex_cache.core.identifiers import is_session_id

__all__ = [
    "LATENCY_BUCKETS",
    "SESSION_ATTRIBUTE",
    "OperationStats",
    "SpanAttributes",
    "Telemetry",
    "otel_meter",
    "otel_tracer",
    "show_in_spans",
]

_RECENT_SLOW = 10

LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
"""Upper bounds (seconds) of the latency histogram: 100 µs to 5 s, then +Inf."""


class OperationStats:
    """Counts and recent latencies (seconds) of one operation."""

    __slots__ = (
        "buckets", "count", "errors", "family", "hits", "latencies", "misses", "seconds", "slow",
    )  # fmt: skip

    def __init__(self, family: str, buffer_size: int) -> None:
        self.family = family
        self.count = 0
        self.errors = 0
        self.hits = 0
        self.misses = 0
        self.latencies: deque[float] = deque(maxlen=buffer_size)
        self.slow = 0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # per bound, not cumulative; +Inf last
        self.seconds = 0.0  # the sum of every call's latency

    def observe(self, seconds: float) -> None:
        """Record one call's latency: the recent buffer and the histogram."""
        self.latencies.append(seconds)
        self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.seconds += seconds

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
            "histogram": {
                "bounds": list(LATENCY_BUCKETS),
                "counts": list(self.buckets),
                "sum": self.seconds,
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
        self._samples: deque[tuple[float, int, int]] = deque([(time.monotonic(), 0, 0)])
        self._last_failure = float("-inf")

    def stats(self, operation: str, family: str) -> OperationStats:
        """The statistics of ``operation``, created on first use."""
        stats = self.operations.get(operation)
        if stats is None:
            stats = self.operations[operation] = OperationStats(family, self.buffer_size)
        return stats

    def failed(self, operation: str, family: str, seconds: float) -> None:
        """Count a call that ended on a backend failure (after any retries). Its latency
        stays out of the histogram and percentiles, which describe answered calls: a breaker
        failing calls in microseconds would otherwise pull them down."""
        stats = self.stats(operation, family)
        stats.count += 1
        stats.errors += 1
        self._last_failure = time.monotonic()

    def slow_call(self, operation: str, seconds: float) -> None:
        """Remember a call slower than the threshold (the caller counted it)."""
        self.recent_slow.append(
            {"operation": operation, "ms": round(seconds * 1000, 3), "at": time.time()}
        )

    def recent_error_rate(self, window: float) -> float:
        """Failed share of the calls of about the last ``window`` seconds.

        Reading it changes nothing another reader sees (a dashboard polling health does not
        reset the watcher's rate); an outage that is over stops counting after ``window``.
        """
        now = time.monotonic()
        if now - self._last_failure >= window:
            return 0.0  # no failure in the window, however old the samples are
        calls = sum(s.count for s in self.operations.values())
        errors = sum(s.errors for s in self.operations.values())
        samples = self._samples
        if now - samples[-1][0] >= window / 20:  # a bounded number of samples per window
            samples.append((now, calls, errors))
        while len(samples) > 1 and samples[1][0] <= now - window:
            samples.popleft()  # keep one sample at least ``window`` old: the baseline
        _, base_calls, base_errors = samples[0]
        new_calls = calls - base_calls
        return round((errors - base_errors) / new_calls, 4) if new_calls else 0.0

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


SESSION_ATTRIBUTE = "session"
"""The span attribute of a session: the prefix of its SHA-256 that the audit log shows."""

_FINGERPRINT_LENGTH = 12  # as ``UserSession.fingerprint`` and the audit records
_MAX_TEXT = 200  # an attribute is set before the input is validated: bound what it may hold
_SELF = "self."
_OWNER = -1  # the index of a ``self.<name>`` source
_Source = tuple[str, str, int | None, Any, Callable[[Any], str | None]]


_TEXT_TYPES: tuple[type, ...] = (str, UUID)


def show_in_spans(kind: type) -> None:
    """Let a declared attribute show values of ``kind`` as their ``str()`` (a validated name,
    such as a tag; a capability registers its own). Other values are never read."""
    global _TEXT_TYPES
    if kind not in _TEXT_TYPES:
        _TEXT_TYPES = (*_TEXT_TYPES, kind)


# An attribute is read before the input is validated: only what an identifier may hold is
# shown; anything else (a malformed API key, escape sequences) may be a secret or a trap.
_SHOWN = re.compile(rf"[A-Za-z0-9_.\-@+=:]{{1,{_MAX_TEXT}}}")
MALFORMED = "(malformed)"
"""What a span shows of a declared string that is no well-formed identifier."""


def _text(value: Any) -> str | None:
    if isinstance(value, _TEXT_TYPES):
        text = str(value)
        return text if _SHOWN.fullmatch(text) else MALFORMED
    return None  # anything else (payloads, collections, iterators) is never read


def _fingerprint(value: Any) -> str | None:
    if is_session_id(value):  # the prefix of its SHA-256, as ``sessions.keys.session_digest``
        return hashlib.sha256(value.encode()).hexdigest()[:_FINGERPRINT_LENGTH]
    return None  # a malformed ID may still be someone's secret: not even a prefix of it


class SpanAttributes:
    """The span attributes one operation declares: attribute name -> a parameter of the
    method, or ``self.<name>`` (an attribute of the guarded object, e.g. a view's project).

    Resolved against the signature once, at decoration; read only for a recording span.
    A source named like a session (``session_id``, ``self._session_id``) is exported only as
    ``session``, its hash prefix, and ``session`` only from one: a declaration that would
    export a raw ID is refused.
    """

    __slots__ = ("_sources",)

    def __init__(self, method: Callable[..., Any], declared: Mapping[str, str]) -> None:
        parameters = list(inspect.signature(method).parameters.values())[1:]  # after self
        by_name = {parameter.name: parameter for parameter in parameters}
        sources: list[_Source] = []
        for attribute, source in declared.items():
            owned = source.startswith(_SELF)
            name = source[len(_SELF) :] if owned else source
            if ("session" in name) != (attribute == SESSION_ATTRIBUTE):
                raise ValueError(
                    f"{method.__name__}: a session ID is exported only as "
                    f"{SESSION_ATTRIBUTE!r} (its hash prefix), and nothing else is"
                )
            render = _fingerprint if attribute == SESSION_ATTRIBUTE else _text
            if owned:
                sources.append((attribute, name, _OWNER, None, render))
                continue
            parameter = by_name.get(name)
            if parameter is None:
                raise ValueError(f"{method.__name__} has no parameter {name!r}")
            positional = parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            index = parameters.index(parameter) if positional else None
            default = None if parameter.default is inspect.Parameter.empty else parameter.default
            sources.append((attribute, name, index, default, render))
        self._sources = tuple(sources)

    def apply(
        self, span: trace.Span, owner: object, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """Set the declared attributes of one call on ``span``."""
        for attribute, name, index, default, render in self._sources:
            if index == _OWNER:
                value = getattr(owner, name, None)
            elif name in kwargs:
                value = kwargs[name]
            elif index is not None and index < len(args):
                value = args[index]
            else:
                value = default
            text = render(value)
            if text is not None:
                span.set_attribute(attribute, text)
