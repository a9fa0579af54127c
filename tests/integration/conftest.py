"""Fixtures of the Redis-only tests: a server-side command counter, a manager, a raw client."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis

from jeex_cache import CacheManager, Settings


class RoundTrips:
    """Counts the commands the server runs, as ``MONITOR`` reports them.

    Whatever the client library, a command counts once when the server executes it; a
    pipeline of k commands counts k; the commands a Lua script runs inside itself (MONITOR's
    ``lua`` client) do not count. Reading ``count`` first waits until the monitor has seen
    everything run before it (a marker ``ECHO`` sent from a connection of its own).
    """

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url)
        self._marker_address = ""
        self._seen = 0
        self._markers: dict[str, threading.Event] = {}
        self._counts: dict[str, int] = {}
        self.script_commands: list[str] = []
        """The commands scripts ran inside themselves (not counted), in order."""
        self.commands: list[str] = []
        """The commands counted, in the order the server ran them."""
        self._stopping = False
        # Kept: the client's end would close the monitor's connection. Any: monitor() is
        # typed in some redis-py versions only.
        self._monitor_client = redis.Redis.from_url(url)
        untyped: Any = self._monitor_client
        self._monitor = untyped.monitor()
        self._monitor.__enter__()
        self._marker_address = self._own_address()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        self.count  # noqa: B018 - wait until the monitor is reading

    def _own_address(self) -> str:
        info = self._client.client_info()
        return str(info["addr"])

    def _read(self) -> None:
        while True:
            entry = self._monitor.next_command()
            if entry.get("client_type") == "lua":
                self.script_commands.append(str(entry.get("command", "")))
                continue
            command = str(entry.get("command", ""))
            if entry.get("client_address", "") + ":" + str(entry.get("client_port", "")) == (
                self._marker_address
            ) or command.startswith("ECHO jeex-marker-"):
                token = command.removeprefix("ECHO ")
                if token in self._markers:
                    self._counts[token] = self._seen
                    self._markers[token].set()
                if self._stopping:
                    return
                continue
            self.commands.append(command)
            self._seen += 1

    @property
    def count(self) -> int:
        """Commands the server ran so far (beside the markers)."""
        token = f"jeex-marker-{uuid.uuid4().hex}"
        self._markers[token] = threading.Event()
        self._client.echo(token)
        if not self._markers[token].wait(10):
            raise AssertionError("MONITOR did not report the marker within 10 s")
        return self._counts.pop(token)

    async def of(self, operation: Callable[[], Awaitable[Any]]) -> int:
        """The commands that ``operation()`` makes the server run."""
        before = self.count
        await operation()
        return self.count - before

    def close(self) -> None:
        self._stopping = True
        self.count  # noqa: B018 - the reader returns after this marker
        self._thread.join(10)
        self._monitor.__exit__(None, None, None)
        self._client.close()


@pytest.fixture
def round_trips(redis_url: str) -> Iterator[RoundTrips]:
    counter = RoundTrips(redis_url)
    yield counter
    counter.close()


@pytest.fixture
async def cache(redis_url: str) -> AsyncIterator[CacheManager]:
    """A manager on the flushed shared server, its connections open (counts skip set-up)."""
    async with CacheManager(Settings(redis_url=redis_url)) as manager:
        await manager.health_check()
        yield manager


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain synchronous redis-py client on the same server, to inspect the keyspace."""
    with redis.Redis.from_url(redis_url) as client:
        yield client
