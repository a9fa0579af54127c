"""Fixtures of the transport tests: a pool on the shared server, a server of one's own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from jeex_cache.core.transport import Arg, Limits, NodePool, encode, parse_url
from jeex_cache.testing import RedisServer


def cmd(*args: Arg) -> bytes:
    """One encoded command."""
    return encode(args)


async def call(pool: NodePool, *args: Arg) -> Any:
    """Run one command on ``pool``."""
    return await pool.execute(cmd(*args))


@pytest.fixture
async def pool(redis_url: str) -> AsyncIterator[NodePool]:
    """A pool of default size and limits on the flushed shared server."""
    node = NodePool(parse_url(redis_url), limits=Limits(deadline=5, connect_timeout=5))
    await node.open()
    yield node
    await node.close()


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A server for this test alone (to kill, pause and restart)."""
    with RedisServer.start() as server:
        yield server
