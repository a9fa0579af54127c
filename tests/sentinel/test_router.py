"""The pool's hooks a Sentinel router relies on, and a router with no sentinel to ask."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from jeex_cache.core.transport import (
    ConnectError,
    Limits,
    NodePool,
    ReplyError,
    TransportError,
    parse_url,
)
from jeex_cache.core.transport.sentinel import SentinelRouter
from jeex_cache.core.transport.sentinel_url import parse_sentinel_url
from jeex_cache.testing import RedisServer, free_port
from tests.transport.conftest import call, cmd

LIMITS = Limits(deadline=5, connect_timeout=2)
OUTER = 30  # seconds: only a hang would reach it


async def test_a_readonly_reply_is_trouble_and_transient() -> None:
    with RedisServer.start() as master, RedisServer.start() as replica:
        await asyncio.to_thread(_replicate, replica, master)
        troubles: list[int] = []
        endpoint = parse_url(replica.url)
        node = NodePool(endpoint, limits=LIMITS, on_trouble=lambda: troubles.append(1))
        plain = NodePool(endpoint, limits=LIMITS)
        try:
            with pytest.raises(ConnectError, match="read-only"):
                await call(node, "SET", "k", "v")
            assert troubles == [1]
            replies = await node.execute_many(cmd("GET", "k") + cmd("SET", "k", "v"), 2)
            assert replies[0] is None
            assert isinstance(replies[1], ConnectError)
            assert troubles == [1, 1]
            with pytest.raises(ReplyError, match="READONLY"):  # without the hook: as before
                await call(plain, "SET", "k", "v")
        finally:
            await node.close()
            await plain.close()


async def test_repoint_moves_the_calls_to_the_new_server() -> None:
    with RedisServer.start() as first, RedisServer.start() as second:
        troubles: list[int] = []
        node = NodePool(parse_url(first.url), limits=LIMITS, on_trouble=lambda: troubles.append(1))
        try:
            await call(node, "SET", "where", "first")
            assert node.repoint(parse_url(second.url))
            assert not node.repoint(parse_url(second.url))  # already there
            assert await call(node, "GET", "where") is None
            await call(node, "SET", "where", "second")
            assert await call(node, "GET", "where") == b"second"
            assert troubles == []  # closing for a re-point is not trouble
        finally:
            await node.close()


async def test_without_a_sentinel_calls_fail_fast_and_never_hang() -> None:
    url = f"redis+sentinel://127.0.0.1:{free_port()},127.0.0.1:{free_port()}/jeex/0"
    router = SentinelRouter(parse_sentinel_url(url), size=2, limits=Limits(0.5, 0.5))
    try:
        async with asyncio.timeout(OUTER):
            await router.open()  # tolerated: the search goes on
            outcomes = await asyncio.gather(
                *(call(router.route(None), "PING") for _ in range(20)), return_exceptions=True
            )
        assert all(isinstance(outcome, TransportError) for outcome in outcomes)
        # Never the URL's placeholder host: no connection is opened until a sentinel answers.
        assert all("no sentinel names a master" in str(outcome) for outcome in outcomes)
    finally:
        await router.close()


def _replicate(replica: RedisServer, master: RedisServer) -> None:
    with redis.Redis(port=replica.port) as client:
        client.replicaof("127.0.0.1", master.port)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if client.info("replication").get("master_link_status") == "up":
                return
            time.sleep(0.05)
    raise AssertionError("the replica did not sync")
