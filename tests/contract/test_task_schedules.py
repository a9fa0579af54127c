"""Schedules on memory and Redis: every occurrence is enqueued once across three workers'
schedulers, on an injected clock; missed occurrences run once or are skipped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from jeex_cache import CacheManager, InvalidInputError, ManualClock, TaskContext, Worker
from jeex_cache.tasks.schedule import Schedule, Scheduler
from tests.conftest import eventually

QUEUE = "cron"
START = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC).timestamp()  # 30 s past an occurrence


async def _queued(manager: CacheManager) -> list[str]:
    ids = []
    while (delivery := (await manager.task_queue.claim(QUEUE, "w", 30)).delivery) is not None:
        ids.append(delivery.task_id)
        await manager.task_queue.complete(delivery, None)
    return ids


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def test_each_occurrence_is_enqueued_once_across_three_workers(
    manager: CacheManager, clock: ManualClock
) -> None:
    every_5 = Schedule("*/5 * * * *", "cleanup", {"deep": False}, missed="skip")
    schedulers = [Scheduler(manager, QUEUE, [every_5], clock) for _ in range(3)]
    for _ in range(24):  # two hours, a tick every 5 minutes on each of 3 workers
        clock.advance(300)
        await asyncio.gather(*(s.tick() for s in schedulers))
    ids = await _queued(manager)
    assert len(ids) == 24 == len(set(ids))
    first = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)
    assert ids[0] == f"{QUEUE}=cron.cleanup.{int(first.timestamp())}"
    task = await manager.get_task_status(ids[0])
    assert task is not None
    assert task.payload == {"deep": False}


async def test_a_missed_occurrence_runs_once_on_restart_or_is_skipped(
    manager: CacheManager, clock: ManualClock
) -> None:
    # Every worker was down over the last occurrences (12:00 passed 30 s ago).
    once = Schedule("*/10 * * * *", "report", missed="run_once")
    skipped = Schedule("*/10 * * * *", "digest", missed="skip")
    schedulers = [Scheduler(manager, QUEUE, [once, skipped], clock) for _ in range(3)]
    await asyncio.gather(*(s.tick() for s in schedulers))
    names = [
        t.name for t in [await manager.get_task_status(i) for i in await _queued(manager)] if t
    ]
    assert names == ["report"]  # the latest missed one, once; the skipped schedule waits
    clock.advance(600)
    await asyncio.gather(*(s.tick() for s in schedulers))
    assert len(await _queued(manager)) == 2  # 12:10 of each
    restarted = Scheduler(manager, QUEUE, [once], clock)  # the 12:10 one is done already
    await restarted.tick()
    assert await _queued(manager) == []


async def test_a_worker_enqueues_its_schedules(manager: CacheManager, clock: ManualClock) -> None:
    ran: list[str] = []

    async def cleanup(ctx: TaskContext, payload: Any) -> None:
        ran.append(ctx.task_id)

    schedule = Schedule("* * * * *", "cleanup")  # run_once: the 12:00 occurrence at start
    worker = Worker(manager, QUEUE, {"cleanup": cleanup}, schedules=[schedule], max_wait=0.1)
    running = asyncio.create_task(worker.run())
    await eventually(lambda: bool(ran))
    worker.stop()
    await running
    assert ran == [f"{QUEUE}=cron.cleanup.{int(START - 30)}"]


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        Schedule("every day", "cleanup")
    with pytest.raises(InvalidInputError):
        Schedule("* * * * *", "clean up")
    with pytest.raises(InvalidInputError):
        Schedule("* * * * *", "cleanup", missed="later")  # type: ignore[arg-type]
