"""Batches on Redis: one pipeline for many projects, counted at the server and the client."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import CacheManager
from jeex_cache.core.executor import RedisExecutor
from tests.integration.conftest import RoundTrips


@pytest.fixture
def pipelines(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every pipeline the executor sends (one entry per round trip)."""
    sizes: list[int] = []
    original = RedisExecutor._pipeline

    async def counting(self: RedisExecutor, calls: Any) -> Any:
        sizes.append(len(calls))
        return await original(self, calls)

    monkeypatch.setattr(RedisExecutor, "_pipeline", counting)
    return sizes


async def test_get_many_of_100_projects_is_one_pipeline(
    cache: CacheManager, round_trips: RoundTrips, pipelines: list[int]
) -> None:
    projects = [uuid4() for _ in range(100)]
    for project in projects[:60]:
        await cache.cache_project_data(project, {"p": str(project)})
    pipelines.clear()
    before = round_trips.count
    found = await cache.get_many_project_data(projects)
    assert round_trips.count - before == 100  # one read script per project...
    assert pipelines == [100]  # ...all in one pipeline: one round trip
    assert set(found) == set(projects[:60])


async def test_view_set_many_and_get_many_are_one_pipeline_each(
    cache: CacheManager, round_trips: RoundTrips, pipelines: list[int]
) -> None:
    view = cache.project(uuid4())
    values = {f"k{i}": i for i in range(50)}
    before = round_trips.count
    assert await view.set_many(values, tags=["a", "b"]) == 50
    assert round_trips.count - before == 2 + 50  # the two tags' registries, then the entries
    assert pipelines == [52]  # one server: one pipeline keeps that order
    before = round_trips.count
    assert await view.get_many([*values, "missing"]) == values
    assert round_trips.count - before == 51
    assert pipelines == [52, 51]
