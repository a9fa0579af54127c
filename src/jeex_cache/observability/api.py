"""Health, performance metrics and maintenance: the observability part of ``CacheManager``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from jeex_cache.backends import Backend
from jeex_cache.core.resilience import guarded
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.observability.failures import MAINTENANCE
from jeex_cache.observability.health import CacheHealthService

__all__ = ["Expiring", "ObservabilityAPI"]


@runtime_checkable
class Expiring(Protocol):
    """A repository that keeps expired leftovers until swept (``cleanup_expired_entries``)."""

    async def cleanup_expired(self) -> int: ...


class ObservabilityAPI:
    """``health_check``, ``get_performance_metrics``, ``cleanup_expired_entries``."""

    runtime: OperationRuntime
    last_health: dict[str, Any] | None
    _backend: Backend | None
    _health: CacheHealthService  # set by ``CacheManager.initialize()``
    _expiring: Sequence[Expiring]  # likewise: the repositories that keep expired leftovers

    @property
    def health_service(self) -> CacheHealthService:
        """Health probes (``get_memory_usage()``)."""
        return self._health

    @property
    def degraded(self) -> bool:
        """True while the backend is failing (breaker not closed, or the last call failed).

        A miss and an outage look alike in ``get_project_data``'s None; this tells them
        apart, as does ``health_check()``.
        """
        backend = self._backend
        breaker = backend.breaker if backend is not None else None
        return self.runtime.tracker.degraded or (
            breaker is not None and breaker.state.value != "closed"
        )

    async def health_check(self) -> dict[str, Any]:
        """``status`` (healthy / degraded / unhealthy) with ping latency, ``memory`` (used,
        max, usage_percentage), circuit state, pool use and the recent error rate."""
        report = await self._health.check()
        self.last_health = report
        if report["status"] != "unhealthy":
            self.runtime.tracker.succeeded()  # the backend answered: no longer degraded
        return report

    async def get_performance_metrics(self) -> dict[str, Any]:
        """Per-operation counts, hits, misses, hit ratio, errors and p50/p95/p99 latency
        (from the last ``CACHE_METRICS_BUFFER_SIZE`` calls), totals, ``slow_operations``
        (count, threshold_ms, recent examples) and the backend's circuit and pool."""
        metrics = self.runtime.telemetry.snapshot()
        backend = self._backend
        if backend is not None:
            metrics["backend"] = {"name": backend.name}
            metrics["backend"].update(backend.status())
        metrics["failures"] = dict(self.runtime.tracker.failures)
        return metrics

    @guarded(MAINTENANCE, idempotent=True)
    async def cleanup_expired_entries(self) -> int:
        """Drop what has expired but still takes memory; return how much was removed.

        Memory backend: expired entries. Redis expires keys itself; this prunes the members
        of project and tag indexes whose entries have expired (an admin operation that
        walks the namespace with SCAN, never used on a request path).
        """
        removed = 0
        for repository in self._expiring:  # the project cache's
            removed += await repository.cleanup_expired()
        return removed
