"""The project cache contract: every test runs on the memory backend and on real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from uuid import uuid4

import pytest

from jeex_cache import (
    TTL,
    CacheManager,
    CacheTag,
    InvalidIdentifierError,
    InvalidTTLError,
    PayloadTooLargeError,
    SerializationError,
    WriteOutcome,
)
from tests.conftest import Elapse, Server, eventually

DOC = {"name": "My Project", "description": "Project description", "tags": [1, 2.5, None]}


async def test_round_trip(manager: CacheManager) -> None:
    project = uuid4()
    assert await manager.cache_project_data(project, DOC) is True
    assert await manager.get_project_data(project) == DOC


async def test_miss_is_none(manager: CacheManager) -> None:
    assert await manager.get_project_data(uuid4()) is None
    assert await manager.get_project_entry(uuid4()) is None


async def test_string_and_uuid_ids_address_the_same_entry(manager: CacheManager) -> None:
    project = uuid4()
    await manager.cache_project_data(str(project), DOC)
    assert await manager.get_project_data(project) == DOC
    assert await manager.get_project_data(str(project).upper()) == DOC


async def test_access_statistics_count_every_read(manager: CacheManager) -> None:
    project = uuid4()
    await manager.cache_project_data(project, DOC)
    for _ in range(3):
        await manager.get_project_data(project)
    entry = await manager.get_project_entry(project)
    assert entry is not None
    assert entry.access_count == 4  # three reads and this one
    assert entry.last_accessed_at is not None
    assert entry.last_accessed_at >= entry.created_at
    assert entry.data == DOC


async def test_a_write_starts_a_fresh_entry(manager: CacheManager) -> None:
    project = uuid4()
    await manager.cache_project_data(project, DOC)
    await manager.get_project_data(project)
    await manager.cache_project_data(project, {"v": 2})
    entry = await manager.get_project_entry(project)
    assert entry is not None
    assert (entry.version, entry.access_count, entry.data) == (2, 1, {"v": 2})


async def test_default_ttl_is_the_setting(manager: CacheManager) -> None:
    project = uuid4()
    await manager.cache_project_data(project, DOC)
    entry = await manager.get_project_entry(project)
    assert entry is not None
    lifetime = (entry.expires_at - entry.created_at).total_seconds()
    assert lifetime == pytest.approx(manager.settings.cache_project_data_ttl, abs=0.01)


async def test_entry_expires_after_its_ttl(
    manager: CacheManager, elapse: Elapse, server: Server
) -> None:
    project = uuid4()
    await manager.cache_project_data(project, DOC, TTL.seconds(0.2))
    if server is None:  # the manual clock: exactly before and after the TTL
        await elapse(0.1)
        assert await manager.get_project_data(project) == DOC
        await elapse(0.2)
        assert await manager.get_project_data(project) is None
    else:  # the server's clock: gone once it passes, however slow this machine
        await eventually(lambda: is_none(manager.get_project_data(project)))
    assert await manager.list_project_keys(project) == []


async def test_the_ttl_is_the_servers_expiry(manager: CacheManager, server: Server) -> None:
    project = uuid4()
    await manager.cache_project_data(project, DOC, TTL.seconds(30))
    keys = await manager.list_project_keys(project)
    assert keys
    if server is not None:
        namespace = manager.settings.cache_namespace
        for key in keys:
            assert 0 < server.pttl(f"{namespace}:{key}") <= 30_000, key
    entry = await manager.get_project_entry(project)
    assert entry is not None
    assert (entry.expires_at - entry.created_at).total_seconds() == pytest.approx(30, abs=0.01)


async def is_none(read: Awaitable[object]) -> bool:
    return await read is None


@pytest.mark.parametrize("ttl", [0, -1, 0.0001, float("nan"), float("inf"), "60", True])
async def test_non_positive_or_bogus_ttl_is_refused(manager: CacheManager, ttl: object) -> None:
    project = uuid4()
    with pytest.raises(InvalidTTLError):
        await manager.cache_project_data(project, DOC, ttl)  # type: ignore[arg-type]
    assert await manager.get_project_data(project) is None


# -- versions -------------------------------------------------------------------------------


async def test_unversioned_writes_count_up(manager: CacheManager) -> None:
    project = uuid4()
    results = [await manager.write_project_data(project, {"n": n}) for n in range(3)]
    assert [r.version for r in results] == [1, 2, 3]


async def test_older_version_is_refused_and_reported(manager: CacheManager) -> None:
    project = uuid4()
    assert (await manager.write_project_data(project, {"v": 7}, version=7)).stored
    stale = await manager.write_project_data(project, {"v": 6}, version=6)
    assert stale.outcome is WriteOutcome.STALE
    assert stale.version == 7
    assert not stale
    assert await manager.cache_project_data(project, {"v": 5}, version=5) is False
    assert await manager.get_project_data(project) == {"v": 7}


async def test_same_or_newer_version_is_applied(manager: CacheManager) -> None:
    project = uuid4()
    await manager.write_project_data(project, {"v": 3}, version=3)
    assert (await manager.write_project_data(project, {"v": "3b"}, version=3)).stored
    assert (await manager.write_project_data(project, {"v": 9}, version=9)).version == 9
    assert await manager.get_project_data(project) == {"v": 9}


@pytest.mark.parametrize("version", [-1, 2**53, 1.5, "2", True])
async def test_bad_version_is_refused(manager: CacheManager, version: object) -> None:
    with pytest.raises(ValueError, match="version"):
        await manager.write_project_data(uuid4(), DOC, version=version)  # type: ignore[arg-type]


async def test_concurrent_writers_never_leave_an_older_version(manager: CacheManager) -> None:
    project = uuid4()
    versions = list(range(1, 201))
    shuffled = versions[::2] + versions[1::2][::-1]

    async def write(version: int) -> bool:
        return await manager.cache_project_data(project, {"version": version}, version=version)

    await asyncio.gather(*(write(v) for v in shuffled))
    entry = await manager.get_project_entry(project)
    assert entry is not None
    assert entry.version == 200
    assert entry.data == {"version": 200}


# -- delete and invalidation -----------------------------------------------------------------


async def test_delete(manager: CacheManager) -> None:
    project = uuid4()
    await manager.cache_project_data(project, DOC)
    assert await manager.delete_project_data(project) is True
    assert await manager.delete_project_data(project) is False
    assert await manager.get_project_data(project) is None


async def test_invalidate_project_removes_everything_and_counts(manager: CacheManager) -> None:
    project, other = uuid4(), uuid4()
    await manager.cache_project_data(project, DOC, tags=["t"])
    view = manager.project(project)
    await view.set("a", 1)
    await view.set("b", 2, tags=[CacheTag("t")])
    await manager.cache_project_data(other, DOC)
    assert await manager.invalidate_project_cache(project, "project_updated") == 3
    assert await manager.get_project_data(project) is None
    assert await view.keys() == []
    assert await manager.get_project_data(other) == DOC
    assert await manager.invalidate_project_cache(project, "again") == 0


async def test_invalidate_by_tag_across_projects(manager: CacheManager) -> None:
    first, second, untouched = uuid4(), uuid4(), uuid4()
    await manager.cache_project_data(first, DOC, tags=["pricing", "eu"])
    await manager.project(second).set("quote", {"p": 1}, tags=["pricing"])
    await manager.project(second).set("other", {"p": 2}, tags=["eu"])
    await manager.cache_project_data(untouched, DOC)
    assert await manager.invalidate_by_tag("pricing") == 2
    assert await manager.get_project_data(first) is None
    assert await manager.project(second).get("quote") is None
    assert await manager.project(second).get("other") == {"p": 2}
    assert await manager.get_project_data(untouched) == DOC
    assert await manager.invalidate_by_tag(CacheTag("pricing")) == 0


async def test_project_tag_invalidates_dependants_in_other_projects(manager: CacheManager) -> None:
    source, dashboard = uuid4(), uuid4()
    await manager.project(dashboard).set("summary", DOC, tags=[CacheTag.project(source)])
    assert await manager.invalidate_by_tag(CacheTag.project(source)) == 1
    assert await manager.project(dashboard).get("summary") is None


async def test_rewrite_without_a_tag_leaves_the_tag(manager: CacheManager) -> None:
    project = uuid4()
    await manager.cache_project_data(project, {"v": 1}, tags=["old"])
    await manager.cache_project_data(project, {"v": 2}, tags=["new"])
    assert await manager.invalidate_by_tag("old") == 0
    assert await manager.get_project_data(project) == {"v": 2}
    assert await manager.invalidate_by_tag("new") == 1


async def test_view_invalidates_a_tag_in_its_project_only(manager: CacheManager) -> None:
    mine, theirs = manager.project(uuid4()), manager.project(uuid4())
    await mine.set("x", 1, tags=["t"])
    await theirs.set("x", 1, tags=["t"])
    assert await mine.invalidate_tag("t") == 1
    assert await theirs.get("x") == 1


async def test_tag_index_outlives_its_longest_entry(manager: CacheManager, elapse: Elapse) -> None:
    project = uuid4()
    view = manager.project(project)
    await view.set("long", 1, ttl=TTL.seconds(30), tags=["t"])
    await view.set("short", 2, ttl=TTL.seconds(0.1), tags=["t"])
    await elapse(0.2)
    await view.set("later", 3, ttl=TTL.seconds(30), tags=["t"])
    assert await manager.invalidate_by_tag("t") == 2
    assert await view.keys() == []


async def test_expired_entries_are_not_counted_as_invalidated(
    manager: CacheManager, elapse: Elapse
) -> None:
    project = uuid4()
    await manager.project(project).set("gone", 1, ttl=0.1, tags=["t"])
    await manager.project(project).set("kept", 1, ttl=30, tags=["t"])
    await elapse(0.2)
    assert await manager.invalidate_project_cache(project) == 1


# -- the project-scoped view ----------------------------------------------------------------


async def test_view_keys_are_confined_to_the_project(manager: CacheManager) -> None:
    project = uuid4()
    async with manager.get_connection(str(project)) as client:
        assert (await client.set("key", "value")).stored
        assert await client.get("key") == "value"
        assert await client.keys() == ["key"]
    assert await manager.list_project_keys(project) == [f"proj:{{{project}}}:kv:key"]
    assert await manager.project(uuid4()).get("key") is None


async def test_view_entry_carries_version_and_tags(manager: CacheManager) -> None:
    view = manager.project(uuid4())
    await view.set("doc", DOC, ttl=TTL.minutes(5), tags=["a", CacheTag("b")], version=4)
    entry = await view.get_entry("doc")
    assert entry is not None
    assert entry.name == "doc"
    assert entry.version == 4
    assert entry.tags == {CacheTag("a"), CacheTag("b")}
    assert entry.ttl_remaining(entry.created_at) == pytest.approx(300, abs=0.01)
    assert await view.delete("doc") is True
    assert await view.get_entry("doc") is None


async def test_list_project_keys_lists_main_document_and_entries(manager: CacheManager) -> None:
    project = uuid4()
    await manager.cache_project_data(project, DOC)
    await manager.project(project).set("b", 1)
    await manager.project(project).set("a", 1)
    keys = await manager.list_project_keys(project)
    prefix = f"proj:{{{project}}}:"
    assert keys == [f"{prefix}data", f"{prefix}kv:a", f"{prefix}kv:b"]


# -- bad input: typed errors, nothing written ---------------------------------------------


@pytest.mark.parametrize(
    "project_id",
    [
        "",
        "not a uuid",
        "*",
        "proj:*",
        "{x}",
        "a" * 100,
        "{00000000-0000-0000-0000-0000000000g}",
        -4,
    ],
)
async def test_invalid_project_ids_are_refused(manager: CacheManager, project_id: object) -> None:
    with pytest.raises(InvalidIdentifierError):
        await manager.cache_project_data(project_id, DOC)  # type: ignore[arg-type]
    with pytest.raises(InvalidIdentifierError):
        await manager.get_project_data(project_id)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["", "a:b", "*", "x{y}", "has space", "tab\t", "nl\n", "é", "a" * 101, "../x"]
)
async def test_names_that_could_escape_are_refused(manager: CacheManager, name: str) -> None:
    project = uuid4()
    view = manager.project(project)
    with pytest.raises(InvalidIdentifierError):
        await view.set(name, 1)
    with pytest.raises(InvalidIdentifierError):
        await view.get(name)
    with pytest.raises(InvalidIdentifierError):
        await manager.cache_project_data(project, DOC, tags=[name])
    assert await manager.list_project_keys(project) == []


async def test_non_json_data_is_refused(manager: CacheManager) -> None:
    project = uuid4()
    for bad in ({"s": {1, 2}}, object(), {1: "non-string key"}, b"bytes"):
        with pytest.raises(SerializationError):
            await manager.cache_project_data(project, bad)
    assert await manager.get_project_data(project) is None


async def test_payload_over_the_limit_is_refused(manager: CacheManager) -> None:
    project = uuid4()
    limit = manager.settings.cache_max_payload_bytes
    with pytest.raises(PayloadTooLargeError, match="CACHE_MAX_PAYLOAD_BYTES"):
        await manager.cache_project_data(project, "x" * limit)
    assert await manager.get_project_data(project) is None
    assert await manager.cache_project_data(project, "x" * (limit - 2)) is True


async def test_too_many_tags_are_refused(manager: CacheManager) -> None:
    with pytest.raises(ValueError, match="tags"):
        await manager.cache_project_data(uuid4(), DOC, tags=[f"t{i}" for i in range(33)])
