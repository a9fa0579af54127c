"""Replies matched to their callers, write coalescing, pipelines, backpressure, bursts."""

from __future__ import annotations

import asyncio
import random

import pytest

from jeex_cache.core.transport import Limits, NodePool, ReplyError, parse_url
from tests.transport.conftest import call, cmd


async def test_every_reply_reaches_its_own_caller_under_load(pool: NodePool) -> None:
    async def caller(n: int) -> None:
        for i in range(50):
            value = f"{n}:{i}:" + "x" * random.randrange(0, 2000)
            assert await call(pool, "ECHO", value) == value.encode()
            assert await call(pool, "INCR", f"counter:{n}") == i + 1

    await asyncio.gather(*(caller(n) for n in range(200)))
    assert len(pool.connections) == pool.size


async def test_commands_of_one_loop_iteration_leave_in_one_write(pool: NodePool) -> None:
    connection = pool.connections[0]
    transport = connection.transport
    assert transport is not None
    writes: list[bytes] = []
    original = transport.write

    def counting(data: bytes | bytearray | memoryview) -> None:
        writes.append(bytes(data))
        original(data)

    transport.write = counting  # type: ignore[method-assign]
    futures = [asyncio.get_running_loop().create_future() for _ in range(100)]
    for i, future in enumerate(futures):
        connection.append(future, cmd("ECHO", str(i)), 1)
    replies = await asyncio.gather(*futures)
    assert replies == [str(i).encode() for i in range(100)]
    assert len(writes) == 1
    assert writes[0].count(b"ECHO") == 100


async def test_a_pipeline_goes_out_whole_and_keeps_errors_in_place(pool: NodePool) -> None:
    await call(pool, "SET", "s", "1")

    async def batch(n: int) -> None:
        data = cmd("INCR", f"b:{n}") + cmd("LPUSH", "s", "x") + cmd("INCR", f"b:{n}")
        replies = await pool.execute_many(data, 3)
        assert replies[0] + 1 == replies[2]
        assert isinstance(replies[1], ReplyError)
        assert replies[1].code == "WRONGTYPE"

    singles = [call(pool, "ECHO", str(i)) for i in range(300)]
    results = await asyncio.gather(*(batch(n % 7) for n in range(300)), *singles)
    assert results[300:] == [str(i).encode() for i in range(300)]


async def test_an_error_reply_is_raised_to_its_caller_alone(pool: NodePool) -> None:
    with pytest.raises(ReplyError) as raised:
        await call(pool, "EVALSHA", "0" * 40, 0)
    assert raised.value.is_noscript
    assert await call(pool, "PING") == b"PONG"


async def test_over_the_bound_callers_wait_in_order_and_none_fails(redis_url: str) -> None:
    limits = Limits(deadline=5, connect_timeout=5, max_inflight=4, max_inflight_bytes=300)
    node = NodePool(parse_url(redis_url), size=1, limits=limits)
    await node.open()
    most = 0
    order: list[int] = []

    async def caller(n: int) -> None:
        nonlocal most
        reply = await call(node, "RPUSH", "order", n)
        most = max(most, sum(c.inflight for c in node.connections))
        order.append(n)
        assert reply >= 1

    try:
        await asyncio.gather(*(caller(n) for n in range(2_000)))
        listed = await call(node, "LRANGE", "order", 0, -1)
    finally:
        await node.close()
    assert len(order) == 2_000
    assert most <= 4
    # One connection: queued callers were sent first come, first served.
    assert [int(n) for n in listed] == list(range(2_000))


async def test_a_burst_of_10k_writes_and_10k_reads_on_default_limits(redis_url: str) -> None:
    node = NodePool(parse_url(redis_url))  # default size and limits, deadline included
    await node.open()
    value = b"v" * 1_000
    try:
        writes = await asyncio.gather(*(call(node, "SET", f"k:{i}", value) for i in range(10_000)))
        reads = await asyncio.gather(*(call(node, "GET", "k:7") for _ in range(10_000)))
        assert writes == [b"OK"] * 10_000
        assert reads == [value] * 10_000
        assert await call(node, "DBSIZE") == 10_000
    finally:
        await node.close()
