"""Metrics of several processes (``uvicorn --workers N``): prometheus-client's multi-process mode.

Each process keeps its own counters, so a scrape reaching one worker would see a fraction of
the traffic. With ``PROMETHEUS_MULTIPROC_DIR`` set (an empty directory every process can
write, wiped before the service starts) each process mirrors its operation counters and
latency histograms into prometheus-client's files there every ``MIRROR_INTERVAL`` seconds and
at shutdown, and ``GET /metrics`` on any worker adds up the files of all of them. Gauges are
read live by the worker that answers: memory and queue depths are the backend's own; circuit
state and in-flight commands are that worker's.

The mirror adds deltas to prometheus-client's histogram buckets (``_buckets``, ``_sum``) because
its public API only observes one value at a time; prometheus-client is pinned for that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from prometheus_client import Counter, Histogram

from jeex_cache.core.telemetry import LATENCY_BUCKETS
from jeex_cache.manager import CacheManager
from jeex_cache.metrics import merged_operations

__all__ = ["MIRROR_INTERVAL", "Mirror", "directory"]

MIRROR_INTERVAL = 1.0
_COUNTS = ("count", "errors", "slow")


def directory() -> str | None:
    """``PROMETHEUS_MULTIPROC_DIR``, when multi-process mode is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Mirror:
    """Copies one manager's operation metrics into prometheus-client's multi-process files."""

    def __init__(self, manager: CacheManager) -> None:
        self._manager = manager
        labels = ["operation", "family"]
        self._counters = {
            "count": Counter("jeex_cache_operations", "Calls by operation.", labels, registry=None),
            "errors": Counter(
                "jeex_cache_operation_errors", "Calls that ended in a backend failure.", labels,
                registry=None,
            ),
            "slow": Counter(
                "jeex_cache_slow_operations", "Calls over CACHE_SLOW_OPERATION_THRESHOLD.", labels,
                registry=None,
            ),
        }  # fmt: skip
        self._lookups = Counter(
            "jeex_cache_lookups", "Cache reads by result (hit or miss).", [*labels, "result"],
            registry=None,
        )  # fmt: skip
        self._latency = Histogram(
            "jeex_cache_operation_duration_seconds", "Latency of calls by operation.", labels,
            buckets=LATENCY_BUCKETS, registry=None,
        )  # fmt: skip
        self._seen: dict[str, dict[str, Any]] = {}
        self._task: asyncio.Task[None] | None = None

    async def flush(self) -> None:
        """Add what happened since the last flush to the files."""
        metrics = await self._manager.get_performance_metrics()
        for name, stats in merged_operations(metrics.get("operations", {})).items():
            before = self._seen.get(name)
            values = (name, stats["family"])
            for field in _COUNTS:
                delta = stats[field] - (before[field] if before else 0)
                if delta:
                    self._counters[field].labels(*values).inc(delta)
            for result, field in (("hit", "hits"), ("miss", "misses")):
                delta = stats[field] - (before[field] if before else 0)
                if delta:
                    self._lookups.labels(*values, result).inc(delta)
            histogram = stats["histogram"]
            child = self._latency.labels(*values)
            old = before["histogram"] if before else {"counts": [0] * len(histogram["counts"])}
            pairs = zip(histogram["counts"], old["counts"], strict=True)
            for bucket, (now, then) in enumerate(pairs):
                if now > then:
                    child._buckets[bucket].inc(now - then)
            child._sum.inc(histogram["sum"] - (old.get("sum", 0.0)))
            self._seen[name] = stats

    def start(self) -> None:
        """Flush every ``MIRROR_INTERVAL`` seconds until ``stop``."""
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(MIRROR_INTERVAL)
            await self.flush()

    async def stop(self) -> None:
        """Stop the periodic flush, then flush once more."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
