"""Loaders while Redis is down: the loader still runs, its value comes back uncached."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from jeex_cache import CacheManager
from jeex_cache.project_cache.model import LoadSource
from jeex_cache.testing import RedisServer


async def test_the_loader_runs_uncached_while_redis_is_down(
    cache: CacheManager, server: RedisServer
) -> None:
    project, calls = uuid4(), 0

    async def load() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return {"calls": calls}

    assert await cache.get_or_load_project_data(project, load, 60) == {"calls": 1}
    server.kill()
    results = await asyncio.gather(
        *(cache.read_or_load_project_data(project, load, 60) for _ in range(10))
    )
    assert {(r.source, r.value["calls"]) for r in results} == {(LoadSource.UNCACHED, 2)}
    assert calls == 2  # one flight in this process even without Redis
    assert cache.failure_tracker.degraded
    assert cache.failure_tracker.failures["loader_read"] >= 1
    server.restart()
    assert await cache.get_or_load_project_data(project, load, 60) == {"calls": 3}
    result = await cache.read_or_load_project_data(project, load, 60)
    assert (result.source, calls) == (LoadSource.HIT, 3)
