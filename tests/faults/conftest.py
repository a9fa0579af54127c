"""Fixtures of the fault tests: a redis-server of each test's own, and a manager over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from jeex_cache import CacheManager, Settings
from jeex_cache.testing import RedisServer

SOCKET_TIMEOUT = 0.3


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A server of this test's own, free to kill."""
    with RedisServer.start() as own:
        yield own


@pytest.fixture
async def cache(server: RedisServer) -> AsyncIterator[CacheManager]:
    """A manager over ``server`` whose calls give up after ``SOCKET_TIMEOUT``."""
    settings = Settings(
        redis_url=server.url,
        redis_socket_timeout=SOCKET_TIMEOUT,
        redis_connect_timeout=SOCKET_TIMEOUT,
        max_retries=0,  # one attempt per call: the failure counts of the tests are exact
        circuit_breaker_failure_threshold=1000,  # the breaker has tests of its own
    )
    async with CacheManager(settings) as manager:
        yield manager
