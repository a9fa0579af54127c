"""The failure policy against a real redis-server that is killed, paused and restarted."""

from __future__ import annotations

import logging
import time
from uuid import uuid4

import pytest

from jeex_cache import CacheManager, Settings
from jeex_cache.testing import RedisServer
from tests.faults.conftest import SOCKET_TIMEOUT


async def test_reads_miss_and_writes_fail_while_redis_is_down(
    cache: CacheManager, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    project = uuid4()
    assert await cache.cache_project_data(project, {"a": 1})
    server.kill()
    with caplog.at_level(logging.WARNING, logger="jeex_cache"):
        assert await cache.get_project_data(project) is None
        assert await cache.cache_project_data(project, {"a": 2}) is False
        assert not await cache.write_project_data(project, {"a": 2})
        assert await cache.invalidate_project_cache(project, "x") == 0
        assert await cache.invalidate_by_tag("t") == 0
        assert await cache.project(project).keys() == []
    assert cache.failure_tracker.degraded
    assert cache.failure_tracker.failures["get_project_data"] == 1
    assert any("get_project_data" in record.getMessage() for record in caplog.records)
    health = await cache.health_check()
    assert health["status"] == "unhealthy"


async def test_bad_input_still_raises_while_redis_is_down(
    cache: CacheManager, server: RedisServer
) -> None:
    server.kill()
    with pytest.raises(ValueError, match="UUID"):
        await cache.get_project_data("not a uuid")


async def test_service_recovers_when_redis_comes_back(
    cache: CacheManager, server: RedisServer
) -> None:
    project = uuid4()
    server.kill()
    assert await cache.cache_project_data(project, 1) is False
    server.restart()
    assert await cache.cache_project_data(project, 1) is True  # scripts reload on NOSCRIPT
    assert await cache.get_project_data(project) == 1
    assert not cache.failure_tracker.degraded


async def test_stalled_server_cannot_hang_a_call(cache: CacheManager, server: RedisServer) -> None:
    project = uuid4()
    await cache.cache_project_data(project, 1)
    server.pause()
    try:
        started = time.monotonic()
        assert await cache.get_project_data(project) is None
        assert await cache.cache_project_data(project, 2) is False
        elapsed = time.monotonic() - started
    finally:
        server.resume()
    # Bounded by the socket timeout per call, not by any retry loop: a generous bound that
    # only fails if a call waited for something other than its own timeout.
    assert elapsed < 10 * SOCKET_TIMEOUT


async def test_manager_starts_degraded_when_redis_is_down_at_start() -> None:
    with RedisServer.start() as server:
        url = server.url
        server.kill()
        settings = Settings(
            redis_url=url, redis_connect_timeout=0.2, circuit_breaker_failure_threshold=1000
        )
        async with CacheManager(settings) as cache:
            assert await cache.get_project_data(uuid4()) is None
            server.restart()
            project = uuid4()
            assert await cache.cache_project_data(project, {"back": True}) is True
            assert await cache.get_project_data(project) == {"back": True}


async def test_repeated_failures_log_once_per_interval(
    cache: CacheManager, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.kill()
    with caplog.at_level(logging.WARNING, logger="jeex_cache"):
        for _ in range(50):
            await cache.get_project_data(uuid4())
    reports = [r for r in caplog.records if "get_project_data" in r.getMessage()]
    assert len(reports) == 1
    assert cache.failure_tracker.failures["get_project_data"] == 50
