"""The near cache when its tracking connection is lost: flushed at once, nothing served
while Redis is down, and rebuilt only after tracking is back (kill the server, restart it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from uuid import uuid4

import redis

from jeex_cache import CacheManager, Settings
from jeex_cache.core.transport import Limits, parse_url
from jeex_cache.project_cache.near_cache import NearCache
from jeex_cache.project_cache.near_repository import NearCachedRepository
from jeex_cache.project_cache.tracking import InvalidationTracker
from jeex_cache.testing import RedisServer

WAIT = 15.0  # a bound on reconnecting (backoff included), not a speed target


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_lost_tracking_connection_flushes_and_stops_the_near_cache(
    server: RedisServer,
) -> None:
    settings = Settings(
        redis_url=server.url,
        near_cache_max_bytes=1_000_000,
        redis_socket_timeout=0.3,
        redis_connect_timeout=0.3,
        max_retries=0,
        circuit_breaker_failure_threshold=1000,
    )
    async with CacheManager(settings) as cache:
        repo = cache._require().repositories["project_cache"]
        assert isinstance(repo, NearCachedRepository)
        near = repo.near
        await asyncio.wait_for(repo.tracker.wait_serving(), WAIT)
        project = uuid4()
        await cache.cache_project_data(project, {"v": 1})
        await until(lambda: near.stats().invalidations >= 1, "the write's own invalidation")
        assert await cache.get_project_data(project) == {"v": 1}
        await cache.get_project_data(project)
        assert near.stats().entries == 1
        flushes = near.stats().flushes

        server.kill()
        await until(lambda: not near.serving, "the loss to be noticed")
        assert near.stats().entries == 0
        assert near.stats().flushes == flushes + 1
        assert await cache.get_project_data(project) is None  # a miss: no stale L1 copy
        assert near.stats().entries == 0

        server.restart()
        with redis.Redis.from_url(server.url) as raw:  # written while we were not tracking
            raw.hset(repo.key(project, None), mapping={"d": '{"v":2}', "tg": ""})
            raw.pexpire(repo.key(project, None), 60_000)
        await asyncio.wait_for(repo.tracker.wait_serving(), WAIT)
        assert near.stats().flushes == flushes + 2  # flushed again when tracking resumed
        for _ in range(200):  # the data transport reconnects on its own schedule
            if await cache.get_project_data(project) == {"v": 2}:
                break
            await asyncio.sleep(0.02)
        assert await cache.get_project_data(project) == {"v": 2}
        await cache.get_project_data(project)
        assert near.stats().entries == 1  # rebuilt once invalidations flow again
        received = near.stats().invalidations
        with redis.Redis.from_url(server.url) as raw:
            raw.hset(repo.key(project, None), "d", '{"v":3}')
        await until(lambda: near.stats().invalidations > received, "the invalidation")
        assert await cache.get_project_data(project) == {"v": 3}


async def test_a_silent_server_is_noticed_by_the_keepalive(server: RedisServer) -> None:
    """SIGSTOP: no EOF ever comes; the PING's deadline closes the link and flushes."""
    settings = Settings(redis_url=server.url, near_cache_max_bytes=1_000_000)
    async with CacheManager(settings) as cache:
        repo = cache._require().repositories["project_cache"]
        assert isinstance(repo, NearCachedRepository)
        await asyncio.wait_for(repo.tracker.wait_serving(), WAIT)
        flushes = repo.near.stats().flushes
        server.pause()
        try:
            await until(lambda: not repo.near.serving, "the stalled link to be noticed")
            assert repo.near.stats().flushes == flushes + 1
        finally:
            server.resume()
        await asyncio.wait_for(repo.tracker.wait_serving(), WAIT)


async def test_the_tracker_follows_a_repointed_node() -> None:
    """After a failover the router's node is another server (Sentinel re-points its pool):
    the tracker drops the old server's connection, tracks the new one, and the near cache
    serves again, invalidated by the new server's writes."""
    with RedisServer.start() as old, RedisServer.start() as new:
        current = [parse_url(old.url)]
        near = NearCache(100_000)
        limits = Limits(deadline=1.0, connect_timeout=2.0)
        tracker = InvalidationTracker(near, lambda: current, "jeex:proj:", limits)
        tracker.start()
        try:
            await asyncio.wait_for(tracker.wait_serving(), 30)
            flushes = near.flushes
            current[:] = [parse_url(new.url)]  # the failover: the node is the new server now
            old.kill()
            deadline = time.monotonic() + 30
            while not near.serving or near.flushes < flushes + 2:  # suspended, resumed on `new`
                assert time.monotonic() < deadline, "the near cache never served again"
                await asyncio.sleep(0.01)
            ticket = near.begin("jeex:proj:{p}:data")
            near.store(ticket, b"1", 60_000, "")
            near.end(ticket)
            assert near.get("jeex:proj:{p}:data") == b"1"
            received = near.invalidations
            with redis.Redis.from_url(new.url) as client:
                client.set("jeex:proj:{p}:data", "2")  # a write on the new server
            while near.invalidations == received:  # its invalidation reaches us
                assert time.monotonic() < deadline, "no invalidation from the new server"
                await asyncio.sleep(0.01)
            assert near.serving
            assert near.get("jeex:proj:{p}:data") is None
        finally:
            await tracker.close()
