"""The memory backend's sessions stay bounded by the live ones (its expiry sweep)."""

from __future__ import annotations

from uuid import uuid4

from jeex_cache import TTL, ManualClock
from jeex_cache.sessions.keys import session_digest
from jeex_cache.sessions.memory import MemoryUserSessionRepository


async def test_expired_sessions_are_swept_as_new_ones_arrive() -> None:
    clock = ManualClock()
    repository = MemoryUserSessionRepository(clock)
    idle, lifetime = TTL.seconds(60), TTL.hours(1)

    async def create() -> None:
        digest = session_digest(str(uuid4()))
        assert await repository.create(digest, uuid4(), {}, frozenset(), idle, lifetime, 5)

    for _ in range(2_000):
        await create()
    clock.advance(61)  # every one of them has idled out
    for _ in range(2_000):
        await create()
    assert len(repository._records) < 2_100
    assert len(repository._by_user) < 2_100
