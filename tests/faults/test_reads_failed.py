"""While Redis is down, the ``read_*`` methods say FAILED where ``get_*`` answer a miss."""

from __future__ import annotations

from uuid import uuid4

from jeex_cache import CacheManager, ReadOutcome, outcome_of
from jeex_cache.testing import RedisServer


async def test_reads_say_failed_while_redis_is_down_and_miss_once_it_is_back(
    cache: CacheManager, server: RedisServer
) -> None:
    project = uuid4()
    assert await cache.cache_project_data(project, {"a": 1})
    assert await cache.start_progress_tracking("op-1", 2)
    server.kill()

    for read in (
        await cache.read_project_data(project),
        await cache.read_project_entry(project),
        await cache.read_progress("op-1"),
    ):
        assert read.outcome is ReadOutcome.FAILED
        assert read.failed
        assert not read
        assert read.value is None
    assert await cache.get_project_data(project) is None  # unchanged: a miss
    assert (await outcome_of(cache.invalidate_project_cache, project, "x")).failed
    assert (await outcome_of(cache.invalidate_tag_in_projects, "t", [project], "x")).failed
    assert await cache.invalidate_project_cache(project, "x") == 0  # unchanged: 0
    for operation in ("read_project_data", "read_project_entry", "read_progress"):
        assert cache.failure_tracker.failures[operation] == 1

    server.restart()  # an empty server
    assert (await cache.read_project_data(project)).outcome is ReadOutcome.MISS
    assert (await cache.read_progress("op-1")).outcome is ReadOutcome.MISS
    done = await outcome_of(cache.invalidate_project_cache, project, "x")
    assert not done.failed
    assert done.value == 0
    assert not cache.failure_tracker.degraded
