"""The near cache on a real Redis: served from the L1, invalidated by other processes' writes
(through CLIENT TRACKING), never older than this process's own writes, bounded by bytes and
by the entries' Redis TTLs."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable
from uuid import uuid4

import pytest

from jeex_cache import CacheManager, Settings
from jeex_cache.core.circuit_breaker import CircuitBreaker
from jeex_cache.core.connect import create_client, create_transport
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.scripts import loaded
from jeex_cache.core.ttl import TTL
from jeex_cache.project_cache.near_cache import NearCache
from jeex_cache.project_cache.near_repository import NearCachedRepository
from jeex_cache.project_cache.redis import RedisProjectCacheRepository
from jeex_cache.project_cache.tracking import InvalidationTracker

WAIT = 10.0  # generous: the bound on how long an invalidation may take, not a speed target


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds (polled), failing after ``WAIT`` seconds."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


def repository(cache: CacheManager) -> NearCachedRepository:
    repo = cache._require().repositories["project_cache"]
    assert isinstance(repo, NearCachedRepository)
    return repo


@pytest.fixture
async def near(redis_url: str) -> AsyncIterator[CacheManager]:
    """A manager with a 1 MB near cache, serving (tracking established)."""
    async with CacheManager(Settings(redis_url=redis_url, near_cache_max_bytes=1_000_000)) as c:
        await asyncio.wait_for(repository(c).tracker.wait_serving(), WAIT)
        yield c


@pytest.fixture
async def other(redis_url: str) -> AsyncIterator[CacheManager]:
    """A second manager on the same server, without a near cache (another application)."""
    async with CacheManager(Settings(redis_url=redis_url)) as cache:
        yield cache


async def filled(cache: CacheManager, project: object) -> None:
    """Read ``project`` until the L1 holds it (the write's own invalidation may race the
    first read, which then does not store)."""
    near = repository(cache).near
    key = repository(cache).key(project, None)  # type: ignore[arg-type]
    for _ in range(100):
        await cache.get_project_data(project)  # type: ignore[arg-type]
        if key in near._entries:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the near cache never stored the entry")


async def test_hits_are_served_from_the_l1_without_redis(near: CacheManager) -> None:
    project = uuid4()
    await near.cache_project_data(project, {"v": 1})
    await filled(near, project)
    before = near.near_cache_stats()
    for _ in range(50):
        assert await near.get_project_data(project) == {"v": 1}
    after = near.near_cache_stats()
    assert after["hits"] - before["hits"] == 50
    assert after["misses"] == before["misses"]
    assert after["entries"] == 1
    assert after["bytes"] > 0


async def test_a_write_by_another_manager_is_seen_once_its_invalidation_arrives(
    near: CacheManager, other: CacheManager
) -> None:
    project = uuid4()
    await near.cache_project_data(project, {"v": 1})
    await filled(near, project)
    received = near.near_cache_stats()["invalidations"]
    assert await other.cache_project_data(project, {"v": 2})
    await until(lambda: near.near_cache_stats()["invalidations"] > received, "the invalidation")
    assert await near.get_project_data(project) == {"v": 2}


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="needs redis-cli")
async def test_a_write_in_another_process_is_seen_once_its_invalidation_arrives(
    near: CacheManager, redis_url: str
) -> None:
    project = uuid4()
    await near.cache_project_data(project, {"v": 1})
    await filled(near, project)
    key = repository(near).key(project, None)
    received = near.near_cache_stats()["invalidations"]
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    process = await asyncio.create_subprocess_exec(
        "redis-cli", "-p", port, "HSET", key, "d", '{"v":3}', stdout=asyncio.subprocess.DEVNULL
    )
    assert await process.wait() == 0
    await until(lambda: near.near_cache_stats()["invalidations"] > received, "the invalidation")
    assert await near.get_project_data(project) == {"v": 3}


async def test_own_writes_are_seen_at_once(
    near: CacheManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No waiting for Redis's invalidation: a local write clears the L1 itself. Redis's
    invalidations are held back here, as a slow tracking link would."""
    held: list[object] = []
    monkeypatch.setattr(repository(near).near, "received", held.append)
    project = uuid4()
    view = near.project(project)
    await near.cache_project_data(project, {"v": 1}, tags=["t"])
    await view.set("entry", "one")
    await filled(near, project)
    assert await view.get("entry") == "one"
    await near.cache_project_data(project, {"v": 2})
    assert await near.get_project_data(project) == {"v": 2}
    await view.set("entry", "two")
    assert await view.get("entry") == "two"
    assert await view.set_many({"entry": "three"}) == 1
    assert await view.get("entry") == "three"
    await filled(near, project)
    await near.invalidate_by_tag("t")
    await near.cache_project_data(project, {"v": 3}, tags=["t"])
    await filled(near, project)
    assert await near.invalidate_tag_in_projects("t", [project]) == 1
    assert await near.get_project_data(project) is None
    await near.cache_project_data(project, {"v": 4})
    await filled(near, project)
    assert await near.delete_project_data(project)
    assert await near.get_project_data(project) is None
    await near.cache_project_data(project, {"v": 5})
    await filled(near, project)
    await near.invalidate_project_cache(project, "test")
    assert await near.get_project_data(project) is None
    assert await view.get("entry") is None
    assert held  # Redis did send them: they were not what cleared the L1


async def test_the_byte_bound_holds(redis_url: str) -> None:
    bound = 20_000
    settings = Settings(redis_url=redis_url, near_cache_max_bytes=bound)
    async with CacheManager(settings) as cache:
        await asyncio.wait_for(repository(cache).tracker.wait_serving(), WAIT)
        projects = [uuid4() for _ in range(60)]
        for project in projects:
            await cache.cache_project_data(project, {"blob": "x" * 1000})
        for _ in range(3):
            for project in projects:
                assert await cache.get_project_data(project) == {"blob": "x" * 1000}
                assert cache.near_cache_stats()["bytes"] <= bound
        stats = cache.near_cache_stats()
        assert stats["evictions"] > 0
        assert 0 < stats["entries"] < len(projects)


@pytest.fixture
async def executor(redis_url: str) -> AsyncIterator[RedisExecutor]:
    settings = Settings(redis_url=redis_url)
    client, router = create_client(settings), create_transport(settings)
    executor = RedisExecutor(client, "jeex", breaker=CircuitBreaker(1000, 1.0), router=router)
    await executor.load(*loaded())
    yield executor
    await router.close()
    await client.aclose()


async def test_an_entry_never_outlives_its_redis_ttl(executor: RedisExecutor) -> None:
    """On a clock the test moves: the L1 copy expires when the Redis entry does."""
    now = [1000.0]
    near = NearCache(1_000_000, lambda: now[0])
    assert executor.router is not None
    node = executor.router.nodes[0]
    tracker = InvalidationTracker(near, lambda: [node.endpoint], "jeex:proj:", node.limits)
    tracker.start()
    inner = RedisProjectCacheRepository(executor)
    repo = NearCachedRepository(inner, executor, near, tracker)
    try:
        await asyncio.wait_for(tracker.wait_serving(), WAIT)
        project = uuid4()
        await repo.set_if_newer(project, None, b'"v"', TTL.seconds(30), frozenset(), None)
        key = repo.key(project, None)
        for _ in range(100):
            await repo.get_and_touch(project, None)
            if key in near._entries:
                break
            await asyncio.sleep(0.005)
        entry = near._entries[key]
        assert now[0] + 29 < entry.expires <= now[0] + 30
        now[0] = entry.expires - 0.001
        assert near.get(key) == b'"v"'
        now[0] = entry.expires
        assert near.get(key) is None
    finally:
        await tracker.close()


async def test_a_near_hit_counts_in_the_metrics_and_is_served_while_the_breaker_is_open(
    near: CacheManager,
) -> None:
    """A hit answered without an await is still a counted call with a hit; an open breaker
    (the data connection failing while tracking holds) does not stop the L1 from serving
    what tracking keeps current, and a miss still fails fast to the read's fallback."""
    project, absent = uuid4(), uuid4()
    await near.cache_project_data(project, {"v": 1})
    await filled(near, project)
    stats = near.runtime.telemetry.stats("get_project_data", "cache_read")
    calls, hits, misses, errors = stats.count, stats.hits, stats.misses, stats.errors
    executor = near._require().executor
    assert executor is not None
    breaker = executor.breaker
    for _ in range(breaker.failure_threshold):
        breaker.record_failure()
    assert breaker.state.value == "open"

    first, second = await near.get_project_data(project), await near.get_project_data(project)
    assert first == second == {"v": 1}
    assert first is not second  # each caller gets its own copy to mutate
    assert await near.get_project_data(absent) is None  # not held: the breaker refuses Redis
    assert (stats.count, stats.hits, stats.errors) == (calls + 3, hits + 2, errors + 1)
    assert stats.misses == misses
    assert near.near_cache_stats()["entries"] == 1


async def test_a_string_or_int_project_id_hits_the_same_entry(near: CacheManager) -> None:
    await near.cache_project_data("acme-42", {"v": 1})
    await near.cache_project_data(42, {"v": 2})
    await filled(near, "acme-42")
    await filled(near, "42")
    before = near.near_cache_stats()["hits"]
    assert await near.get_project_data("acme-42") == {"v": 1}
    assert await near.get_project_data(42) == {"v": 2}
    assert await near.get_project_data("42") == {"v": 2}
    assert near.near_cache_stats()["hits"] - before == 3


async def test_shared_values_hand_every_hit_one_value_until_a_write_replaces_it(
    redis_url: str, other: CacheManager
) -> None:
    """Opted in, hits share the value the L1 keeps decoded (no copy per hit); a write, here
    or elsewhere, still reaches every reader, and hits still count in the metrics."""
    settings = Settings(
        redis_url=redis_url, near_cache_max_bytes=1_000_000, near_cache_shared_values=True
    )
    async with CacheManager(settings) as shared:
        await asyncio.wait_for(repository(shared).tracker.wait_serving(), WAIT)
        project = uuid4()
        await shared.cache_project_data(project, {"v": [1.5, None]})
        await filled(shared, project)
        stats = shared.runtime.telemetry.stats("get_project_data", "cache_read")
        hits = stats.hits
        first, second = (
            await shared.get_project_data(project),
            await shared.get_project_data(project),
        )
        assert first is second
        assert first == {"v": [1.5, None]}
        assert stats.hits == hits + 2
        await other.cache_project_data(project, {"v": 2})
        await until(
            lambda: key_gone(shared, project), "the other application's write to invalidate"
        )
        assert await shared.get_project_data(project) == {"v": 2}


def key_gone(cache: CacheManager, project: object) -> bool:
    near = repository(cache)
    return near.key(project, None) not in near.near._entries  # type: ignore[arg-type]
