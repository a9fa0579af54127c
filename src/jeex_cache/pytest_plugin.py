"""jeex-cache's pytest plugin: fixtures for testing an app built on jeex-cache.

Registered as a ``pytest11`` entry point, so installing jeex-cache makes the fixtures
available (``pytest -p no:jeex_cache`` turns them off):

- ``jeex_clock``: a ``ManualClock``; ``jeex_clock.advance(61)`` expires a 60-second TTL at
  once, on the in-memory backend;
- ``jeex_manager``: an in-memory ``CacheManager`` on ``jeex_clock``, opened before the test
  and closed after it (needs pytest-asyncio, as every async fixture does);
- ``redis_server``: a real ``redis-server`` on a free loopback port for the whole session
  (``redis_server.url``), skipped with the reason when no ``redis-server`` binary is found
  (on PATH or ``REDIS_SERVER_BIN``). A ``conftest.py`` fixture of the same name wins.

To test the HTTP side, ``jeex_cache.fastapi.testclient.app_client(app)`` runs the app's
lifespan (httpx's ``ASGITransport`` alone does not).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from importlib.util import find_spec

import pytest

from jeex_cache.config import Settings
from jeex_cache.core.clock import ManualClock
from jeex_cache.manager import CacheManager
from jeex_cache.testing import RedisServer

__all__ = ["jeex_clock", "jeex_manager", "redis_server"]


@pytest.fixture
def jeex_clock() -> ManualClock:
    """A manual clock for ``jeex_manager``: time moves only when the test says."""
    return ManualClock()


if find_spec("pytest_asyncio") is not None:  # async fixtures need it; without it, no fixture
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def jeex_manager(jeex_clock: ManualClock) -> AsyncIterator[CacheManager]:
        """An in-memory ``CacheManager`` on ``jeex_clock``, opened and closed around the test."""
        async with CacheManager(Settings(redis_url=None), clock=jeex_clock) as manager:
            yield manager


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the session, on a free port; skipped without the binary."""
    if not (os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")):
        pytest.skip(
            "redis-server is not installed (apt-get install redis-server, or set REDIS_SERVER_BIN)"
        )
    with RedisServer.start() as server:
        yield server
