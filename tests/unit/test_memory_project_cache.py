"""The embedded project cache frees what it no longer holds and stays within its byte bound."""

from __future__ import annotations

import tracemalloc
from uuid import uuid4

from jeex_cache import TTL, CacheManager, ManualClock, Settings
from jeex_cache.project_cache.memory import (
    PROJECT_INDEX_BYTES,
    MemoryProjectCacheRepository,
    entry_bytes,
)

TEN_YEARS = TTL(TTL.MAX_MILLISECONDS)
BIG = 200_000


def _payload(i: int, size: int = BIG) -> bytes:
    return bytes([48 + i % 10]) * size  # a fresh object every time


async def test_overwrites_of_a_big_entry_hold_one_entry() -> None:
    repo = MemoryProjectCacheRepository(ManualClock())
    project = uuid4()
    await repo.set_if_newer(project, "big", _payload(0), TEN_YEARS, frozenset(), None)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(1, 301):
            await repo.set_if_newer(project, "big", _payload(i), TEN_YEARS, frozenset(), None)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert repo.usage()["entries"] == 1
    assert repo.payload_bytes == entry_bytes(_payload(0), "big", frozenset()) + PROJECT_INDEX_BYTES
    assert grown < 4 * BIG  # 300 dead payloads held until expiry would be 60 MB


async def test_deleted_and_invalidated_payloads_are_freed_at_once() -> None:
    repo = MemoryProjectCacheRepository(ManualClock())
    project = uuid4()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(100):
            await repo.set_if_newer(project, f"e{i}", _payload(i), TEN_YEARS, frozenset(), None)
            assert await repo.delete(project, f"e{i}")
        for i in range(100):
            await repo.set_if_newer(project, f"f{i}", _payload(i), TEN_YEARS, frozenset(), None)
        assert await repo.invalidate_project(project) == 100
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    usage = repo.usage()
    assert (usage["used"], usage["cache_bytes"], usage["entries"], usage["evictions"]) == (
        0,
        0,
        0,
        0,
    )
    assert grown < 4 * BIG


async def test_the_expiry_heap_keeps_no_more_than_its_slack_of_stale_items() -> None:
    repo = MemoryProjectCacheRepository(ManualClock())
    project = uuid4()
    for i in range(20_000):
        await repo.set_if_newer(project, "hot", b"1", TEN_YEARS, frozenset(), None)
        await repo.set_if_newer(project, f"n{i % 7}", b"1", TEN_YEARS, frozenset(), None)
    assert len(repo._expiry) <= 2 * 8 + 1_024 + 1


async def test_cleanup_returns_how_many_expired_entries_it_removed() -> None:
    clock = ManualClock()
    repo = MemoryProjectCacheRepository(clock)
    project = uuid4()
    for name in ("a", "b", "c"):
        await repo.set_if_newer(project, name, b"1", TTL.seconds(1), frozenset(), None)
    await repo.set_if_newer(project, "a", b"2", TTL.seconds(1), frozenset(), None)  # rewritten
    await repo.set_if_newer(project, "long", b"1", TTL.minutes(5), frozenset(), None)
    clock.advance(2)
    assert await repo.cleanup_expired() == 3
    assert await repo.cleanup_expired() == 0
    assert await repo.list_names(project) == ["long"]


def _bounded(max_bytes: int) -> Settings:
    return Settings(redis_url=None, cache_memory_max_bytes=max_bytes)


async def test_a_full_cache_evicts_the_least_recently_used_and_counts_it() -> None:
    # Five 200 KB entries fit in 1 MiB; a sixth evicts the least recently used.
    async with CacheManager(_bounded(1_048_576), clock=ManualClock()) as manager:
        view = manager.project(uuid4())
        for name in "abcde":
            await view.set(name, "x" * BIG)
        assert await view.get("a") is not None  # "a" is now the most recently used
        await view.set("f", "x" * BIG)
        assert sorted(await view.keys()) == ["a", "c", "d", "e", "f"]
        metrics = await manager.get_performance_metrics()
        assert metrics["backend"]["memory"]["evictions"] == 1
        health = await manager.health_check()
    memory = health["memory"]
    assert (memory["entries"], memory["evictions"], memory["max"]) == (5, 1, 1_048_576)
    assert memory["used"] <= memory["max"]
    assert memory["usage_percentage"] > 90
    assert health["status"] == "healthy"  # full is how an LRU bound works, not a fault
    assert "redis" not in health


async def test_a_full_cache_drops_expired_entries_before_live_ones() -> None:
    clock = ManualClock()
    async with CacheManager(_bounded(1_048_576), clock=clock) as manager:
        view = manager.project(uuid4())
        for name in "abcd":
            await view.set(name, "x" * BIG)
        await view.set("short", "x" * BIG, ttl=TTL.seconds(1))  # the most recently used
        clock.advance(2)
        await view.set("e", "x" * BIG)
        assert sorted(await view.keys()) == ["a", "b", "c", "d", "e"]
        metrics = await manager.get_performance_metrics()
    assert metrics["backend"]["memory"]["evictions"] == 0


async def test_an_entry_larger_than_the_bound_is_refused_and_evicts_nothing() -> None:
    settings = Settings(
        redis_url=None, cache_memory_max_bytes=65_536, cache_max_payload_bytes=1_048_576
    )
    async with CacheManager(settings, clock=ManualClock()) as manager:
        view = manager.project(uuid4())
        await view.set("small", 1)
        assert not await manager.cache_project_data(uuid4(), "x" * 100_000)
        assert await view.keys() == ["small"]
        memory = (await manager.get_performance_metrics())["backend"]["memory"]
    assert (memory["refusals"], memory["evictions"]) == (1, 0)


async def test_fill_tokens_are_charged_while_their_loads_run() -> None:
    repo = MemoryProjectCacheRepository(ManualClock())
    project = uuid4()
    for i in range(100):
        repo.open_fill(project, f"n{i}", f"token-{i}", frozenset())
    assert repo.payload_bytes > 100 * 500  # no entry yet: the tokens are what is held
    for i in range(50):
        repo.close_fill(project, f"n{i}", f"token-{i}")
    for i in range(50, 100):
        await repo.set_if_newer(project, f"n{i}", b"1", TEN_YEARS, frozenset(), None, f"token-{i}")
    assert await repo.invalidate_project(project) == 50
    assert repo.payload_bytes == 0
