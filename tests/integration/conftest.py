"""Fixtures of the Redis-only tests: a round-trip counter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio.connection import AbstractConnection


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
