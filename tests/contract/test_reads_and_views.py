"""Reads that say HIT or MISS (``ReadResult``), and the session's views: one implementation
behind the access check, so every operation they offer is checked."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import pytest

from jeex_cache import (
    AccessDenied,
    CacheManager,
    ProjectCacheView,
    ReadOutcome,
    ReadResult,
    SessionCacheView,
    SessionProjectView,
)


async def session_for(manager: CacheManager, *projects: UUID) -> str:
    session = await manager.create_user_session(uuid4(), {}, projects)
    assert session is not None
    assert session.session_id is not None
    return session.session_id


async def test_reads_tell_a_hit_from_a_miss(manager: CacheManager) -> None:
    project = uuid4()
    missing = await manager.read_project_data(project)
    assert missing == ReadResult(ReadOutcome.MISS)
    assert not missing
    assert not missing.failed
    assert not await manager.read_project_entry(project)

    assert await manager.cache_project_data(project, {"name": "P"}, version=7)
    data = await manager.read_project_data(project)
    assert data
    assert (data.outcome, data.value) == (ReadOutcome.HIT, {"name": "P"})
    entry = await manager.read_project_entry(project)
    assert entry.outcome is ReadOutcome.HIT
    assert entry.value is not None
    assert (entry.value.data, entry.value.version) == ({"name": "P"}, 7)


async def test_read_progress_tells_a_hit_from_a_miss(manager: CacheManager) -> None:
    assert (await manager.read_progress("op-unknown")).outcome is ReadOutcome.MISS
    assert await manager.start_progress_tracking("op-known", 4)
    assert await manager.increment_progress("op-known", "one")
    read = await manager.read_progress("op-known")
    assert read.outcome is ReadOutcome.HIT
    assert read.value == await manager.get_progress("op-known")
    assert read.value is not None
    assert read.value["current_step"] == 1


async def test_session_reads_check_access_first(manager: CacheManager) -> None:
    mine, theirs = uuid4(), uuid4()
    await manager.cache_project_data(mine, 1)
    await manager.cache_project_data(theirs, 2)
    view = manager.for_session(await session_for(manager, mine))
    assert (await view.read_project_data(mine)).value == 1
    assert (await view.read_project_entry(str(mine))).outcome is ReadOutcome.HIT
    for read in (view.read_project_data, view.read_project_entry):
        with pytest.raises(AccessDenied) as denied:
            await read(theirs)
        assert denied.value.reason == AccessDenied.PROJECT_NOT_GRANTED


def public_methods(cls: type) -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }


async def _overwrite() -> dict[str, bool]:  # a loader a denied call must never run
    return {"secret": False}


# Each operation of the session's views, called on a project the session may not access.
# Every public coroutine method must be listed: a new one fails the coverage assertion below
# until it is shown to be checked.
Call = Callable[[Any, UUID], Awaitable[object]]
SESSION_CALLS: dict[str, Call] = {
    "allow": lambda v, p: v.allow(p),
    "get_project_data": lambda v, p: v.get_project_data(p),
    "get_project_entry": lambda v, p: v.get_project_entry(p),
    "read_project_data": lambda v, p: v.read_project_data(p),
    "read_project_entry": lambda v, p: v.read_project_entry(p),
    "cache_project_data": lambda v, p: v.cache_project_data(p, {"x": 0}, tags=["t"]),
    "write_project_data": lambda v, p: v.write_project_data(p, {"x": 0}, 60, version=99),
    "delete_project_data": lambda v, p: v.delete_project_data(p),
    "invalidate_project_cache": lambda v, p: v.invalidate_project_cache(p, "test"),
    "list_project_keys": lambda v, p: v.list_project_keys(p),
}
SESSION_UNSCOPED = {"invalidate_by_tag"}  # confined to the session's projects: test_sessions
VIEW_CALLS: dict[str, Call] = {
    "get": lambda v, _: v.get("k"),
    "get_entry": lambda v, _: v.get_entry("k"),
    "set": lambda v, _: v.set("k", {"x": 0}, ttl=60, tags=["t"], version=99),
    "delete": lambda v, _: v.delete("k"),
    "keys": lambda v, _: v.keys(),
    "invalidate_tag": lambda v, _: v.invalidate_tag("t"),
    "invalidate": lambda v, _: v.invalidate("test"),
    "get_many": lambda v, _: v.get_many(["k"]),
    "set_many": lambda v, _: v.set_many({"k": {"x": 0}}, tags=["t"]),
    "get_or_load": lambda v, _: v.get_or_load("k", _overwrite, 60),
    "read_or_load": lambda v, _: v.read_or_load("fresh", _overwrite, 60),
}


def test_every_operation_of_the_session_views_is_listed() -> None:
    scoped = {name for name in SESSION_CALLS if not name.startswith("_")}
    assert public_methods(SessionCacheView) == scoped | SESSION_UNSCOPED
    assert public_methods(SessionProjectView) == set(VIEW_CALLS)
    assert public_methods(ProjectCacheView) == set(VIEW_CALLS)  # the same implementation


@pytest.mark.parametrize(("name", "call"), [*SESSION_CALLS.items(), *VIEW_CALLS.items()])
async def test_every_session_operation_is_denied_outside_the_access_list(
    manager: CacheManager, name: str, call: Call
) -> None:
    mine, theirs = uuid4(), uuid4()
    await manager.cache_project_data(theirs, {"secret": True}, tags=["t"])
    await manager.project(theirs).set("k", {"secret": True}, tags=["t"])
    scope = manager.for_session(await session_for(manager, mine))
    target = scope if name in SESSION_CALLS else scope.project(theirs)
    with pytest.raises(AccessDenied) as denied:
        await call(target, theirs)
    assert denied.value.reason == AccessDenied.PROJECT_NOT_GRANTED
    assert await manager.get_project_data(theirs) == {"secret": True}  # nothing touched
    assert await manager.project(theirs).get("k") == {"secret": True}


async def test_the_session_project_view_is_the_project_view_with_a_gate(
    manager: CacheManager,
) -> None:
    project = uuid4()
    plain = manager.project(project)
    assert type(plain) is ProjectCacheView
    scoped = manager.for_session(await session_for(manager, project)).project(project)
    assert isinstance(scoped, SessionProjectView)
    assert isinstance(scoped, ProjectCacheView)
    assert scoped.project_id == plain.project_id == project
    assert (await scoped.set("k", 1)).stored
    assert await plain.get("k") == 1
    checked: list[UUID | str] = []

    async def gate(pid: UUID | str) -> None:
        checked.append(pid)

    gated = manager.project(str(project), gate=gate)
    assert await gated.get("k") == 1
    assert await gated.keys() == ["k"]
    assert checked == [project, project]


async def test_the_ttl_is_the_third_positional_parameter_of_every_write_and_load(
    manager: CacheManager,
) -> None:
    view = manager.project(uuid4())
    written = await view.set("pricing", {"plan": "pro"}, 60)
    assert written.stored
    entry = await view.get_entry("pricing")
    assert entry is not None
    assert abs((entry.expires_at - entry.created_at).total_seconds() - 60) < 1
    for call in (
        manager.cache_project_data,
        manager.write_project_data,
        manager.get_or_load_project_data,
        view.set,
        view.get_or_load,
        view.set_many,
    ):
        parameters = list(inspect.signature(call).parameters.values())
        ttl = next(p for p in parameters if p.name == "ttl")
        after = "values" if call.__name__ == "set_many" else "data value loader"
        assert parameters[parameters.index(ttl) - 1].name in after.split(), call
        assert ttl.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, call
