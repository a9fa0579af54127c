"""Concurrent calls of one key share one outcome; a cancelled first caller hands over."""

from __future__ import annotations

import asyncio

import pytest

from jeex_cache.project_cache._coalesce import Coalescer


async def test_callers_of_one_key_share_one_call() -> None:
    calls: Coalescer[str, int] = Coalescer()
    runs = 0

    async def call() -> int:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.01)
        return runs

    assert await asyncio.gather(*(calls.run("k", call) for _ in range(10))) == [1] * 10
    assert (runs, calls.take_joined("k"), calls.take_joined("k")) == (1, 9, 0)
    assert await calls.run("k", call) == 2  # the next call runs again


async def test_an_error_reaches_every_caller() -> None:
    calls: Coalescer[str, int] = Coalescer()

    async def call() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("boom")

    results = await asyncio.gather(
        *(calls.run("k", call) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, RuntimeError) for result in results)


async def test_a_cancelled_first_caller_leaves_the_others_to_run_it() -> None:
    calls: Coalescer[str, str] = Coalescer()
    started = asyncio.Event()
    runs = 0

    async def call() -> str:
        nonlocal runs
        runs += 1
        started.set()
        await asyncio.sleep(0.05)
        return "done"

    first = asyncio.create_task(calls.run("k", call))
    await started.wait()
    others = [asyncio.create_task(calls.run("k", call)) for _ in range(3)]
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.gather(*others) == ["done"] * 3
    assert runs == 2  # one of the others ran it again, the rest shared that
