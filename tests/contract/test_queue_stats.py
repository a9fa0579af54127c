"""``get_queue_stats``: a queue's depth on both backends (the ``jeex-cache tasks stats`` command
reads it)."""

from __future__ import annotations

import pytest

from jeex_cache import CacheManager, InvalidIdentifierError, TaskStatus

QUEUE = "stats"


async def test_counts_follow_a_task_through_its_states(manager: CacheManager) -> None:
    assert await manager.get_queue_stats(QUEUE) == {"queued": 0, "running": 0, "dead": 0}
    first = await manager.enqueue_task(QUEUE, "job", max_attempts=1)
    await manager.enqueue_task(QUEUE, "job", delay=3600)  # delayed: still queued
    cancelled = await manager.enqueue_task(QUEUE, "job")
    assert await manager.cancel_task(cancelled)
    assert await manager.get_queue_stats(QUEUE) == {"queued": 2, "running": 0, "dead": 0}

    claim = await manager.claim_task(QUEUE, "w-1", 30.0)
    assert claim.delivery is not None
    assert claim.delivery.task_id == first
    assert await manager.get_queue_stats(QUEUE) == {"queued": 1, "running": 1, "dead": 0}

    assert await manager.fail_task(claim.delivery, "boom", 0.0) is TaskStatus.DEAD
    assert await manager.get_queue_stats(QUEUE) == {"queued": 1, "running": 0, "dead": 1}
    assert await manager.get_queue_stats("other") == {"queued": 0, "running": 0, "dead": 0}

    assert await manager.requeue_dead_tasks(QUEUE) == 1
    assert await manager.get_queue_stats(QUEUE) == {"queued": 2, "running": 0, "dead": 0}


async def test_a_bad_queue_name_is_refused(manager: CacheManager) -> None:
    with pytest.raises(InvalidIdentifierError):
        await manager.get_queue_stats("no spaces")
