"""The near cache's contract on every backend: the same answers with it on, its stats
reported; on the embedded backend it is a no-op (``enabled`` False)."""

from __future__ import annotations

from uuid import uuid4

from jeex_cache import CacheManager, ManualClock, Settings

STATS = {"enabled", "serving", "hits", "misses", "invalidations", "flushes", "evictions",
         "entries", "bytes", "max_bytes"}  # fmt: skip


async def test_reads_and_writes_answer_the_same_with_the_near_cache_on(
    settings: Settings, clock: ManualClock, backend: str
) -> None:
    on = settings.model_copy(update={"near_cache_max_bytes": 1_000_000})
    async with CacheManager(on, clock=clock) as cache:
        project = uuid4()
        view = cache.project(project)
        assert await cache.get_project_data(project) is None
        assert await cache.cache_project_data(project, {"v": 1}, tags=["t"])
        assert await cache.get_project_data(project) == {"v": 1}
        assert await cache.get_project_data(project) == {"v": 1}
        assert await cache.cache_project_data(project, {"v": 2}, version=5, tags=["t"])
        assert not await cache.cache_project_data(project, {"v": 1}, version=4)
        assert await cache.get_project_data(project) == {"v": 2}
        await view.set("name", [1, 2])
        assert await view.get("name") == [1, 2]
        assert await cache.invalidate_by_tag("t") == 1
        assert await cache.get_project_data(project) is None
        assert await view.get("name") == [1, 2]
        stats = cache.near_cache_stats()
        assert set(stats) == STATS
        assert stats["enabled"] is (backend != "memory")
        if backend == "memory":
            assert stats["hits"] == stats["misses"] == stats["bytes"] == 0


async def test_the_near_cache_is_off_by_default(manager: CacheManager) -> None:
    stats = manager.near_cache_stats()
    assert stats["enabled"] is False
    assert stats["max_bytes"] == 0
