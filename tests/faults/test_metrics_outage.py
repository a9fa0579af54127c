"""Metrics that stay: with the server down, every gauge is still scraped; the reads that
failed show NaN, ``jeex_cache_refresh_failed`` names them and ``jeex_cache_up`` is 0."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from jeex_cache import CacheManager, Settings
from jeex_cache.metrics import JeexCollector
from jeex_cache.testing import RedisServer


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer.start() as own:
        yield own


def _samples(collector: JeexCollector) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.values()))): sample.value
        for family in collector.collect()
        for sample in family.samples
    }


async def test_gauges_report_an_outage_instead_of_vanishing(server: RedisServer) -> None:
    settings = Settings(redis_url=server.url, metrics_queues="jobs", redis_connect_timeout=0.2)
    async with CacheManager(settings) as cache:
        collector = JeexCollector(cache)
        await collector.refresh()
        before = _samples(collector)
        server.kill()
        await collector.refresh()
        during = _samples(collector)
    assert set(before) <= set(during)  # nothing vanished
    assert before[("jeex_cache_up", ("redis",))] == 1
    assert during[("jeex_cache_up", ("redis",))] == 0
    assert math.isnan(during[("jeex_cache_memory_used_bytes", ())])
    assert math.isnan(during[("jeex_cache_queue_tasks", ("jobs", "pending"))])
    assert during[("jeex_cache_refresh_failed", ("memory",))] == 1
    assert during[("jeex_cache_refresh_failed", ("queue:jobs",))] == 1
    assert before[("jeex_cache_refresh_failed", ("memory",))] == 0
