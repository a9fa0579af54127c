"""FairGate: bounded holders, arrival order, bounded waits, no lost places."""

from __future__ import annotations

import asyncio

from jeex_cache.infrastructure.redis._gate import FairGate


async def test_fast_path_until_full() -> None:
    gate = FairGate(2)
    assert gate.try_enter()
    assert gate.try_enter()
    assert not gate.try_enter()
    gate.leave()
    assert gate.try_enter()


async def test_waiters_are_served_in_arrival_order() -> None:
    gate = FairGate(1)
    assert gate.try_enter()
    served: list[int] = []

    async def queue(number: int) -> None:
        assert await gate.wait(5.0)
        served.append(number)
        await asyncio.sleep(0)
        gate.leave()

    tasks = [asyncio.create_task(queue(n)) for n in range(5)]
    await asyncio.sleep(0)
    assert not gate.try_enter()  # a newcomer may not overtake the queue
    gate.leave()
    await asyncio.gather(*tasks)
    assert served == [0, 1, 2, 3, 4]
    assert gate.try_enter()


async def test_wait_times_out_and_leaves_the_queue() -> None:
    gate = FairGate(1)
    assert gate.try_enter()
    assert await gate.wait(0.01) is False
    gate.leave()
    assert gate.try_enter()  # nobody is left queued ahead


async def test_a_place_handed_over_during_a_timeout_is_passed_on() -> None:
    gate = FairGate(1)
    assert gate.try_enter()
    first = asyncio.create_task(gate.wait(0.05))
    second = asyncio.create_task(gate.wait(5.0))
    await asyncio.sleep(0)
    gate.leave()  # hands the place to ``first`` ...
    first.cancel()  # ... which is cancelled before it runs again
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert results[1] is True  # ``second`` got the place ``first`` could not use
    gate.leave()
    assert gate.try_enter()
    assert not gate.try_enter()


async def test_cancelled_waiter_does_not_hold_a_place() -> None:
    gate = FairGate(1)
    assert gate.try_enter()
    waiter = asyncio.create_task(gate.wait(5.0))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    gate.leave()
    assert gate.try_enter()
    assert not gate.try_enter()
