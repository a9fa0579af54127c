"""Batch reads and writes of the project cache: every test runs on memory and on Redis."""

from __future__ import annotations

from uuid import uuid4

import pytest

from jeex_cache import CacheManager, InvalidIdentifierError, InvalidInputError, WriteOutcome


async def test_get_many_project_data_returns_the_cached_ones_and_leaves_misses_out(
    manager: CacheManager,
) -> None:
    projects = [uuid4() for _ in range(100)]
    cached = projects[::3]  # 34 of 100 cached, the rest missing
    for n, project in enumerate(cached):
        assert await manager.cache_project_data(project, {"n": n})
    found = await manager.get_many_project_data([*projects, str(projects[0])])  # a repeat
    assert found == {project: {"n": n} for n, project in enumerate(cached)}
    assert await manager.get_many_project_data([]) == {}


async def test_get_many_counts_each_read_as_a_single_read_does(manager: CacheManager) -> None:
    batched, single = uuid4(), uuid4()
    for project in (batched, single):
        await manager.cache_project_data(project, {"a": 1})
    await manager.get_many_project_data([batched])
    await manager.get_project_data(single)
    one, other = await manager.get_project_entry(batched), await manager.get_project_entry(single)
    assert one is not None
    assert other is not None
    assert one.access_count == other.access_count == 2  # the read above, and this one
    assert one.last_accessed_at is not None


async def test_get_many_refuses_a_bad_id_before_reading(manager: CacheManager) -> None:
    with pytest.raises(InvalidIdentifierError):
        await manager.get_many_project_data([uuid4(), "not a uuid"])
    with pytest.raises(InvalidInputError):
        await manager.get_many_project_data(str(uuid4()))  # a string, not a collection


async def test_view_set_many_then_get_many(manager: CacheManager) -> None:
    view = manager.project(uuid4())
    values = {f"k{i}": {"i": i} for i in range(100)}
    assert await view.set_many(values, ttl=60, tags=["batch"]) == 100
    names = [*values, "absent", "also-absent"]
    assert await view.get_many(names) == values
    entry = await view.get_entry("k7")
    assert entry is not None
    assert entry.version == 1
    assert {tag.name for tag in entry.tags} == {"batch"}
    assert await view.set_many({"k7": 8}) == 1  # unversioned: the stored version plus one
    again = await view.get_entry("k7")
    assert again is not None
    assert (again.data, again.version) == (8, 2)


async def test_set_many_entries_are_tagged_in_every_registry(manager: CacheManager) -> None:
    first, second = manager.project(uuid4()), manager.project(uuid4())
    await first.set_many({"a": 1, "b": 2}, tags=["shared", "one"])
    await second.set_many({"c": 3}, tags=["shared"])
    assert await manager.invalidate_by_tag("shared") == 3
    assert await first.get_many(["a", "b"]) == {}
    assert await second.get_many(["c"]) == {}


async def test_set_many_validates_everything_before_writing(manager: CacheManager) -> None:
    view = manager.project(uuid4())
    with pytest.raises(InvalidIdentifierError):
        await view.set_many({"good": 1, "bad name!": 2})
    with pytest.raises(InvalidInputError):
        await view.set_many({"good": 1, "worse": object()})
    assert await view.get_many(["good"]) == {}  # nothing half-written
    assert await view.set_many({}) == 0


async def test_set_many_and_single_writes_share_versions(manager: CacheManager) -> None:
    view = manager.project(uuid4())
    result = await view.set("k", 1, version=10)
    assert result.outcome is WriteOutcome.STORED
    assert await view.set_many({"k": 2}) == 1
    entry = await view.get_entry("k")
    assert entry is not None
    assert entry.version == 11
