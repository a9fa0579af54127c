"""Faults: a paused server, a killed and restarted one, with calls running."""

from __future__ import annotations

import asyncio
from typing import Any

from jeex_cache.core.transport import (
    DeadlineExceeded,
    Limits,
    NodePool,
    TransportError,
    parse_url,
)
from jeex_cache.testing import RedisServer
from tests.conftest import eventually
from tests.transport.conftest import call

OUTER = 30  # seconds: only a hang would reach it


async def _outcomes(node: NodePool, count: int) -> list[Any]:
    async def one(i: int) -> Any:
        try:
            reply = await call(node, "ECHO", str(i))
        except TransportError as exc:
            return exc
        assert reply == str(i).encode()
        return reply

    async with asyncio.timeout(OUTER):
        return await asyncio.gather(*(one(i) for i in range(count)))


async def test_a_paused_server_fails_calls_by_their_deadline_and_is_replaced(
    own_server: RedisServer,
) -> None:
    limits = Limits(deadline=0.5, connect_timeout=0.5)
    node = NodePool(parse_url(own_server.url), size=2, limits=limits)
    await node.open()
    before = list(node.connections)
    with RedisServer.start() as other:
        bystander = NodePool(parse_url(other.url), limits=limits)
        await bystander.open()
        try:
            own_server.pause()
            try:
                stalled = asyncio.ensure_future(_outcomes(node, 500))
                # Meanwhile a pool on another server is not affected.
                assert all(isinstance(r, bytes) for r in await _outcomes(bystander, 500))
                outcomes = await stalled
            finally:
                own_server.resume()
            assert all(isinstance(r, TransportError) for r in outcomes)
            assert any(isinstance(r, DeadlineExceeded) for r in outcomes)
            assert not set(before) & set(node.connections)  # the stalled ones were closed
            assert all(isinstance(r, bytes) for r in await _outcomes(node, 500))
            assert not set(before) & set(node.connections)
        finally:
            await bystander.close()
            await node.close()


async def test_a_kill_and_restart_with_a_burst_running(own_server: RedisServer) -> None:
    node = NodePool(parse_url(own_server.url), limits=Limits(deadline=2, connect_timeout=2))
    await node.open()
    stop = asyncio.Event()
    failures: list[TransportError] = []
    successes = 0
    target = 0
    reached = asyncio.Event()

    async def until(count: int) -> None:
        """Wait (however slow the machine) until ``count`` calls have succeeded."""
        nonlocal target
        target = count
        reached.clear()
        if successes < count:
            async with asyncio.timeout(OUTER):
                await reached.wait()

    async def worker(n: int) -> None:
        nonlocal successes
        i = 0
        while not stop.is_set():
            i += 1
            value = f"{n}:{i}"
            try:
                assert await call(node, "ECHO", value) == value.encode()
                successes += 1
                if successes >= target:
                    reached.set()
            except TransportError as exc:
                failures.append(exc)
                await asyncio.sleep(0.01)

    workers = [asyncio.ensure_future(worker(n)) for n in range(100)]
    try:
        await asyncio.sleep(0.3)
        own_server.kill()
        await asyncio.sleep(0.3)
        own_server.restart()
        await until(successes + 200)  # the workers are through the outage
        before = successes
        failed = len(failures)
        await until(before + 1_000)
    finally:
        stop.set()
        async with asyncio.timeout(OUTER):
            await asyncio.gather(*workers)
    assert failures  # the outage was seen...
    assert len(failures) == failed  # ...and nothing failed once the server was back
    assert successes > before
    assert all(isinstance(r, bytes) for r in await _outcomes(node, 1_000))
    await node.close()


async def test_no_stale_connection_after_a_restart(own_server: RedisServer) -> None:
    node = NodePool(parse_url(own_server.url))  # default limits
    await node.open()
    try:
        assert await call(node, "PING") == b"PONG"
        old = list(node.connections)
        own_server.kill()
        own_server.restart()
        # Once the pool has seen its old connections close (not a fixed second).
        await eventually(lambda: not any(c in node.connections for c in old))
        writes = await asyncio.gather(*(call(node, "SET", f"w:{i}", i) for i in range(40)))
        assert writes == [b"OK"] * 40
    finally:
        await node.close()


async def test_a_restart_the_pool_has_not_seen_costs_at_most_the_first_use(
    own_server: RedisServer,
) -> None:
    """Killed and restarted between two loop iterations: the old sockets' end is noticed on
    their first use; the calls after it go to fresh connections."""
    node = NodePool(parse_url(own_server.url), limits=Limits(deadline=2, connect_timeout=2))
    await node.open()
    try:
        own_server.kill()
        own_server.restart()  # blocking: the loop has not run since the kill
        first = await _outcomes(node, 40)
        assert all(isinstance(r, bytes | TransportError) for r in first)
        assert all(isinstance(r, bytes) for r in await _outcomes(node, 40))
    finally:
        await node.close()


async def test_a_down_server_fails_calls_fast_and_queued_ones_too(
    own_server: RedisServer,
) -> None:
    limits = Limits(deadline=1, connect_timeout=1, max_inflight=2)
    node = NodePool(parse_url(own_server.url), limits=limits)
    await node.open()
    own_server.kill()
    try:
        outcomes = await _outcomes(node, 300)
        assert all(isinstance(r, TransportError) for r in outcomes)
        own_server.restart()
        assert all(isinstance(r, bytes) for r in await _outcomes(node, 300))
    finally:
        await node.close()
