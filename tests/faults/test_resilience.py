"""Circuit breaker, retries and deadlines against a real redis-server that fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import CacheManager, Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.transport import Connection, RespProtocol
from jeex_cache.testing import RedisServer
from tests.conftest import eventually

COOL_DOWN = 0.3


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer.start() as own:
        yield own


def settings_for(server: RedisServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": server.url,
        "redis_socket_timeout": 0.2,
        "redis_connect_timeout": 0.2,
        "circuit_breaker_failure_threshold": 3,
        "circuit_breaker_reset_timeout": COOL_DOWN,
        "max_retries": 0,
    }
    values.update(overrides)
    return Settings(**values)


def breaker_of(cache: CacheManager) -> CircuitBreaker:
    backend = cache._backend
    assert backend is not None
    assert backend.breaker is not None
    return backend.breaker


@pytest.fixture
async def cache(server: RedisServer) -> AsyncIterator[CacheManager]:
    """A killed server refuses at once: timeouts of seconds, so a slow machine's probe of a
    live server cannot time out."""
    settings = settings_for(server, redis_socket_timeout=5, redis_connect_timeout=5)
    async with CacheManager(settings) as manager:
        yield manager


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts what the transport queues for a socket, and its connect attempts."""
    sent: list[int] = []
    original_append = RespProtocol.append
    original_open = Connection.open.__func__  # type: ignore[attr-defined]

    def counting(self: RespProtocol, entry: Any, data: bytes, commands: int) -> None:
        sent.append(commands)
        original_append(self, entry, data, commands)

    async def opening(cls: type[Connection], *args: Any, **kwargs: Any) -> Connection:
        sent.append(0)
        connection: Connection = await original_open(cls, *args, **kwargs)
        return connection

    monkeypatch.setattr(RespProtocol, "append", counting)
    monkeypatch.setattr(Connection, "open", classmethod(opening))
    return sent


async def test_breaker_opens_and_then_fails_fast_without_the_network(
    cache: CacheManager, server: RedisServer, sends: list[int]
) -> None:
    project = uuid4()
    server.kill()
    for _ in range(3):
        assert await cache.get_project_data(project) is None
    health = await cache.health_check()
    assert health["status"] == "unhealthy"
    assert health["circuit"]["state"] == "open"
    assert cache.degraded
    sent_before = len(sends)
    results = [await cache.get_project_data(project) for _ in range(100)]
    writes = [await cache.cache_project_data(project, 1) for _ in range(100)]
    assert results == [None] * 100
    assert writes == [False] * 100
    assert len(sends) == sent_before  # nothing was sent while the circuit was open


async def test_breaker_closes_after_cool_down_and_one_probe(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with CacheManager(settings_for(server, cache_health_check_interval=1.0)) as cache:
        await _closes_after_cool_down(cache, server, monkeypatch)


async def _closes_after_cool_down(
    cache: CacheManager, server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The breaker's clock moves by hand: a slow restart cannot end the cool-down early.
    now = [0.0]
    monkeypatch.setattr(breaker_of(cache), "_monotonic", lambda: now[0])
    project = uuid4()
    server.kill()
    for _ in range(3):
        await cache.get_project_data(project)
    server.restart()
    assert await cache.cache_project_data(project, 1) is False  # still open: fails fast
    now[0] += COOL_DOWN
    assert await cache.cache_project_data(project, {"back": True}) is True  # the probe
    assert await cache.get_project_data(project) == {"back": True}
    health = await cache.health_check()
    # Closed again; the failures of the last interval (1 s) still show as degraded, however
    # often health is read: reading it resets nothing another reader sees.
    assert (health["status"], health["circuit"]["state"]) == ("degraded", "closed")
    assert health["error_rate"] > 0
    assert not cache.degraded
    again = await cache.health_check()
    assert (again["status"], again["error_rate"]) == ("degraded", health["error_rate"])
    await asyncio.sleep(1.1)
    assert (await cache.health_check())["status"] == "healthy"  # a clean interval
    metrics = await cache.get_performance_metrics()
    assert metrics["backend"]["circuit"]["opened"] == 1


async def test_background_health_check_probes_an_idle_breaker(server: RedisServer) -> None:
    settings = settings_for(server, cache_health_check_interval=0.05)
    async with CacheManager(settings) as cache:
        server.kill()
        for _ in range(3):
            await cache.get_project_data(uuid4())
        assert cache.degraded
        server.restart()
        # No traffic: only the watcher can close the breaker.
        await eventually(
            lambda: cache.last_health is not None and cache.last_health["status"] == "healthy"
        )
        assert cache.last_health is not None
        assert cache.last_health["circuit"]["state"] == "closed"
        assert not cache.degraded


async def test_idempotent_reads_are_retried_within_the_deadline(server: RedisServer) -> None:
    settings = settings_for(
        server,
        max_retries=20,
        retry_delay=0.05,
        retry_max_delay=0.05,
        cache_request_deadline=10.0,
        circuit_breaker_failure_threshold=1000,
    )
    async with CacheManager(settings) as cache:
        project = uuid4()
        server.kill()
        loop = asyncio.get_running_loop()
        loop.call_later(0.3, server.restart)
        assert await cache.get_project_data(project) is None  # a real miss, after recovery
        assert cache.failure_tracker.failures["get_project_data"] >= 1
        stats = (await cache.get_performance_metrics())["operations"]["get_project_data"]
        assert stats["errors"] == 0  # the call itself ended well
        assert stats["misses"] == 1


async def test_writes_are_never_retried(server: RedisServer) -> None:
    settings = settings_for(server, max_retries=5, retry_delay=0.01, cache_request_deadline=10.0)
    async with CacheManager(settings) as cache:
        server.kill()
        assert await cache.cache_project_data(uuid4(), 1) is False
        assert cache.failure_tracker.failures["cache_project_data"] == 1


async def test_deadline_bounds_the_retries(server: RedisServer) -> None:
    settings = settings_for(
        server,
        max_retries=20,
        retry_delay=0.05,
        retry_max_delay=0.05,
        cache_request_deadline=0.2,
        circuit_breaker_failure_threshold=1000,
    )
    async with CacheManager(settings) as cache:
        server.kill()
        assert await asyncio.wait_for(cache.get_project_data(uuid4()), timeout=5) is None
        assert cache.failure_tracker.failures["get_project_data"] < 21


async def test_a_paused_server_cannot_hang_any_call(server: RedisServer) -> None:
    async with CacheManager(settings_for(server, max_retries=3)) as cache:
        project = uuid4()
        await cache.cache_project_data(project, 1)
        server.pause()
        try:
            calls = [
                cache.get_project_data(project),
                cache.cache_project_data(project, 2),
                cache.invalidate_project_cache(project),
                cache.health_check(),
            ]
            results: list[Any] = await asyncio.wait_for(asyncio.gather(*calls), timeout=5)
        finally:
            server.resume()
    assert results[:3] == [None, False, 0]
    assert results[3]["status"] == "unhealthy"
