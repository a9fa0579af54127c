"""Durable enqueues on the session's Sentinel set: group commit, backpressure, NOSCRIPT."""

from __future__ import annotations

import asyncio

from jeex_cache import CacheManager, Settings
from tests.conftest import raw_redis


async def test_concurrent_enqueues_wait_in_order_rather_than_fail(sentinel_url: str) -> None:
    # Two dedicated connections, two hundred callers: they share batches (one WAIT each)
    # and queue for a lane; none fails for want of a connection.
    settings = Settings(redis_url=sentinel_url, redis_max_connections=2)
    async with CacheManager(settings) as cache:

        async def enqueue(i: int) -> str:
            await asyncio.sleep(i % 7 / 1000)  # over several loop iterations: lanes contend
            return await cache.enqueue_task("many", "job", {"i": i})

        ids = await asyncio.gather(*(enqueue(i) for i in range(200)))
        statuses = [await cache.get_task_status(task_id) for task_id in ids]
    assert len(set(ids)) == 200
    assert all(status is not None for status in statuses)


async def test_enqueue_reloads_its_script_on_a_server_without_it(sentinel_url: str) -> None:
    # SCRIPT LOAD is not replicated: a promoted replica answers NOSCRIPT at first.
    async with CacheManager(Settings(redis_url=sentinel_url)) as cache:
        with raw_redis(sentinel_url) as raw:
            raw.script_flush()
        first, second = await asyncio.gather(
            cache.enqueue_task("noscript", "job", {}), cache.enqueue_task("noscript", "job", {})
        )
        assert await cache.get_task_status(first) is not None
        assert await cache.get_task_status(second) is not None
