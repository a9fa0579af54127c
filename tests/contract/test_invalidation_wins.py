"""Invalidation wins (issue 20), on every backend: a load that started before an
invalidation, delete or write of its entry never caches its value; its callers still get it,
marked SUPERSEDED. Loaders are gated by events, so every interleaving is exact."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from uuid import UUID, uuid4

import pytest

from jeex_cache import CacheManager, ManualClock, Settings
from jeex_cache.project_cache.loader import LoaderService
from jeex_cache.project_cache.model import LoadResult, LoadSource

OLD, NEW = {"row": "v1", "version": 1}, {"row": "v2", "version": 2}


class GatedLoader:
    """A loader that reads ``rows[0]`` (the database), then waits to be let go."""

    def __init__(self, *rows: Any) -> None:
        self.rows = list(rows)
        self.started = asyncio.Event()
        self.go = asyncio.Event()
        self.calls = 0

    async def __call__(self) -> Any:
        self.calls += 1
        row = self.rows[min(self.calls, len(self.rows)) - 1]
        self.started.set()
        await self.go.wait()
        return row


def loaders(manager: CacheManager) -> LoaderService:
    return manager._project.loader


def by_version(row: dict[str, Any]) -> int:
    version: int = row["version"]
    return version


async def race(
    load: Callable[[], Coroutine[Any, Any, LoadResult]],
    loader: GatedLoader,
    meanwhile: Callable[[], Awaitable[object]],
) -> LoadResult:
    """Start ``load``; once its loader has read the database, run ``meanwhile``; then let the
    loader return."""
    task = asyncio.create_task(load())
    await loader.started.wait()
    await meanwhile()
    loader.go.set()
    return await task


Invalidation = Callable[[CacheManager, UUID], Awaitable[object]]

# What the application does after updating the row: each must win over the load in flight.
MAIN_DOCUMENT: dict[str, tuple[Invalidation, Any]] = {
    "delete": (lambda m, p: m.delete_project_data(p), None),
    "project": (lambda m, p: m.invalidate_project_cache(p, "updated"), None),
    "tag in the project": (lambda m, p: m.project(p).invalidate_tag("rows"), None),
    "tag across projects": (lambda m, p: m.invalidate_by_tag("rows"), None),
    "tag in listed projects": (lambda m, p: m.invalidate_tag_in_projects("rows", [p]), None),
    "versioned write": (lambda m, p: m.write_project_data(p, NEW, version=2), NEW),
    "unversioned write": (lambda m, p: m.cache_project_data(p, NEW), NEW),
}


@pytest.mark.parametrize("kind", list(MAIN_DOCUMENT))
async def test_an_invalidation_wins_over_a_load_in_flight(manager: CacheManager, kind: str) -> None:
    project, loader = uuid4(), GatedLoader(OLD)
    invalidate, cached = MAIN_DOCUMENT[kind]
    result = await race(
        lambda: manager.read_or_load_project_data(project, loader, 300, tags=["rows"]),
        loader,
        lambda: invalidate(manager, project),
    )
    assert await manager.get_project_data(project) == cached
    assert (result.value, result.source) == (OLD, LoadSource.SUPERSEDED)
    # The next call loads again, and its value stays.
    again = GatedLoader(NEW)
    again.go.set()
    after = await manager.read_or_load_project_data(project, again, 300, tags=["rows"])
    assert after.value == NEW
    assert await manager.get_project_data(project) == NEW


NAMED_ENTRY: dict[str, tuple[Invalidation, Any]] = {
    "delete": (lambda m, p: m.project(p).delete("report"), None),
    "view invalidation": (lambda m, p: m.project(p).invalidate("updated"), None),
    "tag": (lambda m, p: m.project(p).invalidate_tag("rows"), None),
    "write": (lambda m, p: m.project(p).set("report", NEW, version=2), NEW),
    "set_many": (lambda m, p: m.project(p).set_many({"report": NEW, "other": 1}), NEW),
}


@pytest.mark.parametrize("kind", list(NAMED_ENTRY))
async def test_an_invalidation_wins_over_a_named_entry_load(
    manager: CacheManager, kind: str
) -> None:
    project, loader = uuid4(), GatedLoader(OLD)
    invalidate, cached = NAMED_ENTRY[kind]
    view = manager.project(project)
    result = await race(
        lambda: view.read_or_load("report", loader, 300, tags=["rows"]),
        loader,
        lambda: invalidate(manager, project),
    )
    assert await view.get("report") == cached
    assert (result.value, result.source) == (OLD, LoadSource.SUPERSEDED)


async def test_other_entries_and_tags_leave_a_load_alone(manager: CacheManager) -> None:
    project, loader = uuid4(), GatedLoader(OLD)
    view = manager.project(project)

    async def unrelated() -> None:
        await view.set("other", 1)
        await view.delete("another")
        await view.invalidate_tag("unrelated")
        await manager.invalidate_project_cache(uuid4(), "another project")

    result = await race(
        lambda: view.read_or_load("report", loader, 300, tags=["rows"]), loader, unrelated
    )
    assert result.source is LoadSource.LOADED
    assert await view.get("report") == OLD


async def test_every_caller_of_a_superseded_flight_gets_its_value(manager: CacheManager) -> None:
    project, loader = uuid4(), GatedLoader(OLD)
    # Two windows: two calls, one flight.
    first = asyncio.create_task(manager.read_or_load_project_data(project, loader, 300))
    second = asyncio.create_task(manager.read_or_load_project_data(project, loader, 301))
    await loader.started.wait()
    await manager.invalidate_project_cache(project, "updated")
    loader.go.set()
    results = await asyncio.gather(first, second)
    assert await manager.get_project_data(project) is None
    assert [(r.value, r.source) for r in results] == [(OLD, LoadSource.SUPERSEDED)] * 2
    assert loader.calls == 1


@pytest.mark.may_skip  # on the memory backend: two managers share no state there
async def test_a_load_in_another_process_loses_and_its_waiter_loads_the_new_row(
    backend: str, settings: Settings, manager: CacheManager
) -> None:
    if backend == "memory":
        pytest.skip("processes share nothing on the memory backend")
    project = uuid4()
    loader, waiter_loader = GatedLoader(OLD), GatedLoader(NEW)
    waiter_loader.go.set()
    async with CacheManager(settings) as other, CacheManager(settings) as third:
        holder = asyncio.create_task(other.read_or_load_project_data(project, loader, 300))
        await loader.started.wait()
        waiter = asyncio.create_task(third.read_or_load_project_data(project, waiter_loader, 300))
        await asyncio.sleep(0.05)  # the waiter waits on the lease (a margin, not a timing)
        await manager.invalidate_project_cache(project, "updated")  # a third process
        loader.go.set()
        lost, waited = await asyncio.gather(holder, waiter)
    assert await manager.get_project_data(project) == NEW
    assert waited.value == NEW  # woken, it found nothing cached and loaded the new row
    assert (lost.value, lost.source) == (OLD, LoadSource.SUPERSEDED)


async def test_a_stale_while_revalidate_refresh_loses_to_an_invalidation(
    manager: CacheManager, clock: ManualClock
) -> None:
    project, first = uuid4(), GatedLoader(OLD)
    first.go.set()
    await manager.get_or_load_project_data(project, first, 10, stale_ttl=300)
    clock.advance(11)
    refresh = GatedLoader(OLD)  # the refresh reads the row before it is updated
    stale = await manager.read_or_load_project_data(project, refresh, 10, stale_ttl=300)
    assert stale.source is LoadSource.STALE
    await refresh.started.wait()
    await manager.invalidate_project_cache(project, "updated")
    refresh.go.set()
    await loaders(manager).settle()
    assert await manager.get_project_data(project) is None


class _Always(random.Random):
    """An XFetch draw that always refreshes early."""

    def random(self) -> float:
        return 1.0 - 1e-15  # XFetch draws 1 - x: ln of a tiny number, an early refresh


async def test_an_early_refresh_loses_to_an_invalidation(
    manager: CacheManager, clock: ManualClock
) -> None:
    project = uuid4()

    async def slow_first_load() -> dict[str, Any]:
        clock.advance(2)  # a load that took 2 s: XFetch refreshes it early
        return OLD

    await manager.get_or_load_project_data(project, slow_first_load, 30)
    loaders(manager).rng = _Always()
    refresh = GatedLoader(OLD)
    hit = await manager.read_or_load_project_data(project, refresh, 30)
    assert hit.source is LoadSource.HIT
    await refresh.started.wait()
    await manager.delete_project_data(project)
    refresh.go.set()
    await loaders(manager).settle()
    assert await manager.get_project_data(project) is None


async def test_warming_loses_to_an_invalidation(manager: CacheManager) -> None:
    project, loader = uuid4(), GatedLoader(OLD)

    async def warm() -> object:
        return await manager.warm_project_cache([project], lambda _: loader())

    task = asyncio.create_task(warm())
    await loader.started.wait()
    await manager.invalidate_project_cache(project, "updated")
    loader.go.set()
    await task
    assert await manager.get_project_data(project) is None


async def test_a_versioned_load_writes_its_version(manager: CacheManager) -> None:
    project, loader = uuid4(), GatedLoader({"row": "v7", "version": 7})
    loader.go.set()
    result = await manager.read_or_load_project_data(project, loader, 60, version_of=by_version)
    assert result.source is LoadSource.LOADED
    entry = await manager.get_project_entry(project)
    assert entry is not None
    assert entry.version == 7


async def test_an_older_snapshot_never_replaces_a_newer_one(
    manager: CacheManager, clock: ManualClock
) -> None:
    # No invalidation at all: the refresh reads a replica that lags behind.
    project, loader = uuid4(), GatedLoader(NEW, OLD)
    loader.go.set()
    await manager.get_or_load_project_data(
        project, loader, 10, stale_ttl=300, version_of=by_version
    )
    clock.advance(11)
    stale = await manager.read_or_load_project_data(
        project, loader, 10, stale_ttl=300, version_of=by_version
    )
    assert stale.source is LoadSource.STALE
    await loaders(manager).settle()
    assert loader.calls == 2
    entry = await manager.get_project_entry(project)
    assert entry is not None
    assert (entry.data, entry.version) == (NEW, 2)
