"""Tenant rates on every backend: a project over its rate is not claimed before its time
(others take its turn, the claim says how long to wait), rates hold across workers of
several managers, and a paused project waits without using an attempt. Windows are counted
on the injected clock (memory); on Redis, rates slow enough that seconds of slack change
nothing."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any
from uuid import uuid4

import pytest

from jeex_cache import (
    CacheManager,
    InvalidInputError,
    ManualClock,
    RateLimited,
    Settings,
    TaskContext,
    TaskStatus,
    Worker,
)

QUEUE = "paced"
SLOW = 0.1  # tasks a second: one each 10 s, far slower than any test's stall


async def _drain(manager: CacheManager) -> tuple[dict[str | None, int], float | None]:
    """Claim and complete until no task is claimable; runs per project, and the last wait."""
    counts: dict[str | None, int] = {}
    while True:
        claim = await manager.claim_task(QUEUE, "w", 30.0)
        if claim.delivery is None:
            if claim.wait == 0:
                continue  # groups were parked or paced on the way: ask again
            return counts, claim.wait
        project = claim.delivery.project_id
        counts[project] = counts.get(project, 0) + 1
        await manager.complete_task(claim.delivery, None)


async def test_a_project_over_its_rate_waits_its_turn_while_others_run(
    manager: CacheManager, clock: ManualClock, backend: str
) -> None:
    paced, free = uuid4(), uuid4()
    await manager.set_project_rate(QUEUE, paced, SLOW, burst=3)
    for project in (paced, free) * 10:
        await manager.enqueue_task(QUEUE, "t", project_id=project)

    counts, wait = await _drain(manager)
    assert counts == {str(paced): 3, str(free): 10}  # the burst, then its pace
    assert wait is not None
    assert 0 < wait <= 1 / SLOW
    if backend == "memory":
        for window in range(3):  # one task per interval after the burst
            clock.advance(1 / SLOW)
            assert (await _drain(manager))[0] == {str(paced): 1}, window
        await manager.set_project_rate(QUEUE, paced, None)  # removed: the rest at once
        assert (await _drain(manager))[0] == {str(paced): 4}


async def test_the_queue_default_paces_every_project_and_its_own_rate_wins(
    manager: CacheManager,
) -> None:
    a, b, fast = uuid4(), uuid4(), uuid4()
    await manager.set_project_rate(QUEUE, None, SLOW, burst=2)
    await manager.set_project_rate(QUEUE, fast, 1_000_000, burst=100)
    for project in (a, b, fast) * 5:
        await manager.enqueue_task(QUEUE, "t", project_id=project)
    await manager.enqueue_task(QUEUE, "t")  # no project: a group of its own, paced too
    await manager.enqueue_task(QUEUE, "t")
    await manager.enqueue_task(QUEUE, "t")
    counts, _ = await _drain(manager)
    assert counts == {str(a): 2, str(b): 2, str(fast): 5, None: 2}


async def test_rates_hold_across_workers_of_three_managers(
    manager: CacheManager, settings: Settings, backend: str
) -> None:
    ran: list[str] = []

    async def work(ctx: TaskContext, payload: Any) -> None:
        ran.append(ctx.task_id)

    async with AsyncExitStack() as stack:
        managers = [manager]
        for _ in range(2):  # on memory, the backend is one process's: the same manager
            managers.append(
                manager if backend == "memory" else await stack.enter_async_context(
                    CacheManager(settings)
                )
            )  # fmt: skip
        project = uuid4()
        workers = [
            Worker(m, QUEUE, {"work": work}, concurrency=4, burst=True, rate=SLOW, rate_burst=4)
            for m in managers
        ]
        for _ in range(20):
            await manager.enqueue_task(QUEUE, "work", project_id=project)
        await asyncio.gather(*(w.run() for w in workers))
    assert len(ran) == 4  # the burst, whichever worker claimed it
    assert (await manager.get_queue_stats(QUEUE)).pending == 16


async def test_a_paused_project_waits_without_using_an_attempt(
    manager: CacheManager, clock: ManualClock, backend: str
) -> None:
    pause = 30.0 if backend == "memory" else 3.0
    limited, other = uuid4(), uuid4()
    calls: list[str | None] = []
    raised: list[str] = []

    async def call_upstream(ctx: TaskContext, payload: Any) -> str:
        calls.append(ctx.project_id)
        if ctx.project_id == str(limited) and calls.count(str(limited)) == 1:
            ctx.pause_project(pause)  # the upstream said 429
        if payload == "raise" and not raised:
            raised.append(ctx.task_id)
            raise RateLimited(pause)
        return "ok"

    first = await manager.enqueue_task(QUEUE, "up", project_id=limited, max_attempts=1)
    second = await manager.enqueue_task(QUEUE, "up", "raise", project_id=limited)
    later = await manager.enqueue_task(QUEUE, "up", project_id=other)
    worker = Worker(manager, QUEUE, {"up": call_upstream})

    assert await worker.run_once() is None  # paused: handed back
    assert await worker.run_once() is TaskStatus.SUCCEEDED  # the other project runs
    assert await worker.run_once() is None  # nothing of the paused project is claimed
    task = await manager.get_task_status(first)
    assert task is not None
    assert (task.status, task.attempts) == (TaskStatus.QUEUED, 0)
    assert calls == [str(limited), str(other)]

    async def until_done(task_id: str) -> None:
        async with asyncio.timeout(pause * 5):
            while True:
                if backend == "memory":
                    clock.advance(pause)
                await worker.run_once()
                status = await manager.get_task_status(task_id)
                if status is not None and status.status.finished:
                    return
                await asyncio.sleep(0.2)

    await until_done(first)
    done = await manager.get_task_status(first)
    assert done is not None
    assert (done.status, done.attempts) == (TaskStatus.SUCCEEDED, 1)  # its only attempt
    await until_done(second)  # raised RateLimited once: paused again, then ran
    ended = await manager.get_task_status(second)
    assert ended is not None
    assert (ended.status, ended.attempts) == (TaskStatus.SUCCEEDED, 1)
    assert worker.stats.paused == 2
    assert (await manager.get_task_status(later)) is not None


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("nan"), 1), (1, 0)])
async def test_a_bad_rate_is_refused(manager: CacheManager, rate: float, burst: int) -> None:
    with pytest.raises(InvalidInputError):
        await manager.set_project_rate(QUEUE, uuid4(), rate, burst)
    with pytest.raises(InvalidInputError):
        Worker(manager, QUEUE, {"t": _noop}, rate=rate, rate_burst=burst)


async def _noop(ctx: TaskContext, payload: Any) -> None:
    return None


async def test_a_task_of_cost_n_counts_n_in_its_project_pace(manager: CacheManager) -> None:
    heavy, light = uuid4(), uuid4()
    await manager.set_project_rate(QUEUE, None, SLOW, burst=4)
    await manager.enqueue_task(QUEUE, "t", project_id=heavy, cost=3)
    for _ in range(5):
        await manager.enqueue_task(QUEUE, "t", project_id=heavy)
        await manager.enqueue_task(QUEUE, "t", project_id=light)
    counts, _ = await _drain(manager)
    assert counts == {str(heavy): 2, str(light): 4}  # 3 + 1 of a burst of 4, against 4 x 1
    with pytest.raises(InvalidInputError):
        await manager.enqueue_task(QUEUE, "t", cost=0)
