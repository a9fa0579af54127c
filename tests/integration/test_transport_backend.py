"""The Redis backend on the multiplexed transport: bursts, a restart, the breaker, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from uuid import uuid4

import pytest
import redis

from jeex_cache import BackendError, CacheManager, Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker, CircuitState
from jeex_cache.testing import RedisServer
from tests.conftest import eventually


def _breaker(cache: CacheManager) -> CircuitBreaker:
    backend = cache._backend
    assert backend is not None
    breaker = backend.breaker
    assert breaker is not None
    return breaker


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer.start() as own:
        yield own


@pytest.fixture
async def own_cache(server: RedisServer) -> AsyncIterator[CacheManager]:
    async with CacheManager(Settings(redis_url=server.url)) as manager:  # default settings
        yield manager


async def test_a_burst_of_10k_writes_and_10k_hot_reads_on_default_settings(
    cache: CacheManager,
) -> None:
    projects = [uuid4() for _ in range(10_000)]
    written = await asyncio.gather(*(cache.cache_project_data(p, {"n": 1}) for p in projects))
    assert written.count(True) == 10_000
    hot = projects[0]
    read = await asyncio.gather(*(cache.get_project_data(hot) for _ in range(10_000)))
    assert read == [{"n": 1}] * 10_000


async def test_no_failure_once_the_client_has_seen_a_restart(
    own_cache: CacheManager, server: RedisServer
) -> None:
    project = uuid4()
    assert await own_cache.cache_project_data(project, 0)
    backend = own_cache._backend
    assert backend is not None
    assert backend.executor is not None
    assert backend.executor.router is not None
    pools = backend.executor.router.nodes
    old = [connection for pool in pools for connection in pool.connections]
    assert old
    server.kill()
    server.restart()  # the same port
    # Once the client has seen its old connections close (what the second stood for).
    await eventually(lambda: not any(c in pool.connections for pool in pools for c in old))
    writes = await asyncio.gather(*(own_cache.cache_project_data(project, n) for n in range(40)))
    assert writes == [True] * 40
    assert _breaker(own_cache).state is CircuitState.CLOSED
    assert _breaker(own_cache).consecutive_failures == 0


async def test_a_stall_counts_once_per_connection_not_once_per_caller(
    own_cache: CacheManager, server: RedisServer
) -> None:
    """400 writes in flight on a paused server fail by the deadline: two broken
    connections, so two breaker failures (five would open it), not 400."""
    breaker = _breaker(own_cache)
    server.pause()
    try:
        writes = await asyncio.gather(
            *(own_cache.cache_project_data(uuid4(), 1) for _ in range(400))
        )
    finally:
        server.resume()
    assert writes == [False] * 400
    assert breaker.consecutive_failures <= 2
    assert breaker.state is CircuitState.CLOSED
    assert await own_cache.cache_project_data(uuid4(), 1)


async def test_scripts_are_reloaded_after_a_flush(cache: CacheManager, raw: redis.Redis) -> None:
    project = uuid4()
    assert await cache.cache_project_data(project, 1)
    raw.script_flush()
    assert await cache.get_project_data(project) == 1
    raw.script_flush()
    session = await cache.create_user_session(uuid4())  # a pipeline of two scripts
    assert session is not None
    assert await cache.validate_user_session(session.session_id or "") is not None


async def test_an_error_reply_is_not_transient_and_keeps_the_breaker_closed(
    cache: CacheManager, raw: redis.Redis
) -> None:
    backend = cache._backend
    assert backend is not None
    executor = backend.executor
    assert executor is not None
    raw.set("jeex:plain", "x")
    with pytest.raises(BackendError) as raised:
        await executor.command("LPUSH", "jeex:plain", "y")
    assert not raised.value.transient
    assert "WRONGTYPE" in str(raised.value)
    results = await executor.batch(
        [("GET", "jeex:plain"), ("LPUSH", "jeex:plain", "y")], raise_on_error=False
    )
    assert results[0] == b"x"
    assert isinstance(results[1], BackendError)
    assert not results[1].transient
    assert _breaker(cache).consecutive_failures == 0
    assert await executor.command("HGETALL", "jeex:none") == {}
    assert (await executor.command("INFO", "memory"))["used_memory"] > 0
