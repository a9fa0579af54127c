"""The loaders' contract, on memory and Redis: single-flight, errors, stale values, XFetch
under steady load, the view's loaders, warming. Time is the manager's manual clock."""

from __future__ import annotations

import asyncio
import random
from typing import Any
from uuid import UUID, uuid4

import pytest

from jeex_cache import CacheManager, InvalidInputError, InvalidTTLError, ManualClock
from jeex_cache.project_cache.loader import LoaderService
from jeex_cache.project_cache.model import LoadSource


class CountingLoader:
    """An async loader that counts its runs and how many overlap; ``fail`` makes it raise."""

    def __init__(self, clock: ManualClock | None = None, duration: float = 0.0) -> None:
        self.calls = 0
        self.active = 0
        self.most_at_once = 0
        self.fail = False
        self._clock = clock
        self._duration = duration

    async def __call__(self) -> dict[str, int]:
        self.calls += 1
        self.active += 1
        self.most_at_once = max(self.most_at_once, self.active)
        try:
            if self._clock is not None and self._duration:
                self._clock.advance(self._duration)  # the load's time, as the clock sees it
            await asyncio.sleep(0.01)
            if self.fail:
                raise RuntimeError("database down")
            return {"load": self.calls}
        finally:
            self.active -= 1


def loaders(manager: CacheManager) -> LoaderService:
    return manager._project.loader


async def test_concurrent_misses_run_the_loader_once(manager: CacheManager) -> None:
    project, load = uuid4(), CountingLoader()
    values = await asyncio.gather(
        *(manager.get_or_load_project_data(project, load, 60) for _ in range(100))
    )
    assert load.calls == 1
    assert values == [{"load": 1}] * 100
    assert await manager.get_project_data(project) == {"load": 1}


async def test_a_hit_does_not_load(manager: CacheManager) -> None:
    project, load = uuid4(), CountingLoader()
    first = await manager.read_or_load_project_data(project, load, 60)
    second = await manager.read_or_load_project_data(project, load, 60)
    assert (first.source, second.source) == (LoadSource.LOADED, LoadSource.HIT)
    assert second.value == {"load": 1}
    assert load.calls == 1
    entry = await manager.get_project_entry(project)
    assert entry is not None
    assert entry.access_count >= 2  # the loaders' reads count as reads


async def test_a_plain_write_is_served_without_loading(manager: CacheManager) -> None:
    project, load = uuid4(), CountingLoader()
    await manager.cache_project_data(project, {"plain": True}, 60)
    assert await manager.get_or_load_project_data(project, load) == {"plain": True}
    assert load.calls == 0


async def test_a_loader_error_reaches_every_caller_and_the_next_call_loads(
    manager: CacheManager,
) -> None:
    project, load = uuid4(), CountingLoader()
    load.fail = True
    results = await asyncio.gather(
        *(manager.get_or_load_project_data(project, load, 60) for _ in range(10)),
        return_exceptions=True,
    )
    assert load.calls == 1
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await manager.get_project_data(project) is None
    load.fail = False
    assert await manager.get_or_load_project_data(project, load, 60) == {"load": 2}
    assert load.calls == 2


async def test_stale_while_revalidate(manager: CacheManager, clock: ManualClock) -> None:
    project, load = uuid4(), CountingLoader()
    await manager.get_or_load_project_data(project, load, 10, stale_ttl=60)
    clock.advance(11)
    results = await asyncio.gather(
        *(manager.read_or_load_project_data(project, load, 10, stale_ttl=60) for _ in range(20))
    )
    assert {(r.source, r.value["load"]) for r in results} == {(LoadSource.STALE, 1)}
    await loaders(manager).settle()
    assert load.calls == 2  # one background load for all twenty
    fresh = await manager.read_or_load_project_data(project, load, 10, stale_ttl=60)
    assert (fresh.source, fresh.value) == (LoadSource.HIT, {"load": 2})


async def test_past_the_stale_window_the_caller_waits_for_the_load(
    manager: CacheManager, clock: ManualClock
) -> None:
    project, load = uuid4(), CountingLoader()
    await manager.get_or_load_project_data(project, load, 10, stale_ttl=5)
    clock.advance(16)
    result = await manager.read_or_load_project_data(project, load, 10, stale_ttl=5)
    assert (result.source, result.value) == (LoadSource.LOADED, {"load": 2})


async def test_stale_if_error(manager: CacheManager, clock: ManualClock) -> None:
    project, load = uuid4(), CountingLoader()
    await manager.get_or_load_project_data(project, load, 10, stale_ttl=60)
    clock.advance(30)
    load.fail = True
    result = await manager.read_or_load_project_data(
        project, load, 10, stale_ttl=60, stale_while_revalidate=False
    )
    assert (result.source, result.value, result.stale) == (LoadSource.STALE, {"load": 1}, True)
    assert isinstance(result.error, RuntimeError)
    clock.advance(41)  # past the stale window (10 + 60 s): the error reaches the caller
    with pytest.raises(RuntimeError):
        await manager.get_or_load_project_data(
            project, load, 10, stale_ttl=60, stale_while_revalidate=False
        )


async def test_a_failed_background_load_keeps_the_stale_value(
    manager: CacheManager, clock: ManualClock
) -> None:
    project, load = uuid4(), CountingLoader()
    await manager.get_or_load_project_data(project, load, 10, stale_ttl=60)
    clock.advance(11)
    load.fail = True
    for expected_calls in (2, 3):
        result = await manager.read_or_load_project_data(project, load, 10, stale_ttl=60)
        await loaders(manager).settle()
        assert (result.source, result.value) == (LoadSource.STALE, {"load": 1})
        assert load.calls == expected_calls


async def test_a_hot_key_is_refreshed_before_it_expires_one_refresh_at_a_time(
    manager: CacheManager, clock: ManualClock
) -> None:
    loaders(manager).rng = random.Random(13)
    project, load = uuid4(), CountingLoader(clock, duration=2.0)
    ttl = 30
    assert await manager.get_or_load_project_data(project, load, ttl) == {"load": 1}
    sources: list[LoadSource] = []
    for _ in range(600):  # 120 s of reads, 5 every 0.2 s: four TTLs
        clock.advance(0.2)
        batch = await asyncio.gather(
            *(manager.read_or_load_project_data(project, load, ttl) for _ in range(5))
        )
        sources += [result.source for result in batch]
    await loaders(manager).settle()
    assert set(sources) == {LoadSource.HIT}  # never a miss: refreshed before each expiry
    assert load.calls >= 4  # 120 s of a 30 s TTL
    assert load.most_at_once == 1


async def test_early_refresh_can_be_turned_off(manager: CacheManager, clock: ManualClock) -> None:
    loaders(manager).rng = random.Random(1)
    project, load = uuid4(), CountingLoader(clock, duration=5.0)
    await manager.get_or_load_project_data(project, load, 10)
    clock.advance(9.9)  # a 5 s load 0.1 s before expiry: XFetch would refresh at once
    for _ in range(20):
        await manager.get_or_load_project_data(project, load, 10, early_refresh=False)
    await loaders(manager).settle()
    assert load.calls == 1


async def test_the_view_loads_named_entries(manager: CacheManager) -> None:
    project, load = uuid4(), CountingLoader()
    view = manager.project(project)
    values = await asyncio.gather(*(view.get_or_load("report", load, 60) for _ in range(10)))
    assert values == [{"load": 1}] * 10
    assert await view.get("report") == {"load": 1}
    assert await manager.get_project_data(project) is None  # the main document is apart
    result = await view.read_or_load("report", load, 60)
    assert result.source is LoadSource.HIT
    assert load.calls == 1


async def test_bad_input_raises_before_anything_runs(manager: CacheManager) -> None:
    project, load = uuid4(), CountingLoader()
    with pytest.raises(InvalidInputError):
        await manager.get_or_load_project_data(project, "not callable")  # type: ignore[arg-type]
    with pytest.raises(InvalidTTLError):
        await manager.get_or_load_project_data(project, load, 60, stale_ttl=-1)
    with pytest.raises(InvalidInputError):
        await manager.get_or_load_project_data("not a uuid", load)
    with pytest.raises(InvalidInputError):
        await manager.project(project).get_or_load("bad name!", load)
    assert load.calls == 0


async def test_warming_loads_with_bounded_concurrency_and_reports_progress(
    manager: CacheManager,
) -> None:
    projects = [uuid4() for _ in range(20)]
    for project in projects[:3]:
        await manager.cache_project_data(project, {"warm": "already"}, 60)
    active, most = 0, 0

    async def load(project_id: UUID) -> dict[str, Any]:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.01)
        active -= 1
        if project_id == projects[-1]:
            raise RuntimeError("this one is broken")
        return {"warm": str(project_id)}

    summary = await manager.warm_project_cache(projects, load, concurrency=4, ttl=60)
    assert (summary.loaded, summary.cached, summary.failed) == (16, 3, 1)
    assert most <= 4
    assert await manager.get_project_data(projects[5]) == {"warm": str(projects[5])}
    progress = await manager.get_progress(summary.correlation_id)
    assert progress is not None
    assert (progress["status"], progress["current_step"], progress["total_steps"]) == (
        "completed",
        20,
        20,
    )
    with pytest.raises(InvalidInputError):
        await manager.warm_project_cache(projects, load, concurrency=0)


async def test_concurrent_hits_share_a_read_and_every_access_is_counted(
    manager: CacheManager,
) -> None:
    project, load = uuid4(), CountingLoader()
    await manager.get_or_load_project_data(project, load, 60)  # a miss: no access counted
    values = await asyncio.gather(
        *(manager.get_or_load_project_data(project, load, 60) for _ in range(50))
    )
    assert values == [{"load": 1}] * 50
    await manager.get_or_load_project_data(project, load, 60)  # carries who joined, if any
    entry = await manager.get_project_entry(project)
    assert entry is not None
    assert entry.access_count == 52  # 50 + 1, and this read
