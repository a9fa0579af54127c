"""Durability is read, not assumed: ``health_check()`` and ``/health`` say what a restart of
the server keeps (none, snapshot, aof, unknown), the start logs it, and a worker warns when
its queue lives on a server without AOF. Real redis-servers with and without persistence."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis

from jeex_cache import CacheManager, Settings, TaskContext, Worker
from jeex_cache.testing import RedisServer
from jeex_cache.web import create_app
from tests.web._serve import serve

pytestmark = pytest.mark.redis_only

CASES = {
    "none": (),  # the test servers' default: --save "" --appendonly no
    "snapshot": ("--save", "3600 1"),
    "aof": ("--appendonly", "yes"),
    "unknown": ("--rename-command", "CONFIG", ""),  # CONFIG disabled: persistence unreadable
}


@pytest.fixture(params=list(CASES))
def expected(request: pytest.FixtureRequest) -> str:
    level: str = request.param
    return level


@pytest.fixture
async def cache(expected: str) -> AsyncIterator[CacheManager]:
    with RedisServer.start(*CASES[expected]) as server:
        async with CacheManager(Settings(redis_url=server.url)) as manager:
            yield manager


async def test_health_reports_the_servers_durability(cache: CacheManager, expected: str) -> None:
    report = await cache.health_check()
    assert report["status"] == "healthy"
    assert report["durability"] == expected


async def noop(ctx: TaskContext, payload: Any) -> None:
    return None


async def test_a_worker_warns_unless_tasks_live_under_aof(
    cache: CacheManager, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="jeex_cache.worker"):
        await Worker(cache, "emails", {"noop": noop}, burst=True).run()
    warnings = [r.getMessage() for r in caplog.records if "without AOF" in r.getMessage()]
    if expected == "aof":
        assert warnings == []
    else:
        [warning] = warnings
        assert f"durability: {expected}" in warning
        assert "appendonly yes" in warning


async def test_the_start_logs_the_durability(caplog: pytest.LogCaptureFixture) -> None:
    with (
        RedisServer.start("--appendonly", "yes") as server,
        caplog.at_level(logging.INFO, logger="jeex_cache"),
    ):
        async with CacheManager(Settings(redis_url=server.url)):
            pass
    assert any("durability: aof" in record.getMessage() for record in caplog.records)


async def test_an_acl_that_denies_config_gives_unknown_not_a_failure() -> None:
    with RedisServer.start() as server:
        with redis.Redis(port=server.port) as admin:
            admin.acl_setuser("default", enabled=True, nopass=True, commands=["+@all", "-config"])
        async with CacheManager(Settings(redis_url=server.url)) as cache:
            report = await cache.health_check()
            assert report["durability"] == "unknown"
            assert report["status"] == "healthy"
            assert not cache.degraded


async def test_the_embedded_backend_keeps_nothing() -> None:
    async with CacheManager(Settings(redis_url=None)) as cache:
        assert (await cache.health_check())["durability"] == "none"


async def test_http_health_shows_the_durability() -> None:
    with RedisServer.start("--appendonly", "yes") as server:
        async with serve(create_app(Settings(redis_url=server.url))) as http:
            response = await http.get("/health")
    assert response.status_code == 200
    assert response.json()["durability"] == "aof"
