"""Cancellation fuzz: callers give up at random points; every reply is its request's own."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from jeex_cache.core.transport import Limits, NodePool, parse_url
from tests.transport.conftest import call, cmd


async def _give_up_at_random(coro: Any, rng: random.Random) -> Any:
    """Run ``coro``; maybe cancel it before it starts, as it starts, or after a moment."""
    task = asyncio.ensure_future(coro)
    roll = rng.random()
    if roll < 0.15:
        task.cancel()
    elif roll < 0.30:
        await asyncio.sleep(0)
        task.cancel()
    elif roll < 0.45:
        await asyncio.sleep(rng.random() / 2_000)
        task.cancel()
    elif roll < 0.55:
        try:
            async with asyncio.timeout(rng.random() / 1_000):
                return await task
        except TimeoutError:
            return None
    try:
        return await task
    except asyncio.CancelledError:
        if asyncio.current_task().cancelling():  # type: ignore[union-attr]
            raise
        return None


async def test_random_cancellations_never_shift_a_reply(redis_url: str) -> None:
    rng = random.Random(20240611)
    # A small bound so that many callers give up while queued, not only while in flight.
    limits = Limits(deadline=10, connect_timeout=5, max_inflight=16)
    node = NodePool(parse_url(redis_url), size=2, limits=limits)
    await node.open()
    checked = 0
    given_up = 0

    async def single(worker: int, i: int) -> None:
        nonlocal checked, given_up
        value = f"{worker}:{i}:" + "p" * rng.randrange(0, 3_000)
        reply = await _give_up_at_random(call(node, "ECHO", value), rng)
        if reply is None:
            given_up += 1
        else:
            assert reply == value.encode()
            checked += 1

    async def batch(worker: int, i: int) -> None:
        nonlocal checked, given_up
        values = [f"{worker}:{i}:{j}" for j in range(rng.randrange(1, 6))]
        data = b"".join(cmd("ECHO", v) for v in values)
        replies = await _give_up_at_random(node.execute_many(data, len(values)), rng)
        if replies is None:
            given_up += 1
        else:
            assert replies == [v.encode() for v in values]
            checked += 1

    async def worker(n: int) -> None:
        for i in range(60):
            await (single if rng.random() < 0.7 else batch)(n, i)

    try:
        await asyncio.gather(*(worker(n) for n in range(100)))
        # Every reply of a caller that gave up was read and dropped: nothing is left over.
        for _ in range(500):
            if all(c.inflight == 0 for c in node.connections) and not node.queued:
                break
            await asyncio.sleep(0.01)
        assert [c.inflight for c in node.connections] == [0] * len(node.connections)
        assert await call(node, "ECHO", "last") == b"last"
    finally:
        await node.close()
    assert checked + given_up == 6_000
    assert checked > 2_000
    assert given_up > 1_000


async def test_counters_stay_in_step_when_callers_give_up(redis_url: str) -> None:
    """An INCR's reply is its own key's next value: a shifted reply would break the order."""
    rng = random.Random(7)
    node = NodePool(parse_url(redis_url), limits=Limits(deadline=10, connect_timeout=5))
    await node.open()

    replies: dict[int, list[int]] = {n: [] for n in range(50)}

    async def worker(n: int) -> None:
        for _ in range(100):
            reply = await _give_up_at_random(call(node, "INCR", f"c:{n}"), rng)
            if reply is not None:
                replies[n].append(reply)

    try:
        await asyncio.gather(*(worker(n) for n in range(50)))
        finals = [await call(node, "INCR", f"c:{n}") - 1 for n in range(50)]
    finally:
        await node.close()
    for n, seen in replies.items():
        assert seen == sorted(set(seen)), n  # each reply above the last: none shifted
        assert all(isinstance(reply, int) and 1 <= reply <= 100 for reply in seen), n
        # Every reply was counted by the server; INCRs given up may or may not have run.
        assert len(seen) <= finals[n] <= 100, n
        assert not seen or seen[-1] <= finals[n], n
    assert sum(map(len, replies.values())) > 1_500  # about half the 5,000 ran to the end
