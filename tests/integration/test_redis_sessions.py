"""Redis-only properties of sessions: no raw ID anywhere, round trips, expiries, concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
import redis

from jeex_cache import CacheManager, Settings
from jeex_cache.sessions.keys import session_digest
from tests.integration.conftest import RoundTrips

LIFETIME_MS = 86_400_000


@pytest.fixture
async def cache(redis_url: str) -> AsyncIterator[CacheManager]:
    async with CacheManager(Settings(redis_url=redis_url, cache_max_sessions_per_user=2)) as m:
        await m.health_check()  # warm one connection up, so counts exclude the handshake
        yield m


def dump_keyspace(raw: redis.Redis) -> bytes:
    """Every key and every value (of any type) in the server, as one byte string."""
    parts: list[Any] = []
    for key in raw.scan_iter("*"):
        parts.append(key)
        kind = raw.type(key)
        if kind == b"hash":
            for field, value in raw.hgetall(key).items():
                parts += [field, value]
        elif kind == b"zset":
            parts += list(raw.zrange(key, 0, -1))
        elif kind == b"string":
            parts.append(raw.get(key) or b"")
        else:  # pragma: no cover - sessions store no other type
            parts.append(repr(raw.dump(key)).encode())
    return b"\n".join(parts)


async def test_no_raw_session_id_anywhere_in_the_keyspace(
    cache: CacheManager, raw: redis.Redis
) -> None:
    ids: list[str] = []
    user, project = uuid4(), uuid4()
    for _ in range(4):  # past the cap of two: evictions happen too
        session = await cache.create_user_session(user, {"name": "Jane"}, [project])
        assert session is not None
        assert session.session_id is not None
        ids.append(session.session_id)
    live = ids[-1]
    assert await cache.validate_user_session(live) is not None
    assert await cache.grant_project_access(live, uuid4())
    assert await cache.update_session_data(live, {"theme": "dark"})
    rotated = await cache.rotate_session(live)
    assert rotated is not None
    assert rotated.session_id is not None
    ids.append(rotated.session_id)
    await cache.for_session(rotated.session_id).cache_project_data(project, {"a": 1})

    keyspace = dump_keyspace(raw)
    assert b"jeex:sess:{" in keyspace
    for sid in ids:
        assert sid.encode() not in keyspace
    digest = session_digest(rotated.session_id)
    assert raw.exists(f"jeex:sess:{{{digest}}}")
    assert raw.zrange(f"jeex:user:{{{user}}}:sessions", 0, -1)


async def test_one_round_trip_per_session_operation(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    project = uuid4()
    session = await cache.create_user_session(uuid4(), {"a": 1}, [project])
    assert session is not None
    assert session.session_id is not None
    sid = session.session_id
    # Under the cap, a creation is one pipeline of two scripts (index, then record).
    assert await round_trips.of(lambda: cache.create_user_session(uuid4(), {}, [project])) == 2
    operations = [
        lambda: cache.validate_user_session(sid),
        lambda: cache.extend_session(sid, 60),
        lambda: cache.grant_project_access(sid, uuid4()),
        lambda: cache.revoke_project_access(sid, uuid4()),
        lambda: cache.update_session_data(sid, {"b": 2}),
        lambda: cache.has_project_access(sid, project),
    ]
    for operation in operations:
        before = round_trips.count
        await operation()  # type: ignore[no-untyped-call]
        assert round_trips.count - before == 1
    before = round_trips.count
    await cache.for_session(sid).get_project_data(project)
    assert round_trips.count - before == 2  # the access check, then the read
    before = round_trips.count
    assert await cache.rotate_session(sid) is not None
    # Take the record, then store it under its new name (a pipeline: index, then record).
    assert round_trips.count - before == 1 + 2


async def test_creating_past_the_cap_costs_two_more_round_trips(
    cache: CacheManager, round_trips: RoundTrips
) -> None:
    user = uuid4()
    for _ in range(2):
        await cache.create_user_session(user)
    before = round_trips.count
    await cache.create_user_session(user)
    # create (2 scripts); EXISTS per listed session (2); UNLINK the evicted + ZREM
    assert round_trips.count - before == 2 + 2 + 2
    assert len(await cache.list_user_sessions(user)) == 2


async def test_record_expiry_is_the_idle_timeout_and_the_index_outlives_it(
    cache: CacheManager, raw: redis.Redis
) -> None:
    user = uuid4()
    session = await cache.create_user_session(user)
    assert session is not None
    assert session.session_id is not None
    record = f"jeex:sess:{{{session.session_hash}}}"
    index = f"jeex:user:{{{user}}}:sessions"
    assert 7_190_000 < raw.pttl(record) <= 7_200_000
    assert raw.pttl(index) > LIFETIME_MS - 10_000
    fields = raw.hgetall(record)
    assert int(fields[b"ax"]) - int(fields[b"ct"]) == LIFETIME_MS
    assert int(fields[b"it"]) == 7_200_000


async def test_concurrent_updates_from_separate_managers_all_land(redis_url: str) -> None:
    """Four managers (own pools) update one session at once: grants, data, activity."""
    managers = [CacheManager(Settings(redis_url=redis_url)) for _ in range(4)]
    for manager in managers:
        await manager.initialize()
    try:
        session = await managers[0].create_user_session(uuid4(), {"start": 0})
        assert session is not None
        assert session.session_id is not None
        sid = session.session_id
        projects = [uuid4() for _ in range(40)]
        await asyncio.gather(
            *(managers[i % 4].grant_project_access(sid, p) for i, p in enumerate(projects)),
            *(managers[i % 4].update_session_data(sid, {f"k{i}": i}) for i in range(40)),
            *(managers[i % 4].validate_user_session(sid) for i in range(40)),
        )
        final = await managers[0].validate_user_session(sid)
    finally:
        for manager in managers:
            await manager.close()
    assert final is not None
    assert final.project_access == frozenset(projects)
    assert final.user_data == {"start": 0, **{f"k{i}": i for i in range(40)}}


async def test_scripts_reload_after_the_server_forgets_them(
    cache: CacheManager, raw: redis.Redis
) -> None:
    user = uuid4()
    await cache.create_user_session(user)
    await cache.create_user_session(user)
    raw.script_flush()
    session = await cache.create_user_session(user)  # a pipeline of two scripts, evicting
    assert session is not None
    assert session.session_id is not None
    assert await cache.validate_user_session(session.session_id) is not None
    assert len(await cache.list_user_sessions(user)) == 2


async def test_a_record_whose_indexing_failed_is_removed(
    cache: CacheManager, raw: redis.Redis
) -> None:
    user = uuid4()
    raw.set(f"jeex:user:{{{user}}}:sessions", "not a sorted set")  # the index script fails
    assert await cache.create_user_session(user) is None
    assert not list(raw.scan_iter("jeex:sess:*"))


@pytest.mark.parametrize("count", [3, 40])  # a small set is kept whole, a large one is not
async def test_validations_return_the_current_grants_and_their_own_data(
    cache: CacheManager, count: int
) -> None:
    projects = [uuid4() for _ in range(count)]
    first = await cache.create_user_session(uuid4(), {"roles": ["a"]}, projects)
    twin = await cache.create_user_session(uuid4(), {"roles": ["b"]}, projects)
    assert first is not None
    assert first.session_id is not None
    assert twin is not None
    assert twin.session_id is not None
    answers = [await cache.validate_user_session(first.session_id) for _ in range(2)]
    seen = [session for session in answers if session is not None]
    assert len(seen) == 2
    other = await cache.validate_user_session(twin.session_id)
    assert other is not None
    assert other.session_id == twin.session_id
    assert other.user_data == {"roles": ["b"]}
    for session in seen:
        assert session.session_id == first.session_id
        assert session.project_access == frozenset(projects)
        assert session.created_at < session.absolute_expires_at
    assert seen[0] is not seen[1]
    assert seen[0].user_data is not seen[1].user_data  # each caller's own to mutate
    assert await cache.revoke_project_access(first.session_id, projects[0])
    after = await cache.validate_user_session(first.session_id)
    assert after is not None
    assert after.project_access == frozenset(projects[1:])
    assert after.last_activity >= seen[1].last_activity
