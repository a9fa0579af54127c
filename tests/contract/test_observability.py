"""Metrics, health and maintenance, on every backend."""

from __future__ import annotations

from uuid import uuid4

from jeex_cache import TTL, CacheManager, Settings
from tests.conftest import Elapse


async def test_performance_metrics_count_hits_misses_and_latency(manager: CacheManager) -> None:
    project = uuid4()
    await manager.cache_project_data(project, {"a": 1})
    for _ in range(3):
        await manager.get_project_data(project)
    await manager.get_project_data(uuid4())
    metrics = await manager.get_performance_metrics()
    reads = metrics["operations"]["get_project_data"]
    assert (reads["count"], reads["hits"], reads["misses"], reads["errors"]) == (4, 3, 1, 0)
    assert reads["hit_ratio"] == 0.75
    latency = reads["latency_ms"]
    assert latency["samples"] == 4
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert metrics["operations"]["cache_project_data"]["family"] == "cache_write"
    assert metrics["totals"]["count"] == 5
    assert set(metrics["slow_operations"]) == {"count", "threshold_ms", "recent"}


async def test_latency_buffer_is_bounded(manager: CacheManager) -> None:
    size = manager.settings.cache_metrics_buffer_size
    for _ in range(size + 25):
        await manager.get_project_data(uuid4())
    reads = (await manager.get_performance_metrics())["operations"]["get_project_data"]
    assert reads["count"] == size + 25
    assert reads["latency_ms"]["samples"] == size


async def test_slow_operations_are_counted_with_examples(settings: Settings) -> None:
    tiny = settings.model_copy(update={"cache_slow_operation_ms": 0.000001})
    async with CacheManager(tiny) as manager:
        await manager.get_project_data(uuid4())
        metrics = await manager.get_performance_metrics()
    slow = metrics["slow_operations"]
    assert slow["count"] >= 1
    assert slow["threshold_ms"] == 0.000001
    assert slow["recent"][0]["operation"] == "get_project_data"


async def test_health_check_reports_the_spec_fields(manager: CacheManager) -> None:
    health = await manager.health_check()
    assert health["status"] == "healthy"
    assert health["backend"] == manager.backend_name
    assert {"used", "max", "usage_percentage"} <= set(health["memory"])
    assert health["latency_ms"] >= 0
    memory = await manager.health_service.get_memory_usage()
    assert memory["usage_percentage"] >= 0
    assert not manager.degraded


async def test_health_reports_what_the_backend_is(manager: CacheManager) -> None:
    await manager.cache_project_data(uuid4(), {"a": "x" * 1000})
    health = await manager.health_check()
    memory = health["memory"]
    if manager.backend_name == "memory":
        assert "redis" not in health
        assert memory["max"] == manager.settings.cache_memory_max_bytes
        assert memory["entries"] == 1
        assert memory["evictions"] == 0
        assert memory["refusals"] == 0
        assert 1000 < memory["cache_bytes"] <= memory["used"] < 4000  # payload, record, indexes
        metrics = await manager.get_performance_metrics()
        assert metrics["backend"]["memory"]["entries"] == 1
    else:
        assert health["redis"]["reachable"] is True
        assert "entries" not in memory
    assert memory["used"] > 0


async def test_cleanup_expired_entries(manager: CacheManager, elapse: Elapse) -> None:
    project = uuid4()
    view = manager.project(project)
    await view.set("long", 1, ttl=TTL.minutes(5), tags=["t"])
    # The last write: a later one would prune the expired entry before the cleanup does.
    await view.set("short", 1, ttl=TTL.seconds(0.1), tags=["t"])
    await elapse(0.2)
    assert await manager.cleanup_expired_entries() >= 1
    assert await view.keys() == ["long"]
    assert await manager.cleanup_expired_entries() == 0


async def test_health_reads_the_durability_of_every_topology(manager: CacheManager) -> None:
    # The test servers keep nothing on disk (no AOF, no snapshots), nor does the embedded one:
    # on a cluster every master is read, and the weakest counts.
    assert (await manager.health_check())["durability"] == "none"
