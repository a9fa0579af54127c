"""Sessions span two slots (the record's, the user index's): the steps between them keep
"the index lists every live session" whatever interleaves, and dangling members are pruned."""

from __future__ import annotations

import hashlib
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
import redis

from jeex_cache import CacheManager
from jeex_cache.core.executor import RedisExecutor
from jeex_cache.core.scripts import LuaScript
from jeex_cache.sessions.redis import PENDING_MS
from tests.integration.conftest import RoundTrips

DAY_MS = 86_400_000


def _script(name: str) -> LuaScript:
    return LuaScript.load("jeex_cache.sessions.redis", name)


def _index_step(raw: redis.Redis, user: UUID, digest: str) -> None:
    """A create's first step alone: the digest enters the user's index (record not yet)."""
    keys = (f"jeex:user:{{{user}}}:sessions", f"jeex:user:{{{user}}}:sessions:adds")
    raw.eval(_script("session_index_add").source, 2, *keys, digest, 0, DAY_MS, "", PENDING_MS)


def _record_step(raw: redis.Redis, user: UUID, digest: str) -> None:
    """The create's second step: the record itself."""
    source = _script("session_create").source
    raw.eval(source, 1, f"jeex:sess:{{{digest}}}", DAY_MS, DAY_MS, "u", str(user), "it", DAY_MS)


def _members(raw: redis.Redis, index: str) -> set[str]:
    return {member.decode() for member in cast(list[bytes], raw.zrange(index, 0, -1))}


def _digest() -> str:
    return hashlib.sha256(uuid4().bytes).hexdigest()


async def test_a_session_created_during_a_revoke_all_stays_indexed(
    cache: CacheManager, raw: redis.Redis
) -> None:
    user, digest = uuid4(), _digest()
    await cache.create_user_session(user)
    _index_step(raw, user, digest)
    assert await cache.revoke_all_user_sessions(user) == 1  # the record not there yet
    _record_step(raw, user, digest)  # the create finishes after the revocation
    listed = await cache.list_user_sessions(user)
    assert [s.session_hash for s in listed] == [digest]  # still listed, so...
    assert await cache.revoke_all_user_sessions(user) == 1  # ...the next revocation finds it
    assert await cache.list_user_sessions(user) == []


async def test_listing_prunes_dangling_members_but_spares_one_on_its_way(
    cache: CacheManager, raw: redis.Redis
) -> None:
    user, on_its_way, dangling = uuid4(), _digest(), _digest()
    live = await cache.create_user_session(user)
    assert live is not None
    index = f"jeex:user:{{{user}}}:sessions"
    raw.zadd(index, {dangling: 1})  # indexed long ago, its record gone (a crash, an expiry)
    _index_step(raw, user, on_its_way)
    listed = await cache.list_user_sessions(user)
    assert [s.session_hash for s in listed] == [live.session_hash]
    assert _members(raw, index) == {live.session_hash, on_its_way}
    _record_step(raw, user, on_its_way)
    assert len(await cache.list_user_sessions(user)) == 2


async def test_eviction_spares_a_member_on_its_way(cache: CacheManager, raw: redis.Redis) -> None:
    # 200 dangling members put the user over the cap (10): the create runs its eviction check.
    user, on_its_way = uuid4(), _digest()
    index = f"jeex:user:{{{user}}}:sessions"
    _index_step(raw, user, on_its_way)
    raw.zadd(index, {_digest(): 1 + n for n in range(200)})  # long gone, over any cap
    session = await cache.create_user_session(user)
    assert session is not None
    assert _members(raw, index) == {session.session_hash, on_its_way}


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per round trip the executor makes: a command, a script or a pipeline."""
    seen: list[str] = []
    for name in ("command", "script", "_pipeline"):
        original = getattr(RedisExecutor, name)

        def spy(original: Any = original, name: str = name) -> Any:
            async def call(self: RedisExecutor, *args: Any, **kw: Any) -> Any:
                seen.append(name)
                return await original(self, *args, **kw)

            return call

        monkeypatch.setattr(RedisExecutor, name, spy())
    return seen


async def test_round_trips_of_the_two_slot_operations(
    cache: CacheManager, raw: redis.Redis, round_trips: RoundTrips, trips: list[str]
) -> None:
    user = uuid4()
    sessions = [await cache.create_user_session(user) for _ in range(3)]
    trips.clear()
    before = round_trips.count
    assert len(await cache.list_user_sessions(user)) == 3
    assert (round_trips.count - before, len(trips)) == (1 + 1 + 3 * 2, 2)  # ZRANGE; TIME+reads
    raw.zadd(f"jeex:user:{{{user}}}:sessions", {_digest(): 1})  # dangling since long ago
    trips.clear()
    before = round_trips.count
    assert len(await cache.list_user_sessions(user)) == 3
    assert (round_trips.count - before, len(trips)) == (1 + 1 + 4 * 2 + 1, 3)  # + the prune
    trips.clear()
    before = round_trips.count
    first = sessions[0]
    assert first is not None
    assert first.session_id is not None
    assert await cache.rotate_session(first.session_id) is not None
    assert (round_trips.count - before, len(trips)) == (1 + 2, 2)  # take; index + record
    trips.clear()
    before = round_trips.count
    assert await cache.revoke_all_user_sessions(user) == 3
    assert (round_trips.count - before, len(trips)) == (1 + 3 + 1, 2)  # ZRANGE; UNLINKs+prune
