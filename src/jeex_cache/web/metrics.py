"""``GET /metrics``: the manager's performance metrics in Prometheus text format (0.0.4).

With ``METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>`` (else 401).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from jeex_cache.manager import CacheManager
from jeex_cache.web.credentials import require_metrics_token

__all__ = ["render_prometheus", "router"]

router = APIRouter()

_COUNTERS = (
    ("count", "jeex_cache_operations_total", "Calls by operation."),
    ("errors", "jeex_cache_operation_errors_total", "Calls that ended in a backend failure."),
    ("hits", "jeex_cache_hits_total", "Reads that found an entry."),
    ("misses", "jeex_cache_misses_total", "Reads that found nothing."),
    ("slow", "jeex_cache_slow_operations_total", "Calls over the slow-operation threshold."),
)
_CIRCUIT_STATES = ("closed", "open", "half_open")


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    dependencies=[Depends(require_metrics_token)],
    summary="Performance metrics in Prometheus text format",
)
async def metrics(request: Request) -> PlainTextResponse:
    """Counters, latency quantiles, circuit state and pool use."""
    manager: CacheManager = request.app.state.manager
    snapshot = await manager.get_performance_metrics()
    return PlainTextResponse(
        render_prometheus(snapshot), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


def render_prometheus(snapshot: dict[str, Any]) -> str:
    """The text exposition of ``CacheManager.get_performance_metrics()``."""
    return "\n".join(_lines(snapshot)) + "\n"


def _lines(snapshot: dict[str, Any]) -> Iterator[str]:
    operations: dict[str, dict[str, Any]] = snapshot["operations"]
    for field, name, help_text in _COUNTERS:
        yield f"# HELP {name} {help_text}"
        yield f"# TYPE {name} counter"
        for operation, stats in operations.items():
            yield f"{name}{_labels(operation, stats)} {stats[field]}"
    name = "jeex_cache_operation_latency_seconds"
    yield f"# HELP {name} Latency of the most recent calls, by operation."
    yield f"# TYPE {name} summary"
    for operation, stats in operations.items():
        for quantile in ("p50", "p95", "p99"):
            value = stats["latency_ms"][quantile]
            if value is not None:
                labels = _labels(operation, stats, quantile=f"0.{quantile[1:]}")
                yield f"{name}{labels} {value / 1000:.6f}"
    yield from _backend_lines(snapshot.get("backend", {}))


def _backend_lines(backend: dict[str, Any]) -> Iterator[str]:
    circuit = backend.get("circuit")
    if circuit is not None:
        yield "# HELP jeex_cache_circuit_state 1 for the circuit breaker's current state."
        yield "# TYPE jeex_cache_circuit_state gauge"
        for state in _CIRCUIT_STATES:
            yield f'jeex_cache_circuit_state{{state="{state}"}} {int(circuit["state"] == state)}'
        yield "# TYPE jeex_cache_circuit_opened_total counter"
        yield f"jeex_cache_circuit_opened_total {circuit['opened']}"
    pool = backend.get("pool")
    if pool is not None:
        yield "# TYPE jeex_cache_pool_connections_in_use gauge"
        yield f"jeex_cache_pool_connections_in_use {pool['in_use']}"
        yield "# TYPE jeex_cache_pool_connections_max gauge"
        yield f"jeex_cache_pool_connections_max {pool['max']}"
    memory = backend.get("memory")
    if memory is not None:
        yield "# HELP jeex_cache_memory_bytes Bytes the embedded backend's project cache holds."
        yield "# TYPE jeex_cache_memory_bytes gauge"
        yield f"jeex_cache_memory_bytes {memory['used']}"
        yield "# TYPE jeex_cache_memory_max_bytes gauge"
        yield f"jeex_cache_memory_max_bytes {memory['max']}"
        yield "# TYPE jeex_cache_memory_entries gauge"
        yield f"jeex_cache_memory_entries {memory['entries']}"
        yield "# HELP jeex_cache_memory_evictions_total Entries evicted to stay within the bound."
        yield "# TYPE jeex_cache_memory_evictions_total counter"
        yield f"jeex_cache_memory_evictions_total {memory['evictions']}"


def _labels(operation: str, stats: dict[str, Any], **extra: str) -> str:
    pairs = {"operation": operation, "family": stats["family"], **extra}
    return "{" + ",".join(f'{key}="{value}"' for key, value in pairs.items()) + "}"
