"""Fixtures of the Redis-only tests: a round-trip counter, a warmed-up manager, a raw client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis
from redis.asyncio.connection import AbstractConnection

from jeex_cache import CacheManager, Settings


class RoundTrips:
    """Counts what the client sends: one ``send_packed_command`` is one round trip."""

    def __init__(self) -> None:
        self.count = 0

    async def of(self, operation: Callable[[], Awaitable[Any]]) -> int:
        """The round trips that ``operation()`` makes."""
        before = self.count
        await operation()
        return self.count - before


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> RoundTrips:
    counter = RoundTrips()
    original = AbstractConnection.send_packed_command

    async def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        counter.count += 1
        await original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return counter


@pytest.fixture
async def cache(redis_url: str) -> AsyncIterator[CacheManager]:
    """A manager on the flushed shared server, one connection warm (counts skip the handshake)."""
    async with CacheManager(Settings(redis_url=redis_url)) as manager:
        await manager.health_check()
        yield manager


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain synchronous redis-py client on the same server, to inspect the keyspace."""
    with redis.Redis.from_url(redis_url) as client:
        yield client
