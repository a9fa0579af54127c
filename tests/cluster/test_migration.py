"""Slots that move: MOVED after a finished move, ASK and TRYAGAIN while one migrates under
load, and a sharded subscription that follows its slot. One private cluster for the module."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import CacheManager, RateLimitConfig, Settings
from jeex_cache.core.transport import key_slot
from jeex_cache.testing import RedisCluster
from tests.cluster.conftest import executor_of, ids_in_slot, move_slot, router_of, wait_for


@pytest.fixture(scope="module")
def moving() -> Iterator[RedisCluster]:
    with RedisCluster.start() as own:
        yield own


@pytest.fixture
async def cache(moving: RedisCluster) -> AsyncIterator[CacheManager]:
    async with CacheManager(Settings(redis_url=moving.url)) as manager:
        yield manager


POLICY = RateLimitConfig(10**6, 60)


def another_master(cluster: RedisCluster, slot: int) -> int:
    return next(port for port in cluster.masters() if port != cluster.master_of(slot))


async def test_a_moved_slot_is_followed_and_remembered(
    cache: CacheManager, moving: RedisCluster
) -> None:
    project = uuid4()
    slot = key_slot(str(project))
    assert await cache.cache_project_data(project, {"v": 1})
    router = router_of(cache)
    before = router.owner(slot)
    target = another_master(moving, slot)
    await asyncio.to_thread(move_slot, moving, slot, target)
    assert router.owner(slot) == before  # the client has not noticed yet
    assert await cache.get_project_data(project) == {"v": 1}  # MOVED, followed
    assert router.redirects["MOVED"] >= 1
    assert router.owner(slot) == ("127.0.0.1", target)
    assert await cache.cache_project_data(project, {"v": 2})
    assert await cache.get_project_data(project) == {"v": 2}
    assert not cache.failure_tracker.failures


async def test_a_batch_with_a_moved_slot_resends_only_its_calls(
    cache: CacheManager, moving: RedisCluster
) -> None:
    executor = executor_of(cache)
    keys = [f"jeex:test:{{{uuid4()}}}" for _ in range(12)]
    assert await executor.batch([("SET", key, key) for key in keys]) == [b"OK"] * 12
    slot = key_slot(keys[0])
    await asyncio.to_thread(move_slot, moving, slot, another_master(moving, slot))
    moved = router_of(cache).redirects["MOVED"]
    assert await executor.batch([("GET", key) for key in keys]) == [k.encode() for k in keys]
    assert router_of(cache).redirects["MOVED"] == moved + 1


async def test_a_slot_migrating_under_load_costs_retries_not_errors(
    cache: CacheManager, moving: RedisCluster
) -> None:
    slot = random.randrange(16384)
    projects = ids_in_slot(slot, 12)
    for project in projects:
        assert await cache.cache_project_data(project, {"n": 0})
    outcomes: Counter[str] = Counter()
    escaped: list[BaseException] = []
    stop = asyncio.Event()

    async def work(project: Any) -> None:
        n = 0
        while not stop.is_set():
            try:
                n += 1
                outcomes["written" if await cache.cache_project_data(project, {"n": n}) else
                         "not written"] += 1  # fmt: skip
                read = await cache.get_project_data(project)
                outcomes["read" if read == {"n": n} else f"read {read}"] += 1
                limit = await cache.check_rate_limit(str(project), "user", POLICY)
                outcomes["limited" if "error" not in limit else "limit error"] += 1
            except Exception as exc:  # what escapes is the test's subject
                escaped.append(exc)
            await asyncio.sleep(0.002)

    workers = [asyncio.create_task(work(project)) for project in projects]
    await asyncio.sleep(0.3)
    target = another_master(moving, slot)
    await asyncio.to_thread(move_slot, moving, slot, target)
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*workers)
    redirects = router_of(cache).redirects
    print(f"\nmigration under load: {dict(outcomes)}, redirects {dict(redirects)}")
    assert not escaped
    assert set(outcomes) == {"written", "read", "limited"}, outcomes
    assert not cache.failure_tracker.failures
    assert redirects["ASK"] + redirects["TRYAGAIN"] >= 1  # the load did meet the migration
    assert moving.master_of(slot) == target


async def test_a_sharded_subscription_follows_its_slot(
    cache: CacheManager, moving: RedisCluster
) -> None:
    cid = uuid4()
    slot = key_slot(str(cid))
    await cache.start_progress_tracking(cid, 4)
    listener = asyncio.create_task(_collect(cache.progress_events(cid, check_every=0.2)))
    await asyncio.sleep(0.3)
    await cache.increment_progress(cid, "one")
    target = another_master(moving, slot)
    await asyncio.to_thread(move_slot, moving, slot, target)  # the server sends sunsubscribe
    await wait_for(lambda: _subscribed(moving, target), "subscribed on the new owner")
    await cache.increment_progress(cid, "two")
    await cache.complete_progress(cid, "done")
    events = await asyncio.wait_for(listener, 20)
    assert [e.message for e in events] == ["", "one", "two", "done"]


async def _collect(events: AsyncIterator[Any]) -> list[Any]:
    return [event async for event in events]


def _subscribed(cluster: RedisCluster, port: int) -> bool:
    with cluster.client(port) as client:
        return bool(client.execute_command("PUBSUB SHARDCHANNELS"))
