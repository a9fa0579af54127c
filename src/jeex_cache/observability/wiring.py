"""How health is wired: its probe on each backend, the health service over it."""

from __future__ import annotations

from typing import Any

from jeex_cache.backends import Backend, Capability
from jeex_cache.core.runtime import OperationRuntime
from jeex_cache.observability.health import CacheHealthRepository, CacheHealthService
from jeex_cache.observability.memory import MemoryHealthRepository
from jeex_cache.observability.redis import RedisHealthRepository

__all__ = ["HEALTH", "backend_status"]


def backend_status(backend: Backend) -> dict[str, Any]:
    """What is known without a round trip: the circuit breaker, pool use and, on the
    embedded backend, its memory (bytes used and bound, entries, evictions, refusals)."""
    status: dict[str, Any] = {}
    breaker = backend.breaker
    if breaker is not None:
        status["circuit"] = {
            "state": breaker.state.value,
            "consecutive_failures": breaker.consecutive_failures,
            "opened": breaker.transitions["open"],
        }
        if breaker.nodes:  # a cluster: each master's own
            status["circuit"]["nodes"] = {
                node: {"state": own.state.value, "opened": own.transitions["open"]}
                for node, own in sorted(breaker.nodes.items())
            }
    cluster = backend.executor.cluster if backend.executor is not None else None
    if cluster is not None:
        status["cluster"] = {
            "refreshes": cluster.refreshes,
            "map_changes": cluster.map_changes,
            "redirects": dict(cluster.redirects),
        }
    if breaker is not None:  # the last outages and slot moves, oldest first
        incidents = [*breaker.incidents, *(cluster.incidents if cluster is not None else ())]
        status["incidents"] = sorted(incidents, key=lambda incident: incident["at"])[-20:]
    if backend.pool is not None:
        status["pool"] = backend.pool()
    if backend.usage is not None:
        status["memory"] = backend.usage()
    return status


def _memory(backend: Backend) -> CacheHealthRepository:
    return MemoryHealthRepository(lambda: backend.usage() if backend.usage is not None else {})


def _redis(backend: Backend) -> CacheHealthRepository:
    assert backend.executor is not None
    return RedisHealthRepository(backend.executor)


def _service(
    repository: CacheHealthRepository, backend: Backend, runtime: OperationRuntime
) -> CacheHealthService:
    def evidence() -> dict[str, Any]:
        found = backend_status(backend)
        window = backend.settings.cache_health_check_interval
        found["error_rate"] = runtime.telemetry.recent_error_rate(window)
        return found

    return CacheHealthService(repository, backend.name, evidence)


HEALTH = Capability("health", _memory, _redis, _service)
