"""``get_queue_stats``: a queue's depths (waiting, running, dead) on every backend."""

from __future__ import annotations

import pytest

from jeex_cache import CacheManager, InvalidInputError, TaskStatus

QUEUE = "reports"


async def test_stats_count_waiting_running_and_dead_tasks(manager: CacheManager) -> None:
    empty = await manager.get_queue_stats(QUEUE)
    assert (empty.queue, empty.pending, empty.running, empty.dead) == (QUEUE, 0, 0, 0)
    doomed = await manager.enqueue_task(QUEUE, "job", max_attempts=1)
    for n in range(3):
        await manager.enqueue_task(QUEUE, "job", {"n": n}, delay=60 if n == 2 else None)
    first = await manager.claim_task(QUEUE, "w-1", 30.0)
    assert first.delivery is not None
    assert first.delivery.task_id == doomed
    assert await manager.fail_task(first.delivery, "boom", 0.0) is TaskStatus.DEAD
    running = await manager.claim_task(QUEUE, "w-1", 30.0)
    assert running.delivery is not None

    stats = await manager.get_queue_stats(QUEUE, sample=5)
    assert (stats.pending, stats.running, stats.dead) == (2, 1, 1)  # one of them delayed
    assert stats.running_ids == (running.delivery.task_id,)
    assert (await manager.get_queue_stats(QUEUE)).running_ids == ()  # no sample asked

    assert await manager.requeue_dead_tasks(QUEUE) == 1
    again = await manager.get_queue_stats(QUEUE)
    assert (again.pending, again.running, again.dead) == (3, 1, 0)


async def test_a_cancelled_task_leaves_the_count(manager: CacheManager) -> None:
    task_id = await manager.enqueue_task(QUEUE, "job")
    assert await manager.cancel_task(task_id)
    assert (await manager.get_queue_stats(QUEUE)).pending == 0


@pytest.mark.parametrize(("queue", "sample"), [("bad queue!", 0), (QUEUE, -1), (QUEUE, 101)])
async def test_bad_input_is_refused(manager: CacheManager, queue: str, sample: int) -> None:
    with pytest.raises(InvalidInputError):
        await manager.get_queue_stats(queue, sample)
