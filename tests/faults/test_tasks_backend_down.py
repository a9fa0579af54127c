"""Task queues against a redis-server that is killed, paused and restarted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from jeex_cache import BackendError, CacheManager, Settings, TaskContext, TaskStatus, Worker
from jeex_cache.testing import RedisServer
from tests.conftest import eventually

TIMEOUT = 0.3


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer.start() as own:
        yield own


@pytest.fixture
async def cache(server: RedisServer) -> AsyncIterator[CacheManager]:
    settings = Settings(
        redis_url=server.url, redis_socket_timeout=TIMEOUT, redis_connect_timeout=TIMEOUT
    )
    async with CacheManager(settings) as manager:
        yield manager


async def test_enqueue_raises_when_the_task_cannot_be_stored(
    cache: CacheManager, server: RedisServer
) -> None:
    server.kill()
    with pytest.raises(BackendError):
        await cache.enqueue_task("q", "noop", {"a": 1})
    with pytest.raises(BackendError):
        await cache.get_task_status("t-1")
    with pytest.raises(BackendError):
        await cache.cancel_task("t-1")
    with pytest.raises(BackendError):
        await cache.list_dead_tasks("q")
    assert cache.failure_tracker.failures["enqueue_task"] == 1
    with pytest.raises(ValueError, match="queue name"):  # bad input is still bad input
        await cache.enqueue_task("no spaces", "noop")


async def test_enqueue_on_a_stalled_server_raises_within_the_timeout(
    cache: CacheManager, server: RedisServer
) -> None:
    server.pause()
    try:
        started = time.monotonic()
        with pytest.raises(BackendError):
            await cache.enqueue_task("q", "noop")
        elapsed = time.monotonic() - started
    finally:
        server.resume()
    assert elapsed < 10 * TIMEOUT


async def test_a_worker_rides_out_an_outage(cache: CacheManager, server: RedisServer) -> None:
    done: asyncio.Queue[str] = asyncio.Queue()

    async def note(ctx: TaskContext, payload: Any) -> None:
        await done.put(ctx.task_id)

    runner = Worker(cache, "q", {"note": note}, max_wait=0.5)
    running = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(20):
            first = await cache.enqueue_task("q", "note")
            assert await done.get() == first
            server.kill()
            # The worker fails to claim and backs off.
            await eventually(
                lambda: any(name.startswith("worker.") for name in cache.failure_tracker.failures)
            )
            server.restart()  # an empty server: the scripts are loaded again on NOSCRIPT
            second = await cache.enqueue_task("q", "note")
            assert await done.get() == second
    finally:
        runner.stop()
        async with asyncio.timeout(10):
            await running
    task = await cache.get_task_status(second)
    assert task is not None
    assert task.status is TaskStatus.SUCCEEDED
    assert any(name.startswith("worker.") for name in cache.failure_tracker.failures)


async def test_stop_is_prompt_even_while_redis_is_down(
    cache: CacheManager, server: RedisServer
) -> None:
    async def noop(ctx: TaskContext, payload: Any) -> None:
        return None

    runner = Worker(cache, "q", {"noop": noop}, max_wait=30)
    running = asyncio.create_task(runner.run())
    await asyncio.sleep(0.1)
    server.kill()
    await asyncio.sleep(0.3)
    runner.stop()
    async with asyncio.timeout(5):
        await running
