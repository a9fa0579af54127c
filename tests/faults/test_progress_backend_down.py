"""Progress never breaks the operation it reports on: Redis killed, paused and restarted."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from jeex_cache import CacheManager, InvalidProgressError, ProgressOutcome, Settings
from jeex_cache.testing import RedisServer
from tests.conftest import eventually
from tests.faults.conftest import SOCKET_TIMEOUT


@pytest.fixture
async def cache(server: RedisServer) -> AsyncIterator[CacheManager]:
    settings = Settings(
        redis_url=server.url,
        redis_socket_timeout=SOCKET_TIMEOUT,
        redis_connect_timeout=SOCKET_TIMEOUT,
    )
    async with CacheManager(settings) as manager:
        yield manager


async def test_updates_are_no_ops_while_redis_is_down(
    cache: CacheManager, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    cid = uuid4()
    assert await cache.start_progress_tracking(cid, 3)
    server.kill()
    with caplog.at_level(logging.WARNING, logger="jeex_cache"):
        for result in (
            await cache.start_progress_tracking(uuid4(), 3),
            await cache.increment_progress(cid, "one"),
            await cache.update_progress(cid, 2, "two"),
            await cache.complete_progress(cid, "done"),
            await cache.fail_progress(cid, "boom"),
        ):
            assert not result
            assert result.outcome is ProgressOutcome.UNAVAILABLE
        assert await cache.get_progress(cid) is None
        async with asyncio.timeout(5):
            assert [e async for e in cache.progress_events(cid)] == []
    assert cache.failure_tracker.degraded
    for operation in ("increment_progress", "get_progress", "progress_events"):
        assert cache.failure_tracker.failures[operation] == 1
    assert any("increment_progress" in record.getMessage() for record in caplog.records)


async def test_bad_input_still_raises_while_redis_is_down(
    cache: CacheManager, server: RedisServer
) -> None:
    server.kill()
    with pytest.raises(InvalidProgressError):
        await cache.start_progress_tracking(uuid4(), 0)


async def test_a_live_listener_ends_when_redis_dies(
    cache: CacheManager, server: RedisServer
) -> None:
    cid = uuid4()
    await cache.start_progress_tracking(cid, 3)
    seen: list[int] = []

    async def listen() -> None:
        async for event in cache.progress_events(cid, check_every=0.2):
            seen.append(event.current_step)

    listener = asyncio.create_task(listen())
    await eventually(lambda: seen == [0])
    await cache.increment_progress(cid)
    await eventually(lambda: seen == [0, 1])
    server.kill()
    async with asyncio.timeout(5):
        await listener
    assert seen == [0, 1]
    assert cache.failure_tracker.failures["progress_events"] == 1


async def test_a_stalled_server_cannot_hang_an_update(
    cache: CacheManager, server: RedisServer
) -> None:
    cid = uuid4()
    await cache.start_progress_tracking(cid, 3)
    server.pause()
    try:
        started = time.monotonic()
        assert not await cache.increment_progress(cid, "one")
        elapsed = time.monotonic() - started
    finally:
        server.resume()
    assert elapsed < 10 * SOCKET_TIMEOUT  # bounded by the socket timeout, not by a retry loop


async def test_progress_recovers_when_redis_comes_back(
    cache: CacheManager, server: RedisServer
) -> None:
    cid = uuid4()
    server.kill()
    assert not await cache.start_progress_tracking(cid, 2)
    server.restart()
    assert await cache.start_progress_tracking(cid, 2)  # scripts reload on NOSCRIPT
    listener = asyncio.create_task(_steps(cache, cid))
    await asyncio.sleep(0.1)
    assert await cache.increment_progress(cid, "one")
    assert await cache.complete_progress(cid, "done")
    assert await listener == [0, 1, 2]
    assert not cache.failure_tracker.degraded


async def _steps(cache: CacheManager, cid: object) -> list[int]:
    async with asyncio.timeout(5):
        return [e.current_step async for e in cache.progress_events(str(cid))]
